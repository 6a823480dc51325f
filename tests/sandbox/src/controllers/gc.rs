//! The garbage collector: dependents follow their owners through `ownerReferences`, with
//! the three propagation policies — background (dependents deleted after the owner is
//! gone), foreground (the owner waits, with the `foregroundDeletion` finalizer, until its
//! blocking dependents are gone) and orphan (owner references removed, then the `orphan`
//! finalizer).

use serde_json::Value;

use super::Ctx;
use super::cache::rt_of;
use super::meta;
use crate::resources::ResourceType;
use crate::store::{self, DeleteOpts, Propagation, UpdateScope};

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

/// Whether an object waits for the collector (being deleted with one of its finalizers).
pub(crate) fn interesting(o: &Value) -> bool {
    meta::deleting(o)
        && store::finalizers(o)
            .iter()
            .any(|f| f == FOREGROUND || f == ORPHAN)
}

pub(crate) fn on_event(ctx: &Ctx, obj: &Value, deleted: bool) {
    let uid = meta::uid(obj);
    if deleted {
        ctx.gc_q.add(uid.to_string());
        // A dependent went: its owners may be waiting for it (foreground deletion).
        for r in meta::owner_refs(obj) {
            if let Some(u) = r["uid"].as_str() {
                ctx.gc_q.add(u.to_string());
            }
        }
    } else if interesting(obj) {
        ctx.gc_q.add(uid.to_string());
    } else {
        // A dependent whose owner is unknown (created after the owner was deleted).
        for r in meta::owner_refs(obj) {
            if let Some(u) = r["uid"].as_str()
                && ctx.cache.by_uid(u).is_none()
            {
                ctx.gc_q.add(u.to_string());
            }
        }
    }
}

fn ref_to<'a>(dep: &'a Value, owner_uid: &str) -> Option<&'a Value> {
    meta::owner_refs(dep)
        .iter()
        .find(|r| r["uid"].as_str() == Some(owner_uid))
}

/// Whether the owner a reference names exists (asked of the store, not the cache, before
/// anything is deleted). Owners of kinds the sandbox does not serve count as existing.
fn owner_exists(ctx: &Ctx, dep: &Value, r: &Value) -> bool {
    let Some(rt) = meta::owner_type(r) else {
        return true;
    };
    let ns = if rt.namespaced {
        meta::namespace(dep)
    } else {
        ""
    };
    ctx.store
        .get(rt, ns, r["name"].as_str().unwrap_or(""))
        .is_some_and(|o| meta::uid(&o) == r["uid"].as_str().unwrap_or(""))
}

fn strip_ref(ctx: &Ctx, rt: &'static ResourceType, dep: &Value, owner_uid: &str) {
    let _ = ctx.update(rt, &meta::key(dep), UpdateScope::Main, |old| {
        let mut new = old.clone();
        if let Some(a) = new["metadata"]["ownerReferences"].as_array_mut() {
            a.retain(|r| r["uid"].as_str() != Some(owner_uid));
            if a.is_empty()
                && let Some(m) = new["metadata"].as_object_mut()
            {
                m.remove("ownerReferences");
            }
        }
        Ok(new)
    });
}

fn remove_finalizer(ctx: &Ctx, plural: &str, owner: &Value, fin: &str) {
    let Some(rt) = rt_of(plural) else {
        return;
    };
    let uid = meta::uid(owner).to_string();
    let _ = ctx.update(rt, &meta::key(owner), UpdateScope::Main, |old| {
        let mut new = old.clone();
        if meta::uid(old) == uid
            && let Some(a) = new["metadata"]["finalizers"].as_array_mut()
        {
            a.retain(|f| f.as_str() != Some(fin));
        }
        Ok(new)
    });
}

// The signature every controller's queue worker calls (`fn(&Ctx, &K)` with `K = String`).
#[allow(clippy::ptr_arg)]
pub(crate) fn reconcile(ctx: &Ctx, owner_uid: &String) {
    let deps = ctx.cache.dependents(owner_uid);
    match ctx.cache.by_uid(owner_uid) {
        None => {
            for (rt, dep) in deps {
                let Some(r) = ref_to(&dep, owner_uid) else {
                    continue;
                };
                if owner_exists(ctx, &dep, r) {
                    continue;
                }
                let others_alive = meta::owner_refs(&dep)
                    .iter()
                    .filter(|o| o["uid"].as_str() != Some(owner_uid.as_str()))
                    .any(|o| owner_exists(ctx, &dep, o));
                if others_alive {
                    strip_ref(ctx, rt, &dep, owner_uid);
                } else if !meta::deleting(&dep) {
                    let opts = DeleteOpts {
                        uid: Some(meta::uid(&dep).to_string()),
                        propagation: Some(Propagation::Background),
                        ..DeleteOpts::default()
                    };
                    let _ = ctx.delete(rt, &meta::key(&dep), &opts);
                }
            }
        }
        Some((plural, owner)) if meta::deleting(&owner) => {
            let fins = store::finalizers(&owner);
            if fins.iter().any(|f| f == ORPHAN) {
                for (rt, dep) in &deps {
                    strip_ref(ctx, rt, dep, owner_uid);
                }
                remove_finalizer(ctx, plural, &owner, ORPHAN);
            } else if fins.iter().any(|f| f == FOREGROUND) {
                let blocking: Vec<_> = deps
                    .into_iter()
                    .filter(|(_, d)| {
                        ref_to(d, owner_uid)
                            .is_some_and(|r| r["blockOwnerDeletion"].as_bool() == Some(true))
                    })
                    .collect();
                for (rt, dep) in &blocking {
                    if meta::deleting(dep) {
                        continue;
                    }
                    // A dependent with dependents of its own is deleted in the foreground too.
                    let has_own = !ctx.cache.dependents(meta::uid(dep)).is_empty();
                    let opts = DeleteOpts {
                        uid: Some(meta::uid(dep).to_string()),
                        propagation: Some(if has_own {
                            Propagation::Foreground
                        } else {
                            Propagation::Background
                        }),
                        ..DeleteOpts::default()
                    };
                    let _ = ctx.delete(rt, &meta::key(dep), &opts);
                }
                if blocking.is_empty() {
                    remove_finalizer(ctx, plural, &owner, FOREGROUND);
                }
            }
        }
        _ => {}
    }
}
