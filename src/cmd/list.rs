//! `list`: every blue/green pair of a namespace (or of every namespace), one line each, read
//! with one list of each kind and built in memory (see [`crate::pair::list`]).

use crate::cli::{GlobalArgs, ListArgs, ListFormat};
use crate::cluster::connect;
use crate::cluster::inventory::Scope;
use crate::cmd::{connect_options, print};
use crate::error::{Error, Result};
use crate::pair::PairSpec;
use crate::pair::list::{colour_keys, production_service_names, snapshots};
use crate::render::json::API_VERSION;
use crate::render::list::{KIND, ListTarget, PairItem, PairList, table};

/// Runs `list`.
pub(crate) async fn run(global: &GlobalArgs, args: &ListArgs) -> Result<()> {
    let conn = connect(&connect_options(global)).await?;
    let spec: PairSpec = args.pair.spec();
    let scope = if args.all_namespaces {
        Scope::All
    } else {
        Scope::Namespace(conn.target.namespace.clone())
    };
    // Pods are selected by the server: colour key = colour, for each colour key in use (named
    // with --label, else those of the Services that look like pairs), each list concurrently.
    let selectors_for = |keys: &[String]| -> Vec<String> {
        keys.iter()
            .flat_map(|key| spec.colours.iter().map(move |c| format!("{key}={c}")))
            .collect()
    };
    let known = spec
        .label
        .as_ref()
        .map(|key| selectors_for(std::slice::from_ref(key)));
    let inventory = conn
        .read_inventory(
            &scope,
            known,
            |services| selectors_for(&colour_keys(services, &spec)),
            |services| production_service_names(services, &spec),
        )
        .await?;
    let found = snapshots(inventory, &spec, jiff::Timestamp::now());
    let items: Vec<PairItem> = found.iter().map(PairItem::new).collect();
    drop(found);

    if items.is_empty() {
        if let Scope::Namespace(namespace) = &scope
            && conn.namespace_exists().await? == Some(false)
        {
            return Err(Error::NamespaceNotFound {
                namespace: namespace.clone(),
                context: conn.target.context.clone(),
            });
        }
        if args.output == ListFormat::Table {
            match &scope {
                Scope::Namespace(namespace) => {
                    eprintln!("no blue/green pairs found in namespace {namespace}");
                }
                Scope::All => eprintln!("no blue/green pairs found in any namespace"),
            }
            return Ok(());
        }
    }

    let document = PairList {
        api_version: API_VERSION.to_string(),
        kind: KIND.to_string(),
        target: ListTarget {
            context: conn.target.context.clone(),
            cluster: conn.target.cluster.clone(),
            server: conn.target.server.clone(),
            namespace: match &scope {
                Scope::Namespace(namespace) => Some(namespace.clone()),
                Scope::All => None,
            },
        },
        items,
    };
    let text = match args.output {
        ListFormat::Table => table(&document.items, &spec.colours, args.all_namespaces),
        ListFormat::Json => serde_json::to_string_pretty(&document)
            .map(|mut text| {
                text.push('\n');
                text
            })
            .map_err(|e| Error::Internal(format!("cannot encode the list as JSON: {e}")))?,
        ListFormat::Yaml => serde_yaml::to_string(&document)
            .map_err(|e| Error::Internal(format!("cannot encode the list as YAML: {e}")))?,
    };
    print(&text)
}
