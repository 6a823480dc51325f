//! Drawing a release plan: what the confirmation shows and what `--dry-run` prints, plus the
//! exact requests for `--dry-run`.

use crate::cluster::Target;
use crate::duration::humanize;
use crate::pair::discover::selector_text;
use crate::pair::journal::Journal;
use crate::plan::describe::describe;
use crate::plan::requests::{self as planned, RunTime};
use crate::plan::{Operation, Plan};
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
    if let Some(Operation::Flip {
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
            Operation::WaitAvailable { deployment, .. } => line(format!(
                "(watch /apis/apps/v1/namespaces/{ns}/deployments?fieldSelector=metadata.name={deployment}: read only)"
            )),
            Operation::Verify { .. } => line(slices(&plan.service)),
            Operation::VerifyService { service, .. } => line(slices(service)),
            Operation::Delay { duration } => line(format!("(wait {})", humanize(*duration))),
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
    use crate::plan::{Outcome, ReleaseCommand, plan as decide};

    #[test]
    fn the_dry_run_shows_the_exact_flip_request() {
        let mut s = classic_snapshot();
        s.service.resource_version = Some("99".into());
        let Outcome::Proceed(plan) = decide(&s, &options(ReleaseCommand::Promote)) else {
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
