//! Each step in words: the plan as `status`, `--dry-run` and the progress lines name its steps.

use crate::duration::humanize;
use crate::plan::Operation;

/// One step in words.
pub fn describe(service: &str, action: &Operation) -> String {
    match action {
        Operation::ScaleUp {
            deployment,
            colour,
            replicas,
        } => format!("scale {deployment} ({colour}) up to {replicas} replicas"),
        Operation::Recreate {
            deployment,
            colour,
            services,
        } => {
            let mut s = format!("re-create Deployment {deployment} ({colour})");
            if !services.is_empty() {
                s.push_str(&format!(" and test Service {}", services.join(", ")));
            }
            s
        }
        Operation::RecreateServices { colour, services } => {
            format!("re-create test Service {} ({colour})", services.join(", "))
        }
        Operation::WaitAvailable {
            deployment, colour, ..
        } => format!("wait until {deployment} ({colour}) is fully available"),
        Operation::Flip {
            from,
            to,
            colour_label,
            resource_version,
            ..
        } => format!(
            "flip {service}: {colour_label}={from} → {colour_label}={to} (precondition resourceVersion {}; journal written in the same request)",
            resource_version.as_deref().unwrap_or("-")
        ),
        Operation::Verify { colour, previous } => format!(
            "verify {service}'s endpoints hold {colour}'s ready pods and none of {previous}'s"
        ),
        Operation::CreateDeployment {
            deployment, colour, ..
        } => format!("create Deployment {deployment} ({colour})"),
        Operation::PatchDeployment {
            deployment,
            colour,
            patch,
        } => {
            let images: Vec<String> = patch["spec"]["template"]["spec"]["containers"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            format!(
                                "{}={}",
                                c["name"].as_str().unwrap_or_default(),
                                c["image"].as_str().unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let scale = patch["spec"]["replicas"]
                .as_i64()
                .map(|r| format!(", {r} replicas"))
                .unwrap_or_default();
            format!(
                "update Deployment {deployment} ({colour}): {}{scale}",
                images.join(", ")
            )
        }
        Operation::CreateService {
            service: other,
            colour,
            ..
        } => format!("create test Service {other} selecting {colour}"),
        Operation::RecordDeploy { colour, images } => {
            format!("journal: {colour} runs {images}")
        }
        Operation::FlipService {
            service: other,
            from,
            to,
            colour_label,
            resource_version,
        } => format!(
            "flip {other} along: {colour_label}={from} → {colour_label}={to} (precondition resourceVersion {})",
            resource_version.as_deref().unwrap_or("-")
        ),
        Operation::VerifyService {
            service: other,
            colour,
            previous,
        } => format!(
            "verify {other}'s endpoints hold {colour}'s ready pods and none of {previous}'s"
        ),
        Operation::MarkCleanupPending { colour, policy, .. } => {
            format!("journal: cleanup of {colour} ({policy}) pending")
        }
        Operation::Delay { duration } => format!("wait {}", humanize(*duration)),
        Operation::ScaleDown {
            deployment,
            colour,
            replicas,
        } => format!(
            "scale {deployment} ({colour}) down from {replicas} to 0 replicas (count remembered in the journal)"
        ),
        Operation::Delete {
            deployment,
            colour,
            services,
        } => {
            let mut what = Vec::new();
            if let Some(d) = deployment {
                what.push(format!("Deployment {d}"));
            }
            for s in services {
                what.push(format!("test Service {s}"));
            }
            format!(
                "save into the journal and delete {} (cleanup of {colour})",
                what.join(" and ")
            )
        }
        Operation::MarkDone => "journal: nothing in progress".to_string(),
        Operation::Event { reason, message } => {
            format!("record Event {reason} on {service}: {message}")
        }
    }
}
