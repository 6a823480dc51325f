//! The controllers that make the store a cluster: Deployment, ReplicaSet, the kubelet
//! stand-in, Endpoints/EndpointSlices and garbage collection.
//!
//! One informer task reads the store's event stream into a shared [`cache::Cache`] and queues
//! the keys each controller must look at; each controller is one task draining its own
//! [`queue::Queue`]. Controllers write through the store's public API, exactly as an API
//! client would, and record their own writes in the cache so that they never act twice on a
//! change the event stream has not delivered yet.

mod cache;
mod deployment;
mod endpoints;
mod events;
mod gc;
mod hash;
mod kubelet;
mod meta;
mod queue;
mod replicaset;
mod settled;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::error::ApiResult;
use crate::resources::{self, ResourceType};
use crate::store::{self, DeleteOpts, Event, EventType, Store, UpdateOpts, UpdateScope};

pub use hash::pod_template_hash;
pub use kubelet::{
    ANNOTATION_PREFIX, CRASH_LOOP, DEFAULT_READY_AFTER, NEVER_READY, READY_AFTER_MS,
    TERMINATE_AFTER_MS, UNREADY_AFTER_MS,
};
pub use settled::settled;

// For loading a settled state directly (the `large` scenario).
pub(crate) use deployment::{complete_status, replicaset_for};
pub(crate) use kubelet::running_status;
pub(crate) use replicaset::pod_for;

/// Annotation on a Namespace: while `"true"`, the Deployment, ReplicaSet and Endpoints
/// controllers leave that namespace alone (the kubelet does not), so that a settled state
/// can be bulk-loaded without the controllers acting on half of it. Removing it makes them
/// look at everything in the namespace.
pub const HOLD: &str = "sandbox.bluegreen.dev/hold";

use cache::Cache;
use meta::Key;
use queue::Queue;

/// Settings the controllers read while running.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Delay between a pod or Service change and the Endpoints/EndpointSlices reflecting it
    /// (cluster time, scaled by the clock).
    pub endpoint_delay: Duration,
    /// While true, Endpoints and EndpointSlices are not updated (the fault "endpoints never
    /// move"); pending changes are applied once it is false again.
    pub endpoints_paused: bool,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            endpoint_delay: Duration::from_millis(200),
            endpoints_paused: false,
        }
    }
}

/// Everything the controllers share.
pub(crate) struct Ctx {
    pub(crate) store: Arc<Store>,
    pub(crate) clock: Clock,
    pub(crate) config: Arc<Mutex<ControllerConfig>>,
    pub(crate) cache: Cache,
    pub(crate) kubelet_q: Queue<Key>,
    pub(crate) rs_q: Queue<Key>,
    pub(crate) deploy_q: Queue<Key>,
    pub(crate) ep_q: Queue<Key>,
    /// Owner uids whose dependents the garbage collector must look at.
    pub(crate) gc_q: Queue<String>,
    pub(crate) kubelet: Mutex<kubelet::State>,
    pub(crate) deploy: Mutex<deployment::State>,
}

/// A safety net only: every key is re-queued this often (wall time).
const RESYNC_EVERY: Duration = Duration::from_secs(30);
/// Keys processed before a controller task yields to the others.
const BATCH: usize = 64;

/// Starts every controller on the current tokio runtime.
pub fn spawn(
    store: Arc<Store>,
    clock: Clock,
    config: Arc<Mutex<ControllerConfig>>,
) -> Vec<JoinHandle<()>> {
    // Subscribe before listing, so nothing falls between the listing and the stream.
    let rx = store.subscribe();
    let ctx = Arc::new(Ctx {
        store,
        clock,
        config,
        cache: Cache::default(),
        kubelet_q: Queue::new(),
        rs_q: Queue::new(),
        deploy_q: Queue::new(),
        ep_q: Queue::new(),
        gc_q: Queue::new(),
        kubelet: Mutex::new(kubelet::State::default()),
        deploy: Mutex::new(deployment::State::default()),
    });
    resync(&ctx);

    let mut handles = vec![tokio::spawn(informer(ctx.clone(), rx))];
    handles.push(worker(ctx.clone(), |c| &c.kubelet_q, kubelet::reconcile));
    handles.push(worker(ctx.clone(), |c| &c.rs_q, replicaset::reconcile));
    handles.push(worker(ctx.clone(), |c| &c.deploy_q, deployment::reconcile));
    handles.push(worker(ctx.clone(), |c| &c.ep_q, endpoints::reconcile));
    handles.push(worker(ctx.clone(), |c| &c.gc_q, gc::reconcile));
    let periodic = ctx.clone();
    handles.push(tokio::spawn(async move {
        loop {
            tokio::time::sleep(RESYNC_EVERY).await;
            enqueue_all(&periodic);
        }
    }));
    handles
}

fn worker<K: Clone + Eq + std::hash::Hash + Ord + Send + 'static>(
    ctx: Arc<Ctx>,
    queue: fn(&Ctx) -> &Queue<K>,
    reconcile: fn(&Ctx, &K),
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut n = 0usize;
        loop {
            let key = queue(&ctx).next().await;
            reconcile(&ctx, &key);
            n += 1;
            if n.is_multiple_of(BATCH) {
                tokio::task::yield_now().await;
            }
        }
    })
}

async fn informer(ctx: Arc<Ctx>, mut rx: tokio::sync::broadcast::Receiver<Arc<Event>>) {
    let mut n = 0usize;
    loop {
        match rx.recv().await {
            Ok(ev) => {
                dispatch(&ctx, &ev);
                n += 1;
                if n.is_multiple_of(BATCH) {
                    tokio::task::yield_now().await;
                }
            }
            // Events were lost: start again from a full listing, as an informer re-lists.
            Err(RecvError::Lagged(_)) => resync(&ctx),
            Err(RecvError::Closed) => return,
        }
    }
}

/// Resource types the controllers watch (Events are only written).
const WATCHED: &[&ResourceType] = &[
    &resources::PODS,
    &resources::REPLICASETS,
    &resources::DEPLOYMENTS,
    &resources::SERVICES,
    &resources::ENDPOINTS,
    &resources::ENDPOINTSLICES,
    &resources::NAMESPACES,
    &resources::HORIZONTALPODAUTOSCALERS,
];

fn resync(ctx: &Ctx) {
    let rv = ctx.store.current_rv();
    let lists = WATCHED
        .iter()
        .map(|rt| (*rt, ctx.store.list(rt, None, |_| true).0))
        .collect();
    ctx.cache.reset(lists, rv);
    enqueue_all(ctx);
}

fn enqueue_all(ctx: &Ctx) {
    for k in ctx.cache.keys(&resources::PODS) {
        ctx.kubelet_q.add(k);
    }
    for k in ctx.cache.keys(&resources::REPLICASETS) {
        ctx.rs_q.add(k);
    }
    for k in ctx.cache.keys(&resources::DEPLOYMENTS) {
        ctx.deploy_q.add(k);
    }
    for k in ctx.cache.keys(&resources::SERVICES) {
        ctx.ep_q.add(k);
    }
    for rt in WATCHED {
        for o in ctx.cache.list(rt, None) {
            if gc::interesting(&o) {
                ctx.gc_q.add(meta::uid(&o).to_string());
            }
        }
    }
    for uid in ctx.cache.dangling_owners() {
        ctx.gc_q.add(uid);
    }
}

/// Routes one event to the queues of the controllers it concerns.
fn dispatch(ctx: &Ctx, ev: &Event) {
    if ev.rv <= ctx.cache.floor() || !WATCHED.iter().any(|r| std::ptr::eq(*r, ev.resource)) {
        return;
    }
    let deleted = ev.kind == EventType::Deleted;
    let (prev, own) = match ctx.cache.apply(ev.resource, ev.object.clone(), deleted) {
        cache::Applied::Stale => return,
        cache::Applied::Same => (None, true),
        cache::Applied::Changed(p) => (p, false),
    };
    ctx.cache.advance(ev.rv);
    let obj = &ev.object;
    let key = meta::key(obj);
    match ev.resource.plural {
        "pods" => {
            ctx.kubelet_q.add(key);
            for o in std::iter::once(obj).chain(prev.as_ref()) {
                if let Some(r) = meta::controller_ref(o)
                    && r["kind"] == "ReplicaSet"
                {
                    let rs_key = (
                        meta::namespace(o).to_string(),
                        r["name"].as_str().unwrap_or("").to_string(),
                    );
                    // Recreate waits for old pods to be gone: tell the Deployment too.
                    if deleted && let Some(rs) = ctx.cache.get(&resources::REPLICASETS, &rs_key) {
                        enqueue_owner_deployment(ctx, &rs);
                    }
                    ctx.rs_q.add(rs_key);
                }
            }
            endpoints::on_pod(ctx, obj, prev.as_deref());
        }
        "replicasets" => {
            ctx.rs_q.add(key);
            enqueue_owner_deployment(ctx, obj);
            if let Some(p) = &prev {
                enqueue_owner_deployment(ctx, p);
            }
            if !deleted && meta::controller_ref(obj).is_none() {
                // An orphan may be adopted by a Deployment whose selector matches it.
                deployment::on_orphan_rs(ctx, obj);
            }
        }
        "deployments" => ctx.deploy_q.add(key),
        "namespaces" => {
            let ns = meta::name(obj).to_string();
            if !deleted && !ctx.held(&ns) {
                for k in ctx.cache.keys_in(&resources::REPLICASETS, &ns) {
                    ctx.rs_q.add(k);
                }
                for k in ctx.cache.keys_in(&resources::DEPLOYMENTS, &ns) {
                    ctx.deploy_q.add(k);
                }
                for k in ctx.cache.keys_in(&resources::SERVICES, &ns) {
                    ctx.ep_q.add(k);
                }
            }
        }
        "services" => endpoints::on_service(ctx, obj, deleted),
        // Only someone else's change to our Endpoints or slices needs repairing.
        "endpoints" if !own => endpoints::on_endpoints(ctx, &key),
        "endpointslices" if !own => {
            if let Some(svc) = obj["metadata"]["labels"]["kubernetes.io/service-name"].as_str() {
                endpoints::on_endpoints(ctx, &(key.0.clone(), svc.to_string()));
            }
        }
        _ => {}
    }
    gc::on_event(ctx, obj, deleted);
}

fn enqueue_owner_deployment(ctx: &Ctx, rs: &Value) {
    if let Some(r) = meta::controller_ref(rs)
        && r["kind"] == "Deployment"
    {
        ctx.deploy_q.add((
            meta::namespace(rs).to_string(),
            r["name"].as_str().unwrap_or("").to_string(),
        ));
    }
}

impl Ctx {
    /// Creates an object as a controller does (status kept: controllers own it).
    pub(crate) fn create(
        &self,
        rt: &'static ResourceType,
        ns: &str,
        obj: Value,
    ) -> ApiResult<Arc<Value>> {
        let v = self.store.create_shared(
            rt,
            ns,
            obj,
            store::CreateOpts {
                dry_run: false,
                keep_status: true,
            },
        )?;
        self.cache.remember(rt, v.clone(), false);
        Ok(v)
    }

    /// Read-modify-write under the store's lock; the result is remembered in the cache.
    pub(crate) fn update(
        &self,
        rt: &'static ResourceType,
        key: &Key,
        scope: UpdateScope,
        f: impl FnOnce(&Value) -> ApiResult<Value>,
    ) -> ApiResult<Arc<Value>> {
        let v = Arc::new(self.store.update_with(
            rt,
            &key.0,
            &key.1,
            UpdateOpts {
                dry_run: false,
                scope,
            },
            f,
        )?);
        self.cache.remember(rt, v.clone(), false);
        Ok(v)
    }

    pub(crate) fn delete(
        &self,
        rt: &'static ResourceType,
        key: &Key,
        opts: &DeleteOpts,
    ) -> ApiResult<()> {
        let (v, gone) = self.store.delete(rt, &key.0, &key.1, opts)?;
        self.cache.remember(rt, Arc::new(v), gone);
        Ok(())
    }

    /// Whether the namespace carries the [`HOLD`] annotation.
    pub(crate) fn held(&self, ns: &str) -> bool {
        self.cache
            .get(&resources::NAMESPACES, &(String::new(), ns.to_string()))
            .is_some_and(|n| meta::annotation(&n, HOLD) == Some("true"))
    }

    /// The Endpoints propagation delay in wall time, and whether Endpoints are paused.
    pub(crate) fn endpoint_settings(&self) -> (Duration, bool) {
        let c = self.config.lock().unwrap_or_else(|e| e.into_inner());
        (self.clock.scaled(c.endpoint_delay), c.endpoints_paused)
    }
}
