//! Each step in words: the plan as `status`, `--dry-run` and the progress lines name its steps.

use crate::duration::humanize;
use crate::plan::Action;

/// One step in words.
pub fn describe(service: &str, action: &Action) -> String {
    match action {
        Action::ScaleUp {
            deployment,
            colour,
            replicas,
        } => format!("scale {deployment} ({colour}) up to {replicas} replicas"),
        Action::Recreate {
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
        Action::RecreateServices { colour, services } => {
            format!("re-create test Service {} ({colour})", services.join(", "))
        }
        Action::WaitAvailable {
            deployment, colour, ..
        } => format!("wait until {deployment} ({colour}) is fully available"),
        Action::Flip {
            from,
            to,
            colour_label,
            resource_version,
            ..
        } => format!(
            "flip {service}: {colour_label}={from} → {colour_label}={to} (precondition resourceVersion {}; journal written in the same request)",
            resource_version.as_deref().unwrap_or("-")
        ),
        Action::Verify { colour, previous } => format!(
            "verify {service}'s endpoints hold {colour}'s ready pods and none of {previous}'s"
        ),
        Action::CreateDeployment {
            deployment, colour, ..
        } => format!("create Deployment {deployment} ({colour})"),
        Action::PatchDeployment {
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
        Action::CreateService {
            service: other,
            colour,
            ..
        } => format!("create test Service {other} selecting {colour}"),
        Action::RecordDeploy { colour, images } => {
            format!("journal: {colour} runs {images}")
        }
        Action::FlipService {
            service: other,
            from,
            to,
            colour_label,
            resource_version,
        } => format!(
            "flip {other} along: {colour_label}={from} → {colour_label}={to} (precondition resourceVersion {})",
            resource_version.as_deref().unwrap_or("-")
        ),
        Action::VerifyService {
            service: other,
            colour,
            previous,
        } => format!(
            "verify {other}'s endpoints hold {colour}'s ready pods and none of {previous}'s"
        ),
        Action::MarkCleanupPending { colour, policy, .. } => {
            format!("journal: cleanup of {colour} ({policy}) pending")
        }
        Action::Delay { duration } => format!("wait {}", humanize(*duration)),
        Action::ScaleDown {
            deployment,
            colour,
            replicas,
        } => format!(
            "scale {deployment} ({colour}) down from {replicas} to 0 replicas (count remembered in the journal)"
        ),
        Action::Delete {
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
        Action::MarkDone => "journal: nothing in progress".to_string(),
        Action::Event { reason, message } => {
            format!("record Event {reason} on {service}: {message}")
        }
    }
}
