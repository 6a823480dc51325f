//! Watching: a stream that yields whenever something of a kind changes, and the changes of a
//! pair's Deployments and pods. Read-only; `status --watch` redraws on them and the release
//! commands wait on them.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

use crate::cluster::Connection;

/// A stream that yields once per change of a watched kind; errors are retried with backoff.
pub fn changes<K>(api: Api<K>, config: watcher::Config) -> Pin<Box<dyn Stream<Item = ()> + Send>>
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

/// Changes of the pair's Deployments and of the pods matching `pod_selector`.
pub fn pair_changes(
    conn: &Connection,
    pod_selector: &str,
) -> Pin<Box<dyn Stream<Item = ()> + Send>> {
    let ns = &conn.target.namespace;
    Box::pin(futures::stream::select_all([
        changes(
            Api::<Pod>::namespaced(conn.client.clone(), ns),
            watcher::Config::default().labels(pod_selector),
        ),
        changes(
            Api::<Deployment>::namespaced(conn.client.clone(), ns),
            watcher::Config::default(),
        ),
    ]))
}
