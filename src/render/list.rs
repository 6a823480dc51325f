//! `list`: one line per pair for people, and the `PairList` document for scripts (documented in
//! `docs/status-output.md`; fields are only ever added within one `apiVersion`).

use comfy_table::Cell;
use serde::{Deserialize, Serialize};

use crate::pair::journal::{FlipAction, Journal, Step};
use crate::pair::list::Found;
use crate::pair::snapshot::Snapshot;
use crate::render::style::Palette;
use crate::render::table::{base_table, finish};
use crate::verdict::{self, NextCommand, Reason, Verdict};

/// The document's `kind`; its `apiVersion` is [`crate::render::json::API_VERSION`].
pub const KIND: &str = "PairList";

/// What `list -o json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairList {
    /// Always [`crate::render::json::API_VERSION`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// Where: context, cluster, server, and the namespace (`null` with `--all-namespaces`).
    pub target: ListTarget,
    /// One item per pair, by namespace and Service.
    pub items: Vec<PairItem>,
}

/// Where the list was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTarget {
    /// The kubeconfig context.
    pub context: String,
    /// The cluster's name in the kubeconfig.
    pub cluster: String,
    /// The API server URL.
    pub server: String,
    /// The namespace listed; `null` for every namespace.
    pub namespace: Option<String>,
}

/// One pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairItem {
    /// Namespace.
    pub namespace: String,
    /// The production Service.
    pub service: String,
    /// The selector key carrying the colour.
    pub colour_label: String,
    /// The live colour.
    pub live: String,
    /// Both colours, in `--colors` order.
    pub colours: Vec<ColourItem>,
    /// The release the journal says is in progress; `null` when none is.
    pub in_progress: Option<InProgress>,
    /// What the next command would do and whether it is safe; `null` when `problem` is set.
    pub verdict: Option<ListVerdict>,
    /// Why the pair could not be read (e.g. two Deployments for a colour); `null` normally.
    pub problem: Option<String>,
}

/// One colour of a pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColourItem {
    /// The colour value.
    pub colour: String,
    /// Its Deployment; `null` when the colour has none.
    pub deployment: Option<String>,
    /// The Deployment's container images.
    pub images: Vec<String>,
    /// Pods that can serve: Ready and not terminating.
    pub ready: u32,
    /// The Deployment's `spec.replicas` (0 without a Deployment).
    pub desired: i32,
}

/// A release stopped half-way, from the journal's `step`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InProgress {
    /// The journal's `step`: `verify` or `cleanup`.
    pub step: String,
    /// In words, e.g. `cleanup of blue pending`.
    pub summary: String,
}

/// The verdict, as `status` decides it, with its short form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListVerdict {
    /// The command the verdict is about (`status`'s `verdict.action`).
    pub action: NextCommand,
    /// Whether the next command would go ahead now.
    pub safe: bool,
    /// The table's words, e.g. `promote safe`, `promote not safe: green has no Deployment`.
    pub short: String,
    /// The whole verdict in one sentence (`status`'s `verdict.summary`).
    pub summary: String,
    /// Why not, if not.
    pub blockers: Vec<Reason>,
    /// The command line that does what the summary says first; `null` when it is not safe.
    pub next_command: Option<String>,
}

impl PairItem {
    /// The item for one pair found.
    pub fn new(found: &Found) -> PairItem {
        let identity = &found.identity;
        let mut item = PairItem {
            namespace: found.namespace.clone(),
            service: identity.service.clone(),
            colour_label: identity.colour_label.clone(),
            live: identity.live_colour().to_string(),
            colours: identity
                .colours
                .iter()
                .map(|c| ColourItem {
                    colour: c.clone(),
                    deployment: None,
                    images: Vec::new(),
                    ready: 0,
                    desired: 0,
                })
                .collect(),
            in_progress: None,
            verdict: None,
            problem: None,
        };
        match &found.snapshot {
            Ok(snapshot) => {
                item.colours = colours(snapshot);
                item.in_progress = in_progress(snapshot);
                item.verdict = Some(ListVerdict::new(&verdict::decide(snapshot)));
            }
            Err(e) => item.problem = Some(e.to_string()),
        }
        item
    }
}

fn colours(snapshot: &Snapshot) -> Vec<ColourItem> {
    snapshot
        .colours
        .iter()
        .map(|state| ColourItem {
            colour: state.colour.clone(),
            deployment: state.deployment.as_ref().map(|d| d.name.clone()),
            images: state
                .deployment
                .as_ref()
                .map(|d| d.images.clone())
                .unwrap_or_default(),
            ready: u32::try_from(state.serving_pods()).unwrap_or(u32::MAX),
            desired: state.deployment.as_ref().map_or(0, |d| d.desired),
        })
        .collect()
}

/// The journal's step in words.
fn in_progress(snapshot: &Snapshot) -> Option<InProgress> {
    let journal = Journal::of(snapshot);
    let step = journal.step()?;
    let summary = match step {
        Step::Cleanup => format!(
            "cleanup of {} pending",
            journal.previous_colour().unwrap_or(&snapshot.idle_colour)
        ),
        Step::Verify => format!(
            "verification of {} to {} pending",
            journal.action().unwrap_or(FlipAction::Promote),
            snapshot.live_colour
        ),
    };
    Some(InProgress {
        step: step.to_string(),
        summary,
    })
}

impl ListVerdict {
    /// The list's view of a verdict.
    pub fn new(verdict: &Verdict) -> ListVerdict {
        // An interrupted release is finished by `cleanup`: that is what is safe or not.
        let verb = if verdict.interrupted_step.is_some() {
            "cleanup".to_string()
        } else {
            verdict.action.to_string()
        };
        let short = if verdict.safe {
            format!("{verb} safe")
        } else if let Some(first) = verdict.blockers.first() {
            let more = match verdict.blockers.len() - 1 {
                0 => String::new(),
                n => format!(" (+{n} more)"),
            };
            format!("{verb} not safe: {}{more}", first.message)
        } else {
            "nothing to do".to_string()
        };
        ListVerdict {
            action: verdict.action,
            safe: verdict.safe,
            short,
            summary: verdict.summary.clone(),
            blockers: verdict.blockers.clone(),
            next_command: verdict.next_command.clone(),
        }
    }
}

/// The table: NAMESPACE (with `all_namespaces`), SERVICE, LIVE, each colour's images and
/// READY (serving/desired), IN PROGRESS and VERDICT.
pub fn table(items: &[PairItem], colours: &[String; 2], all_namespaces: bool) -> String {
    let mut table = base_table(&Palette::plain());
    let mut header: Vec<String> = Vec::new();
    if all_namespaces {
        header.push("NAMESPACE".into());
    }
    header.extend(["SERVICE".into(), "LIVE".into()]);
    for colour in colours {
        header.push(colour.to_uppercase());
        header.push("READY".into());
    }
    header.extend(["IN PROGRESS".into(), "VERDICT".into()]);
    table.set_header(header);
    for item in items {
        let mut row: Vec<Cell> = Vec::new();
        if all_namespaces {
            row.push(Cell::new(&item.namespace));
        }
        row.push(Cell::new(&item.service));
        row.push(Cell::new(&item.live));
        for colour in &item.colours {
            let (images, ready) = match &colour.deployment {
                Some(_) if item.problem.is_none() => (
                    if colour.images.is_empty() {
                        "-".to_string()
                    } else {
                        colour.images.join(",")
                    },
                    format!("{}/{}", colour.ready, colour.desired),
                ),
                _ if item.problem.is_some() => ("?".to_string(), "-".to_string()),
                _ => ("missing".to_string(), "-".to_string()),
            };
            row.push(Cell::new(images));
            row.push(Cell::new(ready));
        }
        row.push(Cell::new(
            item.in_progress
                .as_ref()
                .map_or("-", |p| p.summary.as_str()),
        ));
        row.push(Cell::new(match (&item.verdict, &item.problem) {
            (Some(v), _) => v.short.clone(),
            (None, Some(problem)) => format!("cannot read the pair: {problem}"),
            (None, None) => "-".to_string(),
        }));
        table.add_row(row);
    }
    let mut out = finish(table);
    out.push('\n');
    out
}
