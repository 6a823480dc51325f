//! Drawing a release plan: what the confirmation shows and what `--dry-run` prints, plus the
//! exact requests for `--dry-run`.

use serde_json::json;

use crate::cluster::Target;
use crate::duration::humanize;
use crate::journal;
use crate::pair::discover::selector_text;
use crate::plan::describe::describe;
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

/// The exact requests of each step, for `--dry-run`.
pub fn requests(plan: &Plan) -> String {
    let ns = &plan.namespace;
    let svc_path = format!("/api/v1/namespaces/{ns}/services/{}", plan.service);
    let deploy = |d: &str| format!("/apis/apps/v1/namespaces/{ns}/deployments/{d}");
    let merge = "application/merge-patch+json";
    let mut out = String::from("Requests:\n");
    let mut line = |s: String| {
        out.push_str("  ");
        out.push_str(&s);
        out.push('\n');
    };
    for step in &plan.steps {
        match &step.action {
            Action::ScaleUp {
                deployment,
                replicas,
                ..
            } => line(format!(
                "PATCH {}/scale ({merge}) {}",
                deploy(deployment),
                json!({"spec": {"replicas": replicas}})
            )),
            Action::Recreate { services, .. } => {
                line(format!(
                    "POST /apis/apps/v1/namespaces/{ns}/deployments (the saved manifest from the journal)"
                ));
                for s in services {
                    line(format!(
                        "POST /api/v1/namespaces/{ns}/services (the saved manifest of {s})"
                    ));
                }
            }
            Action::RecreateServices { services, .. } => {
                for s in services {
                    line(format!(
                        "POST /api/v1/namespaces/{ns}/services (the saved manifest of {s})"
                    ));
                }
            }
            Action::WaitAvailable { deployment, .. } => line(format!(
                "WATCH /apis/apps/v1/namespaces/{ns}/deployments?fieldSelector=metadata.name={deployment} (read only)"
            )),
            Action::Flip {
                colour_label,
                to,
                resource_version,
                journal: changes,
                ..
            } => line(format!(
                "PATCH {svc_path} ({merge}) {}",
                journal::flip_patch(resource_version.as_deref(), colour_label, to, changes)
            )),
            Action::Verify { .. } => line(format!(
                "WATCH /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices?labelSelector=kubernetes.io/service-name={} (read only)",
                plan.service
            )),
            Action::FlipService {
                service,
                to,
                colour_label,
                resource_version,
                ..
            } => line(format!(
                "PATCH /api/v1/namespaces/{ns}/services/{service} ({merge}) {}",
                journal::flip_patch(
                    resource_version.as_deref(),
                    colour_label,
                    to,
                    &journal::Changes::new()
                )
            )),
            Action::CreateDeployment { manifest, .. } => line(format!(
                "POST /apis/apps/v1/namespaces/{ns}/deployments {manifest}"
            )),
            Action::PatchDeployment {
                deployment, patch, ..
            } => line(format!(
                "PATCH {} (application/strategic-merge-patch+json) {patch}",
                deploy(deployment)
            )),
            Action::CreateService { manifest, .. } => {
                line(format!("POST /api/v1/namespaces/{ns}/services {manifest}"))
            }
            Action::RecordDeploy { colour, images } => line(format!(
                "PATCH {svc_path} ({merge}) {}",
                journal::journal_patch(&journal::Changes::from([(
                    journal::LAST_DEPLOY.to_string(),
                    Some(format!("<now> {colour}: {images}"))
                )]))
            )),
            Action::VerifyService { service, .. } => line(format!(
                "WATCH /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices?labelSelector=kubernetes.io/service-name={service} (read only)"
            )),
            Action::MarkCleanupPending { policy, delay, .. } => {
                let mut c = journal::Changes::new();
                c.insert(journal::STEP.into(), Some(journal::STEP_CLEANUP.into()));
                c.insert(journal::CLEANUP_POLICY.into(), Some(policy.to_string()));
                c.insert(
                    journal::CLEANUP_AFTER.into(),
                    Some(format!("<verification time + {}>", humanize(*delay))),
                );
                line(format!(
                    "PATCH {svc_path} ({merge}) {}",
                    journal::journal_patch(&c)
                ));
            }
            Action::Delay { duration } => line(format!("(wait {})", humanize(*duration))),
            Action::ScaleDown {
                deployment,
                replicas,
                ..
            } => {
                let mut c = journal::Changes::new();
                c.insert(
                    journal::SCALED_DOWN_DEPLOYMENT.into(),
                    Some(deployment.clone()),
                );
                c.insert(
                    journal::SCALED_DOWN_REPLICAS.into(),
                    Some(replicas.to_string()),
                );
                line(format!(
                    "PATCH {svc_path} ({merge}) {}",
                    journal::journal_patch(&c)
                ));
                line(format!(
                    "PATCH {}/scale ({merge}) {}",
                    deploy(deployment),
                    json!({"spec": {"replicas": 0}})
                ));
            }
            Action::Delete {
                deployment,
                services,
                ..
            } => {
                line(format!(
                    "PATCH {svc_path} ({merge}) {{\"metadata\":{{\"annotations\":{{\"{p}saved-deployment\":\"<manifest>\",\"{p}saved-services\":\"<manifests>\"}}}}}}",
                    p = crate::pair::JOURNAL_PREFIX
                ));
                if let Some(d) = deployment {
                    line(format!(
                        "DELETE {} (preconditions: uid; propagationPolicy Background)",
                        deploy(d)
                    ));
                }
                for s in services {
                    line(format!(
                        "DELETE /api/v1/namespaces/{ns}/services/{s} (preconditions: uid)"
                    ));
                }
            }
            Action::MarkDone => {
                let mut c = journal::Changes::new();
                c.insert(journal::STEP.into(), None);
                c.insert(journal::CLEANUP_AFTER.into(), None);
                line(format!(
                    "PATCH {svc_path} ({merge}) {}",
                    journal::journal_patch(&c)
                ));
            }
            Action::Event { reason, .. } => line(format!(
                "POST /api/v1/namespaces/{ns}/events (reason {reason}, involvedObject Service {})",
                plan.service
            )),
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
        let text = requests(&plan);
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
