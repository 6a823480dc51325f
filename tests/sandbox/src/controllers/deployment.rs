//! The Deployment controller: one ReplicaSet per pod template, rolling updates within
//! maxSurge/maxUnavailable, Recreate, scaling, revision history, and the status and
//! conditions `kubectl rollout status` reads — after kube-controller-manager's
//! `pkg/controller/deployment`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::hash::pod_template_hash;
use super::meta::{self, Key};
use super::{Ctx, events};
use crate::error::ApiError;
use crate::resources::{DEPLOYMENTS, PODS, REPLICASETS};
use crate::selector::LabelSelector;
use crate::store::{self, DeleteOpts, UpdateScope};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const DEFAULT_PROGRESS_DEADLINE: u64 = 600;

/// Per Deployment (by uid): when its Progressing condition last recorded progress, in
/// wall time, so the progress deadline runs on the sandbox clock.
#[derive(Default)]
pub(crate) struct State {
    progress: HashMap<String, Instant>,
}

/// An orphan ReplicaSet appeared: Deployments whose selector matches it may adopt it.
pub(crate) fn on_orphan_rs(ctx: &Ctx, rs: &Value) {
    for d in ctx.cache.list(&DEPLOYMENTS, Some(meta::namespace(rs))) {
        if let Some(sel) = LabelSelector::from_object(&d["spec"]["selector"])
            && !sel.is_empty()
            && sel.matches(&rs["metadata"]["labels"])
        {
            ctx.deploy_q.add(meta::key(&d));
        }
    }
}

/// `maxSurge` and `maxUnavailable` resolved against `desired` (`ResolveFenceposts`).
fn fenceposts(d: &Value, desired: i64) -> (i64, i64) {
    if !is_rolling(d) {
        return (0, 0);
    }
    let ru = &d["spec"]["strategy"]["rollingUpdate"];
    let surge = scaled_value(&ru["maxSurge"], desired, true);
    let mut unavailable = scaled_value(&ru["maxUnavailable"], desired, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable.min(desired))
}

fn is_rolling(d: &Value) -> bool {
    d["spec"]["strategy"]["type"]
        .as_str()
        .unwrap_or("RollingUpdate")
        != "Recreate"
}

/// An int-or-percent value (default 25%), percentages rounded up or down.
fn scaled_value(v: &Value, total: i64, round_up: bool) -> i64 {
    if let Some(n) = v.as_i64() {
        return n.max(0);
    }
    let s = v.as_str().unwrap_or("25%");
    let pct: i64 = match s.strip_suffix('%') {
        Some(p) => p.trim().parse().unwrap_or(25),
        None => return s.trim().parse().unwrap_or(0),
    };
    let x = pct * total;
    if round_up { (x + 99) / 100 } else { x / 100 }.max(0)
}

fn max_unavailable(d: &Value) -> i64 {
    let desired = meta::replicas(d);
    if !is_rolling(d) || desired == 0 {
        return 0;
    }
    fenceposts(d, desired).1
}

fn revision_of(rs: &Value) -> i64 {
    meta::annotation(rs, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Whether a ReplicaSet's template is the Deployment's, ignoring the hash label.
fn same_template(rs: &Value, template: &Value) -> bool {
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(l) = t["metadata"]["labels"].as_object_mut() {
            l.remove("pod-template-hash");
        }
        t
    };
    strip(&rs["spec"]["template"]) == strip(template)
}

pub(crate) fn reconcile(ctx: &Ctx, key: &Key) {
    if ctx.held(&key.0) {
        return;
    }
    let Some(d) = ctx.cache.get(&DEPLOYMENTS, key) else {
        return;
    };
    if meta::deleting(&d) {
        return;
    }
    let Some(sel) = LabelSelector::from_object(&d["spec"]["selector"]) else {
        return;
    };
    // "This deployment is selecting all pods. A non-empty selector is required."
    if sel.is_empty() {
        return;
    }
    adopt(ctx, &d, &sel);
    let uid = meta::uid(&d).to_string();
    let mut rses: Vec<Arc<Value>> = ctx
        .cache
        .controlled(&REPLICASETS, &uid)
        .into_iter()
        .filter(|rs| !meta::deleting(rs))
        .collect();
    rses.sort_by(|a, b| {
        meta::creation(a)
            .cmp(meta::creation(b))
            .then(meta::name(a).cmp(meta::name(b)))
    });
    let template = &d["spec"]["template"];
    let new_rs = rses.iter().find(|rs| same_template(rs, template)).cloned();
    let olds: Vec<Arc<Value>> = rses
        .iter()
        .filter(|rs| {
            new_rs
                .as_ref()
                .is_none_or(|n| meta::uid(n) != meta::uid(rs))
        })
        .cloned()
        .collect();
    let paused = d["spec"]["paused"].as_bool() == Some(true);
    let mut sync = Sync {
        ctx,
        d: d.clone(),
        olds,
        new_rs,
        note: None,
    };
    if paused {
        sync.sync_revision();
        sync.scale_paused();
        sync.status(true);
        return;
    }
    if is_rolling(&d) {
        sync.rolling();
    } else {
        sync.recreate();
    }
}

/// One pass over one Deployment.
struct Sync<'a> {
    ctx: &'a Ctx,
    d: Arc<Value>,
    olds: Vec<Arc<Value>>,
    new_rs: Option<Arc<Value>>,
    /// A Progressing condition to set before the status is computed (new ReplicaSet).
    note: Option<(&'static str, String)>,
}

impl Sync<'_> {
    fn desired(&self) -> i64 {
        meta::replicas(&self.d)
    }

    fn all(&self) -> Vec<Arc<Value>> {
        self.olds
            .iter()
            .chain(self.new_rs.as_ref())
            .cloned()
            .collect()
    }

    fn rolling(&mut self) {
        if !self.ensure_new_rs() {
            return;
        }
        if self.reconcile_new() || self.reconcile_olds() {
            self.status(false);
            return;
        }
        self.cleanup_if_complete();
        self.status(false);
    }

    fn recreate(&mut self) {
        self.sync_revision();
        let mut scaled = false;
        for rs in self.olds.clone() {
            if meta::replicas(&rs) > 0 {
                scaled |= self.scale(&rs, 0);
            }
        }
        if scaled {
            self.status(false);
            return;
        }
        // Recreate starts the new pods only once every old pod is gone.
        let old_pods_running = self.olds.iter().any(|rs| {
            self.ctx
                .cache
                .controlled(&PODS, meta::uid(rs))
                .iter()
                .any(|p| !matches!(meta::phase(p), "Succeeded" | "Failed"))
        });
        if old_pods_running {
            self.status(false);
            return;
        }
        if !self.ensure_new_rs() {
            return;
        }
        if let Some(new) = self.new_rs.clone()
            && meta::replicas(&new) != self.desired()
        {
            self.scale(&new, self.desired());
        }
        self.cleanup_if_complete();
        self.status(false);
    }

    /// While paused only scaling happens (the proportional scaling of several active
    /// ReplicaSets is not done: only a single active one is scaled).
    fn scale_paused(&mut self) {
        let active: Vec<Arc<Value>> = self
            .all()
            .into_iter()
            .filter(|rs| meta::replicas(rs) > 0)
            .collect();
        let target = match (active.len(), &self.new_rs) {
            (0, Some(n)) => Some(n.clone()),
            (1, _) => Some(active[0].clone()),
            _ => None,
        };
        if let Some(rs) = target
            && meta::replicas(&rs) != self.desired()
        {
            self.scale(&rs, self.desired());
        }
    }

    /// The new ReplicaSet's size for a rolling update (`NewRSNewReplicas`).
    fn new_rs_replicas(&self) -> i64 {
        let desired = self.desired();
        if !is_rolling(&self.d) {
            return desired;
        }
        let new_replicas = self.new_rs.as_ref().map(|r| meta::replicas(r)).unwrap_or(0);
        let (surge, _) = fenceposts(&self.d, desired);
        // The real controller sums `spec.replicas` only; counting pods an old ReplicaSet has
        // not yet deleted too keeps the live pods themselves within maxSurge.
        let current: i64 = self
            .all()
            .iter()
            .map(|r| {
                let live = self
                    .ctx
                    .cache
                    .controlled(&PODS, meta::uid(r))
                    .iter()
                    .filter(|p| meta::pod_active(p))
                    .count() as i64;
                meta::replicas(r).max(live)
            })
            .sum();
        let max_total = desired + surge;
        if current >= max_total {
            return new_replicas;
        }
        let up = (max_total - current).min((desired - new_replicas).max(0));
        new_replicas + up
    }

    /// Finds or creates the new ReplicaSet; false if the sync must stop here.
    fn ensure_new_rs(&mut self) -> bool {
        if self.new_rs.is_some() {
            self.sync_revision();
            return true;
        }
        let ctx = self.ctx;
        let d = self.d.clone();
        let collision = d["status"]["collisionCount"].as_i64();
        let template = &d["spec"]["template"];
        let revision = self.max_old_revision() + 1;
        let replicas = self.new_rs_replicas();
        let rs = replicaset_for(&d, collision, revision, replicas);
        let name = meta::name(&rs).to_string();
        let ns = meta::namespace(&d).to_string();
        match ctx.create(&REPLICASETS, &ns, rs) {
            Ok(created) => {
                if replicas > 0 {
                    events::normal(
                        ctx,
                        &d,
                        "deployment-controller",
                        "ScalingReplicaSet",
                        format!("Scaled up replica set {name} from 0 to {replicas}"),
                    );
                }
                self.note = Some((
                    "NewReplicaSetCreated",
                    format!("Created new replica set \"{name}\""),
                ));
                self.new_rs = Some(created);
                self.set_deployment_revision(revision);
                true
            }
            Err(e) if e.code == 409 => {
                // Ours already (a sync raced with its own event)? Otherwise a hash collision.
                if let Some(existing) = ctx.store.get(&REPLICASETS, &ns, &name)
                    && meta::controlled_by(&existing, meta::uid(&d))
                    && same_template(&existing, template)
                {
                    let existing = Arc::new((*existing).clone());
                    ctx.cache.remember(&REPLICASETS, existing.clone(), false);
                    self.new_rs = Some(existing);
                    return true;
                }
                let next = collision.unwrap_or(0) + 1;
                let _ = ctx.update(&DEPLOYMENTS, &meta::key(&d), UpdateScope::Status, |old| {
                    let mut new = old.clone();
                    new["status"]["collisionCount"] = json!(next);
                    Ok(new)
                });
                ctx.deploy_q.add(meta::key(&d));
                false
            }
            Err(_) => {
                ctx.deploy_q
                    .add_after(meta::key(&d), Duration::from_millis(50));
                false
            }
        }
    }

    fn max_old_revision(&self) -> i64 {
        self.olds.iter().map(|r| revision_of(r)).max().unwrap_or(0)
    }

    fn set_replica_annotations(&self, annotations: &mut Map<String, Value>) {
        set_replica_annotations(&self.d, annotations);
    }

    /// Brings the new ReplicaSet's revision above the old ones (a rollback to an older
    /// template makes its ReplicaSet the newest revision) and copies the Deployment's
    /// annotations to it; sets the Deployment's revision annotation.
    fn sync_revision(&mut self) {
        let Some(new) = self.new_rs.clone() else {
            return;
        };
        let max_old = self.max_old_revision();
        let current = revision_of(&new);
        let revision = if current < max_old + 1 {
            max_old + 1
        } else {
            current
        };
        let copied = copied_annotations(&self.d);
        let needs = revision != current
            || copied
                .iter()
                .any(|(k, v)| new["metadata"]["annotations"].get(k) != Some(v));
        if needs {
            let had = meta::annotation(&new, REVISION).map(str::to_string);
            if let Ok(rs) =
                self.ctx
                    .update(&REPLICASETS, &meta::key(&new), UpdateScope::Main, |old| {
                        let mut n = old.clone();
                        if !n["metadata"]["annotations"].is_object() {
                            n["metadata"]["annotations"] = json!({});
                        }
                        let a = &mut n["metadata"]["annotations"];
                        for (k, v) in &copied {
                            a[k] = v.clone();
                        }
                        a[REVISION] = json!(revision.to_string());
                        if revision != current
                            && let Some(h) = &had
                        {
                            let history = match a[REVISION_HISTORY].as_str() {
                                Some(prev) if !prev.is_empty() => format!("{prev},{h}"),
                                _ => h.clone(),
                            };
                            a[REVISION_HISTORY] = json!(history);
                        }
                        Ok(n)
                    })
            {
                self.new_rs = Some(rs);
            }
        }
        self.set_deployment_revision(revision);
        if self.d["status"]["conditions"]
            .as_array()
            .is_none_or(|c| !c.iter().any(|c| c["type"] == "Progressing"))
        {
            self.note = Some((
                "FoundNewReplicaSet",
                format!("Found new replica set \"{}\"", meta::name(&new)),
            ));
        }
    }

    fn set_deployment_revision(&mut self, revision: i64) {
        let r = revision.to_string();
        if meta::annotation(&self.d, REVISION) == Some(r.as_str()) {
            return;
        }
        if let Ok(d) = self.ctx.update(
            &DEPLOYMENTS,
            &meta::key(&self.d),
            UpdateScope::Main,
            |old| {
                let mut n = old.clone();
                if !n["metadata"]["annotations"].is_object() {
                    n["metadata"]["annotations"] = json!({});
                }
                n["metadata"]["annotations"][REVISION] = json!(r);
                Ok(n)
            },
        ) {
            self.d = d;
        }
    }

    /// Scales a ReplicaSet (and refreshes its replica annotations); true if its size changed.
    fn scale(&mut self, rs: &Value, n: i64) -> bool {
        let from = meta::replicas(rs);
        let mut ann = Map::new();
        self.set_replica_annotations(&mut ann);
        let res = self
            .ctx
            .update(&REPLICASETS, &meta::key(rs), UpdateScope::Main, |old| {
                let mut new = old.clone();
                new["spec"]["replicas"] = json!(n);
                if !new["metadata"]["annotations"].is_object() {
                    new["metadata"]["annotations"] = json!({});
                }
                for (k, v) in &ann {
                    new["metadata"]["annotations"][k] = v.clone();
                }
                Ok(new)
            });
        let Ok(updated) = res else {
            return false;
        };
        // Keep this pass's view in step with what was written.
        let uid = meta::uid(&updated).to_string();
        if self.new_rs.as_ref().is_some_and(|r| meta::uid(r) == uid) {
            self.new_rs = Some(updated.clone());
        }
        for o in &mut self.olds {
            if meta::uid(o) == uid {
                *o = updated.clone();
            }
        }
        if from != n {
            let dir = if n > from { "up" } else { "down" };
            events::normal(
                self.ctx,
                &self.d,
                "deployment-controller",
                "ScalingReplicaSet",
                format!(
                    "Scaled {dir} replica set {} from {from} to {n}",
                    meta::name(rs)
                ),
            );
        }
        from != n
    }

    /// `reconcileNewReplicaSet`: grow the new ReplicaSet within maxSurge, or shrink it to
    /// the desired size.
    fn reconcile_new(&mut self) -> bool {
        let Some(new) = self.new_rs.clone() else {
            return false;
        };
        let desired = self.desired();
        let current = meta::replicas(&new);
        if current == desired {
            return false;
        }
        if current > desired {
            return self.scale(&new, desired);
        }
        let target = self.new_rs_replicas();
        target != current && self.scale(&new, target)
    }

    /// `reconcileOldReplicaSets`: shrink old ReplicaSets while at least
    /// `replicas - maxUnavailable` pods stay available.
    fn reconcile_olds(&mut self) -> bool {
        let Some(new) = self.new_rs.clone() else {
            return false;
        };
        let old_count: i64 = self.olds.iter().map(|r| meta::replicas(r)).sum();
        if old_count == 0 {
            return false;
        }
        let all_count: i64 = self.all().iter().map(|r| meta::replicas(r)).sum();
        let min_available = self.desired() - max_unavailable(&self.d);
        let new_unavailable = meta::replicas(&new) - meta::status_i64(&new, "availableReplicas");
        let mut max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        let mut scaled = false;
        // First the old pods that are not available anyway.
        for rs in self.olds.clone() {
            if max_scaled_down <= 0 {
                break;
            }
            let replicas = meta::replicas(&rs);
            let available = meta::status_i64(&rs, "availableReplicas");
            if replicas == 0 || replicas <= available {
                continue;
            }
            let down = max_scaled_down.min(replicas - available);
            scaled |= self.scale(&rs, replicas - down);
            max_scaled_down -= down;
        }
        // Then available ones, down to the minimum availability.
        let available: i64 = self
            .all()
            .iter()
            .map(|r| meta::status_i64(r, "availableReplicas"))
            .sum();
        if available > min_available {
            let mut left = available - min_available;
            for rs in self.olds.clone() {
                if left <= 0 {
                    break;
                }
                let replicas = meta::replicas(&rs);
                if replicas == 0 {
                    continue;
                }
                let down = replicas.min(left);
                scaled |= self.scale(&rs, replicas - down);
                left -= down;
            }
        }
        scaled
    }

    /// Deletes the oldest unused ReplicaSets beyond `revisionHistoryLimit` (default 10).
    fn cleanup_if_complete(&mut self) {
        let limit = self.d["spec"]["revisionHistoryLimit"]
            .as_i64()
            .unwrap_or(10)
            .max(0) as usize;
        let mut cleanable: Vec<Arc<Value>> = self
            .olds
            .iter()
            .filter(|rs| {
                meta::replicas(rs) == 0
                    && meta::status_i64(rs, "replicas") == 0
                    && meta::generation(rs) == meta::status_i64(rs, "observedGeneration")
            })
            .cloned()
            .collect();
        if cleanable.len() <= limit {
            return;
        }
        cleanable.sort_by_key(|rs| revision_of(rs));
        let n = cleanable.len() - limit;
        for rs in cleanable.into_iter().take(n) {
            let opts = DeleteOpts {
                uid: Some(meta::uid(&rs).to_string()),
                ..DeleteOpts::default()
            };
            let _ = self.ctx.delete(&REPLICASETS, &meta::key(&rs), &opts);
        }
    }

    /// `syncRolloutStatus`: the status fields and the Available/Progressing conditions.
    fn status(&mut self, paused: bool) {
        let ctx = self.ctx;
        let d = self.d.clone();
        let uid = meta::uid(&d).to_string();
        let desired = self.desired();
        let all = self.all();
        let sum = |f: &str| -> i64 { all.iter().map(|r| meta::status_i64(r, f)).sum() };
        let replicas = sum("replicas");
        let updated = self
            .new_rs
            .as_ref()
            .map(|r| meta::status_i64(r, "replicas"))
            .unwrap_or(0);
        let ready = sum("readyReplicas");
        let available = sum("availableReplicas");
        let unavailable = (desired - available).max(0);

        let now = store::now_rfc3339();
        let mut conds: Vec<Value> = d["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if let Some((reason, message)) = self.note.take() {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                reason,
                &message,
                &now,
                false,
            );
            self.mark_progress(&uid);
        }
        if available >= desired - max_unavailable(&d) {
            set_condition(
                &mut conds,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                &now,
                false,
            );
        } else {
            set_condition(
                &mut conds,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                &now,
                false,
            );
        }

        let deadline = d["spec"]["progressDeadlineSeconds"]
            .as_u64()
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE);
        let has_deadline = deadline < i32::MAX as u64;
        let new_name = self
            .new_rs
            .as_ref()
            .map(|r| meta::name(r).to_string())
            .unwrap_or_default();
        let mut recheck = None;
        if paused {
            set_condition(
                &mut conds,
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused",
                &now,
                false,
            );
        } else if has_deadline {
            let was_paused = conds
                .iter()
                .any(|c| c["type"] == "Progressing" && c["reason"] == "DeploymentPaused");
            let complete = updated == desired && replicas == desired && available == desired;
            let old = &d["status"];
            let old_old =
                meta::status_i64(&d, "replicas") - meta::status_i64(&d, "updatedReplicas");
            let progressed = updated > old["updatedReplicas"].as_i64().unwrap_or(0)
                || replicas - updated < old_old
                || ready > old["readyReplicas"].as_i64().unwrap_or(0)
                || available > old["availableReplicas"].as_i64().unwrap_or(0);
            let current_reason = conds
                .iter()
                .find(|c| c["type"] == "Progressing")
                .and_then(|c| c["reason"].as_str())
                .unwrap_or("")
                .to_string();
            if was_paused {
                set_condition(
                    &mut conds,
                    "Progressing",
                    "Unknown",
                    "DeploymentResumed",
                    "Deployment is resumed",
                    &now,
                    false,
                );
                self.mark_progress(&uid);
            }
            if complete && !new_name.is_empty() {
                set_condition(
                    &mut conds,
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{new_name}\" has successfully progressed."),
                    &now,
                    false,
                );
            } else if progressed && !new_name.is_empty() {
                set_condition(
                    &mut conds,
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{new_name}\" is progressing."),
                    &now,
                    true,
                );
                self.mark_progress(&uid);
            } else if !complete
                && current_reason != "NewReplicaSetAvailable"
                && current_reason != "ProgressDeadlineExceeded"
            {
                let since = self.progress_since(&uid);
                let limit = ctx.clock.scaled(Duration::from_secs(deadline));
                let elapsed = since.elapsed();
                if !current_reason.is_empty() && elapsed >= limit {
                    set_condition(
                        &mut conds,
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        &format!("ReplicaSet \"{new_name}\" has timed out progressing."),
                        &now,
                        false,
                    );
                } else {
                    recheck = Some(limit.saturating_sub(elapsed) + Duration::from_millis(1));
                }
            }
        }

        let mut status = Map::new();
        status.insert("observedGeneration".into(), json!(meta::generation(&d)));
        for (k, v) in [
            ("replicas", replicas),
            ("updatedReplicas", updated),
            ("readyReplicas", ready),
            ("availableReplicas", available),
            ("unavailableReplicas", unavailable),
        ] {
            if v != 0 {
                status.insert(k.into(), json!(v));
            }
        }
        if !conds.is_empty() {
            status.insert("conditions".into(), json!(conds));
        }
        if let Some(c) = d["status"].get("collisionCount").filter(|v| !v.is_null()) {
            status.insert("collisionCount".into(), c.clone());
        }
        let status = Value::Object(status);
        if d["status"] != status {
            let _ = ctx.update(&DEPLOYMENTS, &meta::key(&d), UpdateScope::Status, |old| {
                if meta::uid(old) != uid {
                    return Err(ApiError::conflict(
                        "apps",
                        "deployments",
                        meta::name(&d),
                        "replaced",
                    ));
                }
                let mut new = old.clone();
                new["status"] = status;
                Ok(new)
            });
        }
        if let Some(after) = recheck {
            ctx.deploy_q.add_after(meta::key(&d), after);
        }
    }

    fn mark_progress(&self, uid: &str) {
        let mut st = self.ctx.deploy.lock().unwrap_or_else(|e| e.into_inner());
        st.progress.insert(uid.to_string(), Instant::now());
    }

    fn progress_since(&self, uid: &str) -> Instant {
        let mut st = self.ctx.deploy.lock().unwrap_or_else(|e| e.into_inner());
        *st.progress
            .entry(uid.to_string())
            .or_insert_with(Instant::now)
    }
}

fn set_replica_annotations(d: &Value, annotations: &mut Map<String, Value>) {
    let desired = meta::replicas(d);
    let (surge, _) = fenceposts(d, desired);
    annotations.insert(DESIRED_REPLICAS.into(), json!(desired.to_string()));
    annotations.insert(MAX_REPLICAS.into(), json!((desired + surge).to_string()));
}

/// The ReplicaSet a Deployment's current template gets: named `<deployment>-<hash>`, the
/// hash label on its selector, template and labels, the revision and replica annotations.
pub(crate) fn replicaset_for(
    d: &Value,
    collision: Option<i64>,
    revision: i64,
    replicas: i64,
) -> Value {
    let template = &d["spec"]["template"];
    let hash = pod_template_hash(template, collision);
    let name = format!("{}-{}", meta::name(d), hash);
    let mut rs_template = template.clone();
    rs_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let mut labels = template["metadata"]["labels"].clone();
    labels["pod-template-hash"] = json!(hash);
    let mut annotations = copied_annotations(d);
    annotations.insert(REVISION.into(), json!(revision.to_string()));
    set_replica_annotations(d, &mut annotations);
    let mut spec = json!({
        "replicas": replicas,
        "selector": selector,
        "template": rs_template,
    });
    if let Some(m) = d["spec"].get("minReadySeconds").filter(|v| !v.is_null()) {
        spec["minReadySeconds"] = m.clone();
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": meta::namespace(d),
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [meta::controller_owner_ref(d, "apps/v1", "Deployment")],
        },
        "spec": spec,
    })
}

/// The status of a Deployment fully rolled out to `replicas` pods of ReplicaSet `rs_name`,
/// as the controller leaves it (for loading a settled state).
pub(crate) fn complete_status(d: &Value, rs_name: &str, replicas: i64, now: &str) -> Value {
    let mut conds = Vec::new();
    set_condition(
        &mut conds,
        "Available",
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
        now,
        false,
    );
    set_condition(
        &mut conds,
        "Progressing",
        "True",
        "NewReplicaSetAvailable",
        &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
        now,
        false,
    );
    json!({
        "observedGeneration": meta::generation(d),
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": conds,
    })
}

/// Annotations a Deployment passes on to its ReplicaSets (all but its own bookkeeping).
fn copied_annotations(d: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(a) = d["metadata"]["annotations"].as_object() {
        for (k, v) in a {
            if ![
                LAST_APPLIED,
                REVISION,
                REVISION_HISTORY,
                DESIRED_REPLICAS,
                MAX_REPLICAS,
                "deprecated.deployment.rollback.to",
            ]
            .contains(&k.as_str())
            {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// `SetDeploymentCondition`: no change if status and reason are the same; the transition
/// time survives a change that keeps the status. `refresh` replaces a same-reason condition
/// anyway (a new lastUpdateTime for each sign of progress).
fn set_condition(
    conds: &mut Vec<Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
    refresh: bool,
) {
    let existing = conds.iter().find(|c| c["type"] == kind).cloned();
    let mut transition = now.to_string();
    if let Some(c) = &existing {
        if c["status"] == status && c["reason"] == reason && !refresh {
            return;
        }
        if c["status"] == status {
            transition = c["lastTransitionTime"].as_str().unwrap_or(now).to_string();
        }
    }
    conds.retain(|c| c["type"] != kind);
    conds.push(json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    }));
}

/// Adopts orphan ReplicaSets whose labels match the selector (`ClaimReplicaSets`).
fn adopt(ctx: &Ctx, d: &Value, sel: &LabelSelector) {
    for rs in ctx.cache.orphans(&REPLICASETS, meta::namespace(d)) {
        if meta::controller_ref(&rs).is_some()
            || meta::deleting(&rs)
            || !sel.matches(&rs["metadata"]["labels"])
        {
            continue;
        }
        let r = meta::controller_owner_ref(d, "apps/v1", "Deployment");
        let _ = ctx.update(&REPLICASETS, &meta::key(&rs), UpdateScope::Main, |old| {
            let mut new = old.clone();
            if meta::controller_ref(old).is_none() {
                match new["metadata"]["ownerReferences"].as_array_mut() {
                    Some(a) => a.push(r),
                    None => new["metadata"]["ownerReferences"] = json!([r]),
                }
            }
            Ok(new)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_like_kubernetes() {
        assert_eq!(scaled_value(&json!("25%"), 3, true), 1);
        assert_eq!(scaled_value(&json!("25%"), 3, false), 0);
        assert_eq!(scaled_value(&json!("25%"), 10, true), 3);
        assert_eq!(scaled_value(&json!("25%"), 10, false), 2);
        assert_eq!(scaled_value(&json!(2), 10, false), 2);
        assert_eq!(scaled_value(&Value::Null, 4, true), 1);
    }

    #[test]
    fn zero_surge_and_unavailable_means_one_unavailable() {
        let d = json!({"spec": {"replicas": 3, "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}}});
        assert_eq!(fenceposts(&d, 3), (0, 1));
        let d = json!({"spec": {"replicas": 3}});
        assert_eq!(fenceposts(&d, 3), (1, 0));
        assert_eq!(max_unavailable(&d), 0);
    }

    #[test]
    fn condition_keeps_transition_time_for_same_status() {
        let mut c = Vec::new();
        set_condition(
            &mut c,
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            "m",
            "t1",
            false,
        );
        set_condition(
            &mut c,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            "m2",
            "t2",
            true,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0]["lastTransitionTime"], "t1");
        assert_eq!(c[0]["lastUpdateTime"], "t2");
        set_condition(
            &mut c,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            "m3",
            "t3",
            false,
        );
        assert_eq!(c[0]["message"], "m2");
    }
}
