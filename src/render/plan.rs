//! Drawing a release plan: what the confirmation shows and what `--dry-run` prints, plus the
//! exact requests for `--dry-run`.

use crate::cluster::Target;
use crate::error::humanize;
use crate::journal::Journal;
use crate::pair::discover::selector_text;
use crate::plan::requests::{self as planned, RunTime};
use crate::plan::{Action, Plan};
use crate::render::style::{self, Palette};

/// The plan in words: where, the selector change, each step with its reason, the notes.
pub fn render(target: &Target, plan: &Plan, palette: &Palette) -> String {
    render_with(target, plan, palette, true)
}

/// The plan one line per step, without the reasons: what a confirmation shows.
pub fn render_brief(target: &Target, plan: &Plan, palette: &Palette) -> String {
    render_with(target, plan, palette, false)
}

fn render_with(target: &Target, plan: &Plan, palette: &Palette, reasons: bool) -> String {
    let mut out = String::new();
    let paint = |c: &str| {
        let index = usize::from(c != plan.live);
        palette.paint(c, style::colour_style(c, index))
    };
    let title = match plan.flip() {
        Some(_) => format!(
            "Plan: {} {} from {} to {}",
            plan.command,
            plan.service,
            paint(&plan.live),
            paint(&plan.target)
        ),
        None => format!("Plan: {} {}", plan.command, plan.service),
    };
    out.push_str(&palette.bold(&title));
    out.push('\n');
    out.push_str(&format!(
        "  in context {}, cluster {} ({}), namespace {}\n",
        target.context, target.cluster, target.server, target.namespace
    ));
    if let Some(Action::Flip {
        selector_before,
        selector_after,
        ..
    }) = plan.flip()
    {
        out.push_str(&format!(
            "  selector: {} → {}\n",
            selector_text(selector_before),
            selector_text(selector_after)
        ));
    }
    out.push('\n');
    for (i, step) in plan.steps.iter().enumerate() {
        out.push_str(&format!(
            "  {}. {}\n",
            i + 1,
            describe(&plan.service, &step.action)
        ));
        if reasons {
            out.push_str(&format!(
                "     {}\n",
                palette.paint(&format!("why: {}", step.reason), style::dim())
            ));
        }
    }
    if !plan.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for note in &plan.notes {
            out.push_str(&format!("  - {note}\n"));
        }
    }
    if !plan.forced.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            palette.paint("--force skips these failed readiness checks:", style::bad())
        ));
        for f in &plan.forced {
            out.push_str(&format!("  ! {f}\n"));
        }
    }
    out
}

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

/// The exact requests of each step, for `--dry-run`: the changing requests as the executor
/// sends them (values only known while it runs shown as `<placeholders>`), and in brackets
/// what it reads or waits for in between. `journal` is what the plan was made from.
pub fn requests(plan: &Plan, journal: &Journal) -> String {
    let ns = &plan.namespace;
    let mut out = String::from("Requests:\n");
    let mut line = |s: String| {
        out.push_str("  ");
        out.push_str(&s);
        out.push('\n');
    };
    let slices = |service: &str| {
        format!(
            "(watch /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices?labelSelector=kubernetes.io/service-name={service}: read only)"
        )
    };
    for step in &plan.steps {
        match &step.action {
            Action::WaitAvailable { deployment, .. } => line(format!(
                "(watch /apis/apps/v1/namespaces/{ns}/deployments?fieldSelector=metadata.name={deployment}: read only)"
            )),
            Action::Verify { .. } => line(slices(&plan.service)),
            Action::VerifyService { service, .. } => line(slices(service)),
            Action::Delay { duration } => line(format!("(wait {})", humanize(*duration))),
            action => {
                for request in planned::of(plan, journal, action, &RunTime::default()) {
                    line(request.line(ns));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{classic_snapshot, options};
    use crate::plan::{Command, Outcome, plan as decide};

    #[test]
    fn the_dry_run_shows_the_exact_flip_request() {
        let mut s = classic_snapshot();
        s.service.resource_version = Some("99".into());
        let Outcome::Proceed(plan) = decide(&s, &options(Command::Promote)) else {
            panic!("expected a plan");
        };
        let text = requests(&plan, &Journal::of(&s));
        let flip = text
            .lines()
            .find(|l| {
                l.contains("PATCH /api/v1/namespaces/default/services/blueservice")
                    && l.contains("\"selector\"")
            })
            .expect("the flip request");
        assert!(flip.contains("\"resourceVersion\":\"99\""), "{flip}");
        assert!(flip.contains("\"app\":\"green\""), "{flip}");
        assert!(text.contains("deployments/bluedeploy/scale"), "{text}");
        let target = Target {
            context: "prod".into(),
            cluster: "c".into(),
            server: "https://x".into(),
            namespace: "default".into(),
        };
        let shown = render(&target, &plan, &Palette::plain());
        assert!(shown.contains("selector: app=blue → app=green"), "{shown}");
        assert!(shown.contains("context prod"), "{shown}");
    }
}
