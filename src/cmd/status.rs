//! `status SERVICE`: both colours side by side, which one is live, and the verdict.

use std::io::IsTerminal;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};

use crate::cli::{GlobalArgs, OutputFormat, StatusArgs};
use crate::cluster::{Connection, connect};
use crate::cmd::{connect_options, print};
use crate::error::Result;
use crate::pair::{self, PairSpec, Snapshot};
use crate::render::{self, Palette, View, style};
use crate::verdict;

/// How long to wait for more changes before redrawing.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Runs `status`.
pub async fn run(global: &GlobalArgs, args: &StatusArgs) -> Result<()> {
    let conn = connect(&connect_options(global)).await?;
    let spec = PairSpec {
        label: args.pair.label.clone(),
        colours: args.pair.colors.0.clone(),
    };
    let palette = Palette::new(
        matches!(args.output, OutputFormat::Table | OutputFormat::Wide)
            && style::colour_wanted(global.no_color),
    );
    let snapshot = pair::load(&conn, &args.service, &spec).await?;
    let first = draw(&conn, &snapshot, args.output, &palette)?;
    if !args.watch {
        return print(&first);
    }
    watch(
        &conn,
        &args.service,
        &spec,
        snapshot,
        first,
        args.output,
        &palette,
    )
    .await
}

fn draw(
    conn: &Connection,
    snapshot: &Snapshot,
    format: OutputFormat,
    palette: &Palette,
) -> Result<String> {
    let verdict = verdict::decide(snapshot);
    let view = View {
        target: &conn.target,
        snapshot,
        verdict: &verdict,
    };
    render::render(&view, format, palette)
}

/// Redraws whenever pods, Deployments, Services or the production Service's EndpointSlices
/// change, as the API server's watches report it.
async fn watch(
    conn: &Connection,
    service: &str,
    spec: &PairSpec,
    snapshot: Snapshot,
    first: String,
    format: OutputFormat,
    palette: &Palette,
) -> Result<()> {
    let terminal = std::io::stdout().is_terminal();
    let mut frames = Frames {
        terminal,
        format,
        count: 0,
        last: String::new(),
    };
    frames.show(&first)?;

    let namespace = &conn.target.namespace;
    let client = &conn.client;
    let colour_key = snapshot.service.colour_label.clone();
    let mut pod_selector: Vec<String> = snapshot
        .service
        .selector
        .iter()
        .filter(|(k, _)| **k != colour_key)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pod_selector.push(format!("{colour_key} in ({})", spec.colours.join(",")));
    let pod_selector = pod_selector.join(",");
    let slice_selector = format!("kubernetes.io/service-name={service}");

    let changes = futures::stream::select_all([
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
    ]);
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
        let frame = match pair::load(conn, service, spec).await {
            Ok(snapshot) => draw(conn, &snapshot, format, palette)?,
            // Keep watching: the Service may come back, the connection may recover.
            Err(e) => format!("error: {e}\n"),
        };
        frames.show(&frame)?;
    }
    Ok(())
}

/// A stream that yields once per change of a watched kind; errors are retried with backoff.
fn changes<K>(
    api: Api<K>,
    config: watcher::Config,
) -> std::pin::Pin<Box<dyn Stream<Item = ()> + Send>>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    Box::pin(
        watcher(api, config)
            .default_backoff()
            .filter_map(|event| async move {
                match event {
                    Ok(_) => Some(()),
                    Err(e) => {
                        tracing::debug!(error = %e, "watch failed; retrying");
                        None
                    }
                }
            }),
    )
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
