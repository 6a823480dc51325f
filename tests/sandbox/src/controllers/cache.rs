//! The controllers' shared view of the cluster, fed by the store's event stream and by the
//! controllers' own writes (so a controller never acts twice on the same gap: what it just
//! created is counted before the watch event for it arrives, as client-go's expectations
//! achieve for the real ReplicaSet controller).
//!
//! Indexes keep every reaction proportional to what changed: pods by owner uid and by label,
//! objects by uid.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::time::Instant;

use super::meta::{self, Key};
use crate::resources::{self, ResourceType};
use crate::selector::{LabelSelector, Requirement};

type Ref = (&'static str, Key);

#[derive(Default)]
struct Inner {
    objs: HashMap<&'static str, BTreeMap<Key, Arc<Value>>>,
    /// resourceVersion at which a key was deleted: older events for it are stale.
    tombstones: HashMap<Ref, u64>,
    by_uid: HashMap<String, Ref>,
    by_owner: HashMap<String, HashSet<Ref>>,
    /// (namespace, label key, label value) → pod names
    pod_labels: HashMap<(String, String, String), HashSet<String>>,
    /// When a pod was first seen Ready, for minReadySeconds in cluster time.
    ready_since: HashMap<String, Instant>,
    /// Events at or below this resourceVersion predate the last full resync.
    floor: u64,
    /// Pods and ReplicaSets without a controller, by namespace (candidates for adoption).
    orphans: HashMap<(&'static str, String), HashSet<String>>,
    /// (namespace, key, value) of a Service selector's pairs → Service names.
    service_selectors: HashMap<(String, String, String), HashSet<String>>,
}

pub(crate) enum Applied {
    /// Older than what the cache holds.
    Stale,
    /// The cache already held this version (a controller's own write).
    Same,
    /// Applied; the previous version, if any.
    Changed(Option<Arc<Value>>),
}

#[derive(Default)]
pub(crate) struct Cache {
    inner: Mutex<Inner>,
}

impl Cache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn floor(&self) -> u64 {
        self.lock().floor
    }

    /// Records a version of an object from the store's event stream (`deleted`: its last
    /// state, now gone).
    pub(crate) fn apply(
        &self,
        rt: &'static ResourceType,
        obj: Arc<Value>,
        deleted: bool,
    ) -> Applied {
        let mut inner = self.lock();
        inner.apply(rt.plural, obj, deleted, true)
    }

    /// Records the result of a controller's own write, ahead of its event.
    pub(crate) fn remember(&self, rt: &'static ResourceType, obj: Arc<Value>, deleted: bool) {
        let mut inner = self.lock();
        inner.apply(rt.plural, obj, deleted, false);
    }

    /// After the event with resourceVersion `rv` was applied: tombstones at or below it can
    /// no longer be contradicted by an older event.
    pub(crate) fn advance(&self, rv: u64) {
        let mut inner = self.lock();
        if inner.tombstones.len() > 256 {
            inner.tombstones.retain(|_, t| *t > rv);
        }
    }

    /// Replaces everything with a fresh listing taken at `rv` (after a lagged watch).
    pub(crate) fn reset(&self, lists: Vec<(&'static ResourceType, Vec<Arc<Value>>)>, rv: u64) {
        let mut inner = self.lock();
        let old = std::mem::take(&mut *inner);
        inner.floor = rv;
        for (rt, items) in lists {
            for o in items {
                inner.apply(rt.plural, o, false, true);
            }
        }
        // Keep what controllers wrote after the listing.
        for (plural, map) in old.objs {
            for (_, o) in map {
                if meta::resource_version(&o) > rv {
                    inner.apply(plural, o, false, true);
                }
            }
        }
        for (uid, t) in old.ready_since {
            if inner.by_uid.contains_key(&uid) {
                inner.ready_since.insert(uid, t);
            }
        }
    }

    pub(crate) fn get(&self, rt: &ResourceType, key: &Key) -> Option<Arc<Value>> {
        self.lock().objs.get(rt.plural)?.get(key).cloned()
    }

    /// Every object of `rt`, or those of one namespace.
    pub(crate) fn list(&self, rt: &ResourceType, ns: Option<&str>) -> Vec<Arc<Value>> {
        let inner = self.lock();
        let Some(map) = inner.objs.get(rt.plural) else {
            return Vec::new();
        };
        match ns {
            Some(ns) => map
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => map.values().cloned().collect(),
        }
    }

    pub(crate) fn keys(&self, rt: &ResourceType) -> Vec<Key> {
        let inner = self.lock();
        inner
            .objs
            .get(rt.plural)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Keys of the objects of `rt` in one namespace.
    pub(crate) fn keys_in(&self, rt: &ResourceType, ns: &str) -> Vec<Key> {
        let inner = self.lock();
        let Some(map) = inner.objs.get(rt.plural) else {
            return Vec::new();
        };
        map.range((ns.to_string(), String::new())..)
            .take_while(|((n, _), _)| n == ns)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The object with this uid, and its type's plural name.
    pub(crate) fn by_uid(&self, uid: &str) -> Option<(&'static str, Arc<Value>)> {
        let inner = self.lock();
        let (plural, key) = inner.by_uid.get(uid)?;
        let o = inner.objs.get(plural)?.get(key)?.clone();
        Some((plural, o))
    }

    /// Objects with an owner reference (controller or not) to `owner_uid`.
    pub(crate) fn dependents(&self, owner_uid: &str) -> Vec<(&'static ResourceType, Arc<Value>)> {
        let inner = self.lock();
        let Some(refs) = inner.by_owner.get(owner_uid) else {
            return Vec::new();
        };
        refs.iter()
            .filter_map(|(plural, key)| {
                let o = inner.objs.get(plural)?.get(key)?.clone();
                Some((rt_of(plural)?, o))
            })
            .collect()
    }

    /// Objects of `rt` controlled by `owner_uid`.
    pub(crate) fn controlled(&self, rt: &ResourceType, owner_uid: &str) -> Vec<Arc<Value>> {
        let inner = self.lock();
        let Some(refs) = inner.by_owner.get(owner_uid) else {
            return Vec::new();
        };
        let Some(map) = inner.objs.get(rt.plural) else {
            return Vec::new();
        };
        refs.iter()
            .filter(|(plural, _)| *plural == rt.plural)
            .filter_map(|(_, key)| map.get(key))
            .filter(|o| meta::controlled_by(o, owner_uid))
            .cloned()
            .collect()
    }

    /// Owner uids that dependents point at but that are not (or no longer) in the cache.
    pub(crate) fn dangling_owners(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .by_owner
            .keys()
            .filter(|u| !inner.by_uid.contains_key(*u))
            .cloned()
            .collect()
    }

    /// Pods of `ns` whose labels match `sel`, using the label index when the selector has an
    /// equality requirement.
    pub(crate) fn pods_matching(&self, ns: &str, sel: &LabelSelector) -> Vec<Arc<Value>> {
        let inner = self.lock();
        let Some(pods) = inner.objs.get(resources::PODS.plural) else {
            return Vec::new();
        };
        let eq = sel.requirements.iter().find_map(|r| match r {
            Requirement::Equals(k, v) => Some((k, v)),
            _ => None,
        });
        match eq {
            Some((k, v)) => {
                let Some(names) = inner
                    .pod_labels
                    .get(&(ns.to_string(), k.clone(), v.clone()))
                else {
                    return Vec::new();
                };
                let mut out: Vec<Arc<Value>> = names
                    .iter()
                    .filter_map(|n| pods.get(&(ns.to_string(), n.clone())))
                    .filter(|p| sel.matches(&p["metadata"]["labels"]))
                    .cloned()
                    .collect();
                out.sort_by(|a, b| meta::name(a).cmp(meta::name(b)));
                out
            }
            None => pods
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .filter(|(_, p)| sel.matches(&p["metadata"]["labels"]))
                .map(|(_, p)| p.clone())
                .collect(),
        }
    }

    /// Pods or ReplicaSets of `ns` without a controller owner reference.
    pub(crate) fn orphans(&self, rt: &ResourceType, ns: &str) -> Vec<Arc<Value>> {
        let inner = self.lock();
        let Some(names) = inner.orphans.get(&(rt.plural, ns.to_string())) else {
            return Vec::new();
        };
        let Some(map) = inner.objs.get(rt.plural) else {
            return Vec::new();
        };
        names
            .iter()
            .filter_map(|n| map.get(&(ns.to_string(), n.clone())).cloned())
            .collect()
    }

    /// Services of `ns` whose selector has one of these label pairs (to be checked fully).
    pub(crate) fn services_selecting(&self, ns: &str, labels: &[&Value]) -> Vec<Arc<Value>> {
        let inner = self.lock();
        let Some(map) = inner.objs.get(resources::SERVICES.plural) else {
            return Vec::new();
        };
        let mut names: HashSet<&String> = HashSet::new();
        for l in labels {
            if let Some(l) = l.as_object() {
                for (k, v) in l {
                    if let Some(v) = v.as_str()
                        && let Some(set) =
                            inner
                                .service_selectors
                                .get(&(ns.to_string(), k.clone(), v.to_string()))
                    {
                        names.extend(set.iter());
                    }
                }
            }
        }
        names
            .into_iter()
            .filter_map(|n| map.get(&(ns.to_string(), n.clone())).cloned())
            .collect()
    }

    /// When the pod (by uid) was first seen Ready; `None` if it is not Ready.
    pub(crate) fn ready_since(&self, pod_uid: &str) -> Option<Instant> {
        self.lock().ready_since.get(pod_uid).copied()
    }
}

impl Inner {
    fn apply(
        &mut self,
        plural: &'static str,
        obj: Arc<Value>,
        deleted: bool,
        from_event: bool,
    ) -> Applied {
        let key = meta::key(&obj);
        let rv = meta::resource_version(&obj);
        let map = self.objs.entry(plural).or_default();
        if let Some(cur) = map.get(&key) {
            let cur_rv = meta::resource_version(cur);
            if cur_rv > rv {
                return Applied::Stale;
            }
            if cur_rv == rv && !deleted {
                // The same version: keep the store's copy (the event's), share its memory.
                if from_event {
                    map.insert(key, obj);
                }
                return Applied::Same;
            }
        } else if let Some(t) = self.tombstones.get(&(plural, key.clone())) {
            // A controller's own delete, now arriving as an event: handlers still need it.
            if *t == rv && deleted {
                return Applied::Same;
            }
            if *t >= rv {
                return Applied::Stale;
            }
        }
        let prev = if deleted {
            map.remove(&key)
        } else {
            map.insert(key.clone(), obj.clone())
        };
        if let Some(p) = &prev {
            self.unindex(plural, &key, p);
        }
        if deleted {
            self.ready_since.remove(meta::uid(&obj));
            self.tombstones.insert((plural, key), rv);
        } else {
            self.index(plural, &key, &obj);
        }
        Applied::Changed(prev)
    }

    fn index(&mut self, plural: &'static str, key: &Key, o: &Value) {
        for idx in self.index_keys(plural, key, o) {
            set_insert(&mut self.orphans, &mut self.service_selectors, idx, &key.1);
        }
        let uid = meta::uid(o);
        if !uid.is_empty() {
            self.by_uid.insert(uid.to_string(), (plural, key.clone()));
        }
        for r in meta::owner_refs(o) {
            if let Some(owner) = r["uid"].as_str() {
                self.by_owner
                    .entry(owner.to_string())
                    .or_default()
                    .insert((plural, key.clone()));
            }
        }
        if plural == resources::PODS.plural {
            if let Some(labels) = o["metadata"]["labels"].as_object() {
                for (k, v) in labels {
                    if let Some(v) = v.as_str() {
                        self.pod_labels
                            .entry((key.0.clone(), k.clone(), v.to_string()))
                            .or_default()
                            .insert(key.1.clone());
                    }
                }
            }
            if meta::pod_ready(o) {
                self.ready_since
                    .entry(uid.to_string())
                    .or_insert_with(Instant::now);
            } else {
                self.ready_since.remove(uid);
            }
        }
    }

    fn unindex(&mut self, plural: &'static str, key: &Key, o: &Value) {
        for idx in self.index_keys(plural, key, o) {
            set_remove(&mut self.orphans, &mut self.service_selectors, idx, &key.1);
        }
        let uid = meta::uid(o);
        if self
            .by_uid
            .get(uid)
            .is_some_and(|(p, k)| *p == plural && k == key)
        {
            self.by_uid.remove(uid);
        }
        for r in meta::owner_refs(o) {
            if let Some(owner) = r["uid"].as_str()
                && let Some(set) = self.by_owner.get_mut(owner)
            {
                set.remove(&(plural, key.clone()));
                if set.is_empty() {
                    self.by_owner.remove(owner);
                }
            }
        }
        if plural == resources::PODS.plural
            && let Some(labels) = o["metadata"]["labels"].as_object()
        {
            for (k, v) in labels {
                if let Some(v) = v.as_str() {
                    let idx = (key.0.clone(), k.clone(), v.to_string());
                    if let Some(set) = self.pod_labels.get_mut(&idx) {
                        set.remove(&key.1);
                        if set.is_empty() {
                            self.pod_labels.remove(&idx);
                        }
                    }
                }
            }
        }
    }
}

/// Which secondary index an entry goes to.
enum Idx {
    Orphan((&'static str, String)),
    Selector((String, String, String)),
}

impl Inner {
    /// The orphan and Service-selector index entries of an object.
    fn index_keys(&self, plural: &'static str, key: &Key, o: &Value) -> Vec<Idx> {
        let mut out = Vec::new();
        if (plural == resources::PODS.plural || plural == resources::REPLICASETS.plural)
            && meta::controller_ref(o).is_none()
        {
            out.push(Idx::Orphan((plural, key.0.clone())));
        }
        if plural == resources::SERVICES.plural
            && let Some(sel) = o["spec"]["selector"].as_object()
        {
            for (k, v) in sel {
                if let Some(v) = v.as_str() {
                    out.push(Idx::Selector((key.0.clone(), k.clone(), v.to_string())));
                }
            }
        }
        out
    }
}

type OrphanIdx = HashMap<(&'static str, String), HashSet<String>>;
type SelectorIdx = HashMap<(String, String, String), HashSet<String>>;

fn set_insert(orphans: &mut OrphanIdx, selectors: &mut SelectorIdx, idx: Idx, name: &str) {
    match idx {
        Idx::Orphan(k) => {
            orphans.entry(k).or_default().insert(name.to_string());
        }
        Idx::Selector(k) => {
            selectors.entry(k).or_default().insert(name.to_string());
        }
    }
}

fn set_remove(orphans: &mut OrphanIdx, selectors: &mut SelectorIdx, idx: Idx, name: &str) {
    match idx {
        Idx::Orphan(k) => {
            if let Some(set) = orphans.get_mut(&k) {
                set.remove(name);
                if set.is_empty() {
                    orphans.remove(&k);
                }
            }
        }
        Idx::Selector(k) => {
            if let Some(set) = selectors.get_mut(&k) {
                set.remove(name);
                if set.is_empty() {
                    selectors.remove(&k);
                }
            }
        }
    }
}

pub(crate) fn rt_of(plural: &str) -> Option<&'static ResourceType> {
    resources::ALL.iter().copied().find(|r| r.plural == plural)
}
