//! `status SERVICE`: both colours side by side, which one is live, and the verdict.

use std::io::IsTerminal;
use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::runtime::watcher;

use crate::cli::{GlobalArgs, StatusArgs};
use crate::cluster::watch::changes;
use crate::cluster::{Connection, connect};
use crate::cmd::{connect_options, print};
use crate::error::Result;
use crate::pair::{self, PairSpec, Snapshot};
use crate::render::{self, OutputFormat, Palette, View, style};
use crate::verdict;

/// How long to wait for more changes before redrawing.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Runs `status`.
pub async fn run(global: &GlobalArgs, args: &StatusArgs) -> Result<()> {
    let conn = connect(&connect_options(global)).await?;
    let screen = Screen {
        conn: &conn,
        service: &args.service,
        spec: args.pair.spec(),
        format: args.output,
        palette: Palette::new(
            matches!(args.output, OutputFormat::Table | OutputFormat::Wide)
                && style::colour_wanted(global.no_color),
        ),
    };
    let snapshot = screen.read().await?;
    if args.watch {
        // A forbidden watch would be retried silently forever and its changes never shown:
        // ask first, and say which permission is missing.
        crate::cluster::access::check(&conn, &watch_permissions()).await?;
    }
    let first = screen.draw(&snapshot)?;
    if args.watch {
        watch(&screen, &snapshot, &first).await
    } else {
        print(&first)?;
        if args.check
            && let Some(problem) = verdict::decide(&snapshot).production_problem
        {
            return Err(crate::error::Error::ProductionProblem { problem });
        }
        Ok(())
    }
}

/// The list and watch permissions of the four kinds `--watch` follows.
fn watch_permissions() -> Vec<crate::cluster::access::Permission> {
    let kinds = [
        ("", "pods"),
        ("apps", "deployments"),
        ("", "services"),
        ("discovery.k8s.io", "endpointslices"),
    ];
    kinds
        .iter()
        .flat_map(|(group, resource)| {
            ["list", "watch"].map(|verb| crate::cluster::access::Permission {
                verb: verb.to_string(),
                group: group.to_string(),
                resource: resource.to_string(),
                subresource: None,
                name: None,
            })
        })
        .collect()
}

/// What is shown, and how.
struct Screen<'a> {
    conn: &'a Connection,
    service: &'a str,
    spec: PairSpec,
    format: OutputFormat,
    palette: Palette,
}

impl Screen<'_> {
    async fn read(&self) -> Result<Snapshot> {
        pair::load(self.conn, self.service, &self.spec).await
    }

    fn draw(&self, snapshot: &Snapshot) -> Result<String> {
        let verdict = verdict::decide(snapshot);
        let view = View {
            target: &self.conn.target,
            snapshot,
            verdict: &verdict,
        };
        render::render(&view, self.format, &self.palette)
    }
}

/// Redraws whenever pods of the pair, Deployments, Services or the production Service's
/// EndpointSlices change, as the API server's watches report it.
async fn watch(screen: &Screen<'_>, first: &Snapshot, first_frame: &str) -> Result<()> {
    let mut frames = Frames {
        terminal: std::io::stdout().is_terminal(),
        format: screen.format,
        count: 0,
        last: String::new(),
    };
    frames.show(first_frame)?;

    let changes = futures::stream::select_all(change_streams(screen, first));
    tokio::pin!(changes);
    while changes.next().await.is_some() {
        // Let a burst of changes settle, then read once.
        let settle = tokio::time::sleep(DEBOUNCE);
        tokio::pin!(settle);
        loop {
            tokio::select! {
                () = &mut settle => break,
                more = changes.next() => if more.is_none() { break },
            }
        }
        match screen.read().await {
            Ok(snapshot) => frames.show(&screen.draw(&snapshot)?)?,
            // Keep watching: the Service may come back, the connection may recover.
            Err(e) if frames.terminal => frames.show(&format!("error: {e}\n"))?,
            Err(e) => eprintln!("error: {e}"),
        }
    }
    Ok(())
}

type Changes = Pin<Box<dyn Stream<Item = ()> + Send>>;

/// One stream per watched kind, each label-selected as narrowly as the pair allows.
fn change_streams(screen: &Screen<'_>, first: &Snapshot) -> Vec<Changes> {
    let client = &screen.conn.client;
    let namespace = &screen.conn.target.namespace;
    let colour_key = &first.service.colour_label;
    // Pods of either colour: the production selector with the colour key set to both.
    let mut pod_selector: Vec<String> = first
        .service
        .selector
        .iter()
        .filter(|(k, _)| *k != colour_key)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pod_selector.push(format!(
        "{colour_key} in ({})",
        screen.spec.colours.join(",")
    ));
    let pod_selector = pod_selector.join(",");
    let slice_selector = format!("kubernetes.io/service-name={}", screen.service);
    vec![
        changes(
            Api::<Pod>::namespaced(client.clone(), namespace),
            watcher::Config::default().labels(&pod_selector),
        ),
        changes(
            Api::<Deployment>::namespaced(client.clone(), namespace),
            watcher::Config::default(),
        ),
        changes(
            Api::<Service>::namespaced(client.clone(), namespace),
            watcher::Config::default(),
        ),
        changes(
            Api::<EndpointSlice>::namespaced(client.clone(), namespace),
            watcher::Config::default().labels(&slice_selector),
        ),
    ]
}

/// Successive screens: redrawn in place on a terminal, appended otherwise.
struct Frames {
    terminal: bool,
    format: OutputFormat,
    count: usize,
    last: String,
}

impl Frames {
    fn show(&mut self, frame: &str) -> Result<()> {
        if frame == self.last {
            return Ok(());
        }
        let text = if self.terminal {
            let now = jiff::Zoned::now().strftime("%H:%M:%S");
            format!(
                "\u{1b}[H\u{1b}[2J{frame}\nWatching for changes (updated {now}); Ctrl-C to stop.\n"
            )
        } else {
            let separator = match (self.count, self.format) {
                (0, _) | (_, OutputFormat::Json) => "",
                (_, OutputFormat::Yaml) => "---\n",
                (_, OutputFormat::Table | OutputFormat::Wide) => "\n",
            };
            format!("{separator}{frame}")
        };
        print(&text)?;
        self.count += 1;
        self.last = frame.to_string();
        Ok(())
    }
}
