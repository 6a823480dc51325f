//! Namespace lifecycle, as the registry and the namespace controller handle it: a deleted
//! namespace turns Terminating, refuses new content, has its contents deleted, and goes
//! once it is empty.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::resources::{self, ResourceType};
use crate::store::{DeleteOpts, Propagation, Store};

/// How often the contents of a terminating namespace are checked.
const POLL: Duration = Duration::from_millis(20);

/// 403 for creating in a namespace that is being deleted, in the real server's words.
pub fn check_not_terminating(store: &Store, rt: &ResourceType, namespace: &str) -> ApiResult<()> {
    if !rt.namespaced {
        return Ok(());
    }
    let terminating = store
        .get(&resources::NAMESPACES, "", namespace)
        .is_some_and(|ns| ns["metadata"].get("deletionTimestamp").is_some());
    if terminating {
        let mut e = ApiError::new(
            403,
            "Forbidden",
            format!(
                "{} is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                rt.plural
            ),
        );
        e.details = Some(crate::error::Details {
            group: rt.group.to_string(),
            kind: rt.plural.to_string(),
            ..Default::default()
        });
        return Err(e);
    }
    Ok(())
}

/// Deletes a namespace: marks it Terminating and starts removing its contents. Returns the
/// namespace as the real server answers (200 with the Terminating object).
pub fn delete(store: &Arc<Store>, name: &str, dry_run: bool) -> ApiResult<Value> {
    let ns = store.begin_namespace_deletion(name, dry_run)?;
    if !dry_run {
        let store = store.clone();
        let name = name.to_string();
        tokio::spawn(async move { empty_then_remove(&store, &name).await });
    }
    Ok(ns)
}

async fn empty_then_remove(store: &Store, namespace: &str) {
    let opts = DeleteOpts {
        propagation: Some(Propagation::Background),
        ..DeleteOpts::default()
    };
    loop {
        let mut remaining = 0;
        for rt in resources::ALL.iter().filter(|r| r.namespaced) {
            let (items, _) = store.list(rt, Some(namespace), |_| true);
            remaining += items.len();
            for o in items {
                if o["metadata"].get("deletionTimestamp").is_none() {
                    let name = o["metadata"]["name"].as_str().unwrap_or("");
                    // Gone meanwhile is fine; anything else is retried next round.
                    let _ = store.delete(rt, namespace, name, &opts);
                }
            }
        }
        if remaining == 0 {
            let _ = store.delete(
                &resources::NAMESPACES,
                "",
                namespace,
                &DeleteOpts::default(),
            );
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}
