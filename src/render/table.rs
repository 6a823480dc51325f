//! The human view: where we are, both colours side by side, one row per pod, the endpoints and
//! the verdict.

use comfy_table::presets::NOTHING;
use comfy_table::{Attribute, Cell, ContentArrangement, Table};

use crate::pair::discover::selector_text;
use crate::pair::snapshot::{ColourState, DeploymentSummary, EndpointState, Role};
use crate::render::View;
use crate::render::style::{self, Palette};

/// Renders the status screen. `wide` adds the endpoint addresses, selectors and journal.
pub fn render(view: &View<'_>, wide: bool, palette: &Palette) -> String {
    let mut out = String::new();
    header(&mut out, view, palette);
    out.push('\n');
    out.push_str(&finish(side_by_side(view, palette)));
    out.push_str("\n\n");
    out.push_str(&finish(pods(view, wide, palette)));
    out.push('\n');
    endpoints_line(&mut out, view, palette);
    if wide {
        wide_sections(&mut out, view, palette);
    } else if !view.snapshot.service.unreadable_journal.is_empty() {
        journal(&mut out, view.snapshot, palette, true);
    }
    verdict(&mut out, view, palette);
    out
}

/// The journal, each value this plugin cannot read marked as such; `only_unreadable` lists
/// just those.
fn journal(
    out: &mut String,
    snapshot: &crate::pair::Snapshot,
    palette: &Palette,
    only_unreadable: bool,
) {
    out.push_str(&format!("\n{}\n", palette.bold("Journal:")));
    for (k, v) in &snapshot.service.journal {
        match snapshot
            .service
            .unreadable_journal
            .iter()
            .find(|u| &u.key == k)
        {
            Some(u) => out.push_str(&format!(
                "  {k}: {v}  {}\n",
                palette.paint(&format!("(unreadable: not {})", u.expected), style::bad())
            )),
            None if !only_unreadable => out.push_str(&format!("  {k}: {v}\n")),
            None => {}
        }
    }
}

/// The pair at a glance, for a confirmation: the two colour columns, the endpoints and the
/// verdict, without a row per pod.
pub fn render_summary(view: &View<'_>, palette: &Palette) -> String {
    let mut out = String::new();
    header(&mut out, view, palette);
    out.push('\n');
    out.push_str(&finish(side_by_side(view, palette)));
    out.push('\n');
    endpoints_line(&mut out, view, palette);
    verdict(&mut out, view, palette);
    out
}

/// At most this many addresses are listed on the endpoints line; the rest are counted.
const ADDRESSES_SHOWN: usize = 6;

fn header(out: &mut String, view: &View<'_>, palette: &Palette) {
    let t = view.target;
    let s = &view.snapshot.service;
    let line = |out: &mut String, label: &str, value: String| {
        out.push_str(&format!(
            "{} {value}\n",
            palette.bold(&format!("{label:<10}"))
        ));
    };
    line(out, "Context:", t.context.clone());
    line(out, "Cluster:", format!("{} ({})", t.cluster, t.server));
    line(out, "Namespace:", t.namespace.clone());
    let mut service = format!(
        "{}  selector {}  colour label {}",
        s.name,
        selector_text(&s.selector),
        s.colour_label
    );
    if let Some(tool) = &s.managed_by {
        service.push_str(&format!("  (managed by {tool})"));
    }
    line(out, "Service:", service);
}

pub(crate) fn base_table(palette: &Palette) -> Table {
    let mut table = Table::new();
    table.load_style(NOTHING);
    table.set_content_arrangement(ContentArrangement::Disabled);
    if palette.enabled() {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// kubectl's look: no margin on the left, columns three spaces apart, no trailing blanks.
pub(crate) fn finish(mut table: Table) -> String {
    for column in table.column_iter_mut() {
        column.set_padding((0, 3));
    }
    table.trim_fmt()
}

fn colour_header(state: &ColourState, index: usize, palette: &Palette) -> Cell {
    let marker = match state.role {
        Role::Live => "● live",
        Role::Idle => "○ idle",
    };
    let cell = Cell::new(format!("{}  {marker}", state.colour.to_uppercase()))
        .add_attribute(Attribute::Bold);
    if palette.enabled() {
        cell.fg(style::table_colour(&state.colour, index))
    } else {
        cell
    }
}

fn side_by_side(view: &View<'_>, palette: &Palette) -> Table {
    let snapshot = view.snapshot;
    let colours = &snapshot.colours;
    let mut table = base_table(palette);
    let mut header = vec![Cell::new("")];
    header.extend(
        colours
            .iter()
            .enumerate()
            .map(|(i, c)| colour_header(c, i, palette)),
    );
    table.set_header(header);

    let row = |label: &str, f: &dyn Fn(&ColourState) -> String| {
        let mut cells = vec![Cell::new(label).add_attribute(Attribute::Bold)];
        cells.extend(colours.iter().map(|c| Cell::new(f(c))));
        cells
    };
    let with_deployment = |f: fn(&DeploymentSummary) -> String| {
        move |c: &ColourState| match &c.deployment {
            Some(d) => f(d),
            None => "-".to_string(),
        }
    };
    table.add_row(row("Deployment", &|c| match &c.deployment {
        Some(d) => d.name.clone(),
        None => "missing".to_string(),
    }));
    table.add_row(row("Images", &with_deployment(|d| d.images.join("\n"))));
    table.add_row(row(
        "Replicas",
        &with_deployment(|d| {
            format!(
                "{} desired, {} updated, {} ready, {} available",
                d.desired, d.updated, d.ready, d.available
            )
        }),
    ));
    table.add_row(row("Rollout", &with_deployment(rollout_text)));
    table.add_row(row("Test Services", &|c| list_or_dash(&c.test_services)));
    table.add_row(row("Autoscaler", &|c| {
        if !snapshot.hpas_known {
            return "unknown".to_string();
        }
        if c.hpas.is_empty() {
            return "-".to_string();
        }
        c.hpas
            .iter()
            .map(|h| format!("{} ({}..{})", h.name, h.min_replicas, h.max_replicas))
            .collect::<Vec<_>>()
            .join("\n")
    }));
    table.add_row(row("Pods", &|c| {
        format!("{} ({} serving)", c.pods.len(), c.serving_pods())
    }));
    let in_service = format!("In {}", snapshot.service.name);
    table.add_row(row(&in_service, &|c| {
        let ready = c
            .pods
            .iter()
            .filter(|p| p.in_service == EndpointState::Ready)
            .count();
        match ready {
            0 => "no endpoints".to_string(),
            1 => "1 ready endpoint".to_string(),
            n => format!("{n} ready endpoints"),
        }
    }));
    table
}

fn rollout_text(d: &DeploymentSummary) -> String {
    if d.observed_generation < d.generation {
        format!("in progress (generation {} not observed yet)", d.generation)
    } else if d.progress_deadline_exceeded {
        "stalled (progress deadline exceeded)".to_string()
    } else if d.rollout_complete {
        format!("complete (generation {})", d.generation)
    } else if d.paused {
        "paused".to_string()
    } else if d.updated == d.desired && d.current == d.desired {
        format!(
            "waiting for availability ({}/{} available)",
            d.available, d.desired
        )
    } else {
        format!("in progress ({}/{} updated)", d.updated, d.desired)
    }
}

fn list_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join("\n")
    }
}

fn pods(view: &View<'_>, wide: bool, palette: &Palette) -> Table {
    let snapshot = view.snapshot;
    let mut table = base_table(palette);
    let mut header = vec![
        "COLOUR", "POD", "STATUS", "READY", "RESTARTS", "AGE", "NODE", "IP",
    ];
    let in_service = format!("IN {}", snapshot.service.name.to_uppercase());
    header.push(&in_service);
    if wide {
        header.push("CREATED");
    }
    table.set_header(header);
    let mut any = false;
    for (index, state) in snapshot.colours.iter().enumerate() {
        for pod in &state.pods {
            any = true;
            let mut colour = Cell::new(&state.colour);
            if palette.enabled() {
                colour = colour.fg(style::table_colour(&state.colour, index));
            }
            let mut row = vec![
                colour,
                Cell::new(&pod.name),
                Cell::new(&pod.status),
                Cell::new(format!("{}/{}", pod.ready_containers, pod.total_containers)),
                Cell::new(pod.restarts),
                Cell::new(pod.age_seconds.map_or("-".to_string(), age)),
                Cell::new(pod.node.as_deref().unwrap_or("-")),
                Cell::new(pod.ip.as_deref().unwrap_or("-")),
                Cell::new(pod.in_service.to_string()),
            ];
            if wide {
                row.push(Cell::new(pod.created.as_deref().unwrap_or("-")));
            }
            table.add_row(row);
        }
    }
    if !any {
        table.add_row(vec![Cell::new("(no pods)")]);
    }
    table
}

fn endpoints_line(out: &mut String, view: &View<'_>, palette: &Palette) {
    let snapshot = view.snapshot;
    let ready: Vec<&str> = snapshot
        .endpoints
        .iter()
        .filter(|e| e.ready)
        .map(|e| e.ip.as_str())
        .collect();
    let not_ready = snapshot.endpoints.len() - ready.len();
    let mut by_colour: Vec<String> = Vec::new();
    for state in &snapshot.colours {
        let n = snapshot
            .endpoints
            .iter()
            .filter(|e| e.ready && e.colour.as_deref() == Some(state.colour.as_str()))
            .count();
        if n > 0 {
            by_colour.push(format!("{n} {}", state.colour));
        }
    }
    let foreign = snapshot
        .endpoints
        .iter()
        .filter(|e| e.ready && e.colour.is_none())
        .count();
    if foreign > 0 {
        by_colour.push(format!("{foreign} outside the pair"));
    }
    let label = palette.bold(&format!("{} endpoints:", snapshot.service.name));
    if ready.is_empty() {
        out.push_str(&format!("\n{label} none ready"));
    } else {
        let listed = if ready.len() > ADDRESSES_SHOWN {
            format!(
                "{} and {} more",
                ready[..ADDRESSES_SHOWN].join(", "),
                ready.len() - ADDRESSES_SHOWN
            )
        } else {
            ready.join(", ")
        };
        out.push_str(&format!("\n{label} {listed} ({})", by_colour.join(", ")));
    }
    if not_ready > 0 {
        out.push_str(&format!("; {not_ready} not ready"));
    }
    out.push('\n');
}

fn wide_sections(out: &mut String, view: &View<'_>, palette: &Palette) {
    let snapshot = view.snapshot;
    out.push('\n');
    for state in &snapshot.colours {
        out.push_str(&format!(
            "{} {}\n",
            palette.bold(&format!("{} selector:", state.colour)),
            selector_text(&state.selector)
        ));
    }
    if !snapshot.endpoints.is_empty() {
        let mut table = base_table(palette);
        table.set_header(vec![
            "ADDRESS",
            "POD",
            "COLOUR",
            "READY",
            "SERVING",
            "TERMINATING",
        ]);
        for e in &snapshot.endpoints {
            table.add_row(vec![
                e.ip.clone(),
                e.pod.clone().unwrap_or_else(|| "-".to_string()),
                e.colour.clone().unwrap_or_else(|| "-".to_string()),
                e.ready.to_string(),
                e.serving.to_string(),
                e.terminating.to_string(),
            ]);
        }
        out.push('\n');
        out.push_str(&finish(table));
        out.push('\n');
    }
    if !snapshot.service.journal.is_empty() {
        journal(out, snapshot, palette, false);
    }
    if let Some(rv) = &snapshot.service.resource_version {
        out.push_str(&format!(
            "\n{} {rv}\n",
            palette.bold("Service resourceVersion:")
        ));
    }
}

fn verdict(out: &mut String, view: &View<'_>, palette: &Palette) {
    let v = view.verdict;
    let judgement = if v.safe { style::good() } else { style::bad() };
    out.push_str(&format!(
        "\n{} {}\n",
        palette.bold("Verdict:"),
        palette.paint(&v.summary, judgement)
    ));
    for note in &v.notes {
        out.push_str(&palette.paint(&format!("  note: {note}"), style::dim()));
        out.push('\n');
    }
}

/// Age as kubectl prints it: `45s`, `5m30s`, `42m`, `3h12m`, `20h`, `3d4h`, `12d`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        match s % 60 {
            0 => format!("{m}m"),
            rest => format!("{m}m{rest}s"),
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        match m % 60 {
            0 => format!("{h}h"),
            rest => format!("{h}h{rest}m"),
        }
    } else if h < 48 {
        format!("{h}h")
    } else if d < 8 {
        match h % 24 {
            0 => format!("{d}d"),
            rest => format!("{d}d{rest}h"),
        }
    } else {
        format!("{d}d")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Target;
    use crate::pair::snapshot::build;
    use crate::pair::snapshot::tests::{classic, now};
    use crate::verdict::decide;

    fn target() -> Target {
        Target {
            context: "sandbox".into(),
            cluster: "sandbox".into(),
            server: "https://127.0.0.1:6443".into(),
            namespace: "default".into(),
        }
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(45), "45s");
        assert_eq!(age(330), "5m30s");
        assert_eq!(age(42 * 60), "42m");
        assert_eq!(age(3 * 3600 + 12 * 60), "3h12m");
        assert_eq!(age(20 * 3600), "20h");
        assert_eq!(age(3 * 86400 + 4 * 3600), "3d4h");
        assert_eq!(age(12 * 86400), "12d");
    }

    #[test]
    fn classic_table_shows_both_colours_and_the_verdict() {
        let (identity, objects) = classic();
        let snapshot = build(&identity, "default", &objects, now()).expect("a snapshot");
        let verdict = decide(&snapshot);
        let target = target();
        let view = View {
            target: &target,
            snapshot: &snapshot,
            verdict: &verdict,
        };
        let text = render(&view, false, &Palette::plain());
        assert!(!text.contains('\u{1b}'), "no colour codes when plain");
        assert!(text.contains("Context:   sandbox"), "{text}");
        assert!(
            text.contains("Cluster:   sandbox (https://127.0.0.1:6443)"),
            "{text}"
        );
        assert!(text.contains("Namespace: default"), "{text}");
        let header = text
            .lines()
            .find(|l| l.contains("BLUE"))
            .expect("a colour header");
        assert!(header.contains("BLUE  ● live") && header.contains("GREEN  ○ idle"));
        assert!(header.find("BLUE") < header.find("GREEN"));
        let deployments = text
            .lines()
            .find(|l| l.trim_start().starts_with("Deployment"))
            .expect("a Deployment row");
        assert!(deployments.contains("bluedeploy") && deployments.contains("greendeploy"));
        assert_eq!(text.lines().filter(|l| l.contains("blue-")).count(), 3);
        assert!(text.contains("Verdict: promote would move blueservice from blue to green: safe"));
        assert!(text.contains("blueservice endpoints: 10.0.0.1, 10.0.0.2, 10.0.0.3 (3 blue)"));
    }

    #[test]
    fn snapshot_of_a_pair_with_a_crash_looping_green() {
        let (identity, mut objects) = classic();
        for pod in &mut objects.pods[1] {
            if let Some(status) = pod.status.as_mut() {
                status.conditions = None;
                if let Some(c) = status
                    .container_statuses
                    .as_mut()
                    .and_then(|c| c.first_mut())
                {
                    c.ready = false;
                    c.restart_count = 4;
                    c.state = Some(crate::cluster::read::SlimContainerState {
                        waiting: Some(crate::cluster::read::SlimWaiting {
                            reason: Some("CrashLoopBackOff".into()),
                        }),
                        ..Default::default()
                    });
                }
            }
        }
        if let Some(status) = objects.deployments[1].status.as_mut() {
            status.ready_replicas = Some(0);
            status.available_replicas = Some(0);
        }
        let snapshot = build(&identity, "default", &objects, now()).expect("a snapshot");
        let verdict = decide(&snapshot);
        let target = target();
        let view = View {
            target: &target,
            snapshot: &snapshot,
            verdict: &verdict,
        };
        insta::assert_snapshot!(
            "crash_looping_green",
            render(&view, false, &Palette::plain())
        );
        insta::assert_snapshot!(
            "crash_looping_green_wide",
            render(&view, true, &Palette::plain())
        );
    }
}
