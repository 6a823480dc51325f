//! The object store: every object of every served resource, one cluster-wide strictly
//! increasing resourceVersion, the event history watches resume from, and the create /
//! update / delete semantics of kube-apiserver's generic registry.
//!
//! Objects are kept as JSON values, exactly as they are served. The HTTP layer and the
//! controllers both go through this type, so they see the same rules.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::error::{ApiError, ApiResult};
use crate::resources::{self, ResourceType};
use crate::selector::{LabelSelector, Requirement};
use crate::validate;

/// ADDED / MODIFIED / DELETED, as watch events name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object. `object` is the object after the change (for DELETED, the
/// last state, carrying the resourceVersion of the deletion).
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub kind: EventType,
    pub resource: &'static ResourceType,
    pub object: Arc<Value>,
    /// The object before the change (`None` for ADDED). Watches with a selector need it to
    /// turn a change that moves an object out of (or into) the selection into DELETED
    /// (or ADDED), as the real watch cache does.
    pub old: Option<Arc<Value>>,
}

impl Event {
    pub fn namespace(&self) -> &str {
        self.object["metadata"]["namespace"].as_str().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or("")
    }
}

/// Options of a create.
#[derive(Debug, Clone, Copy, Default)]
pub struct CreateOpts {
    /// `dryRun=All`: validate and answer, do not store.
    pub dry_run: bool,
    /// Keep `.status` as given (controllers and scenario loading). The API clears it, as the
    /// real registry does for resources with a status subresource.
    pub keep_status: bool,
}

/// Which part of an object an update may change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UpdateScope {
    /// The main resource: everything but `.status` (when the type has a status subresource).
    #[default]
    Main,
    /// The `status` subresource: only `.status`.
    Status,
    /// Everything (controllers that own both, scenario loading).
    All,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateOpts {
    pub dry_run: bool,
    pub scope: UpdateScope,
}

/// `propagationPolicy` of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Delete now; the garbage collector deletes dependents afterwards.
    #[default]
    Background,
    /// Keep the owner (with the `foregroundDeletion` finalizer) until its dependents are gone.
    Foreground,
    /// Delete the owner, strip the owner reference from the dependents.
    Orphan,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    pub dry_run: bool,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `gracePeriodSeconds`; for pods `None` means the pod's own
    /// `terminationGracePeriodSeconds` (30 when unset).
    pub grace_period_seconds: Option<i64>,
    pub propagation: Option<Propagation>,
}

type ObjKey = (String, String);

/// Which page [`Store::list_page`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageOpts<'a> {
    /// The `(namespace, name)` key the page follows (from the continue token).
    pub after: Option<(&'a str, &'a str)>,
    /// At most this many objects; 0: no limit.
    pub limit: usize,
    /// Also count the matching objects after the page (for `remainingItemCount`).
    pub count_rest: bool,
}

/// One page of a list: see [`Store::list_page`].
#[derive(Debug, Clone)]
pub struct ListPage {
    /// The page's objects, in `(namespace, name)` order.
    pub items: Vec<Arc<Value>>,
    /// Whether more matching objects follow the page.
    pub more: bool,
    /// How many matching objects follow the page (counted only when asked; else 0 or 1).
    pub remaining: usize,
    /// The store's resourceVersion when the page was read.
    pub rv: u64,
}

/// The backlog of a watch and the receiver of what follows it.
pub type WatchStart = (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>);

/// [`WatchStart`] and the resourceVersion the backlog brings a watcher up to.
pub type WatchFrom = (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>, u64);

struct Inner {
    rv: u64,
    objects: HashMap<&'static str, BTreeMap<ObjKey, Arc<Value>>>,
    history: VecDeque<Arc<Event>>,
    history_limit: usize,
    /// Lowest resourceVersion a watch may still resume from.
    compacted: u64,
    /// Per resource: label `(key, value)` -> the objects carrying it. Equality-based label
    /// selectors are answered from here instead of a scan of every object.
    labels: HashMap<&'static str, HashMap<(String, String), BTreeSet<ObjKey>>>,
}

impl Inner {
    /// Stores (or replaces) an object and keeps the label index up to date.
    fn put(&mut self, rt: &ResourceType, key: ObjKey, obj: Arc<Value>) {
        let old = self
            .objects
            .entry(rt.plural)
            .or_default()
            .insert(key.clone(), obj.clone());
        let index = self.labels.entry(rt.plural).or_default();
        if let Some(old) = old {
            if old["metadata"]["labels"] == obj["metadata"]["labels"] {
                return;
            }
            unindex(index, &key, &old);
        }
        for (k, v) in label_pairs(&obj) {
            index
                .entry((k.to_string(), v.to_string()))
                .or_default()
                .insert(key.clone());
        }
    }

    /// Removes an object and its label index entries.
    fn take(&mut self, rt: &ResourceType, key: &ObjKey) {
        let old = self.objects.get_mut(rt.plural).and_then(|m| m.remove(key));
        if let (Some(old), Some(index)) = (old, self.labels.get_mut(rt.plural)) {
            unindex(index, key, &old);
        }
    }
}

/// The label index's candidates for `selector`: the sets of the indexable requirement
/// (`k=v`, `k in (...)`) with the fewest objects; `None` if no requirement is indexable.
fn index_sets<'a>(
    inner: &'a Inner,
    rt: &ResourceType,
    selector: &LabelSelector,
) -> Option<Vec<&'a BTreeSet<ObjKey>>> {
    let index = inner.labels.get(rt.plural);
    let mut best: Option<Vec<&BTreeSet<ObjKey>>> = None;
    let size = |sets: &Vec<&BTreeSet<ObjKey>>| sets.iter().map(|s| s.len()).sum::<usize>();
    for req in &selector.requirements {
        let (k, values): (&String, Vec<&String>) = match req {
            Requirement::Equals(k, v) => (k, vec![v]),
            Requirement::In(k, vs) => (k, vs.iter().collect()),
            _ => continue,
        };
        let sets: Vec<&BTreeSet<ObjKey>> = values
            .into_iter()
            .filter_map(|v| index?.get(&(k.clone(), v.clone())))
            .collect();
        if best.as_ref().is_none_or(|b| size(&sets) < size(b)) {
            best = Some(sets);
        }
    }
    best
}

/// Keys of several ordered sets, merged in order without duplicates.
struct MergedKeys<'a, I: Iterator<Item = &'a ObjKey>> {
    sources: Vec<std::iter::Peekable<I>>,
    last: Option<&'a ObjKey>,
}

impl<'a, I: Iterator<Item = &'a ObjKey>> MergedKeys<'a, I> {
    fn new(sources: Vec<I>) -> Self {
        MergedKeys {
            sources: sources.into_iter().map(Iterator::peekable).collect(),
            last: None,
        }
    }
}

impl<'a, I: Iterator<Item = &'a ObjKey>> Iterator for MergedKeys<'a, I> {
    type Item = &'a ObjKey;

    fn next(&mut self) -> Option<&'a ObjKey> {
        loop {
            let mut smallest: Option<(usize, &'a ObjKey)> = None;
            for (i, source) in self.sources.iter_mut().enumerate() {
                if let Some(&key) = source.peek()
                    && smallest.is_none_or(|(_, s)| key < s)
                {
                    smallest = Some((i, key));
                }
            }
            let (i, key) = smallest?;
            self.sources[i].next();
            if self.last != Some(key) {
                self.last = Some(key);
                return Some(key);
            }
        }
    }
}

fn label_pairs(obj: &Value) -> impl Iterator<Item = (&str, &str)> {
    obj["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
}

fn unindex(index: &mut HashMap<(String, String), BTreeSet<ObjKey>>, key: &ObjKey, obj: &Value) {
    for (k, v) in label_pairs(obj) {
        let pair = (k.to_string(), v.to_string());
        if let Some(set) = index.get_mut(&pair) {
            set.remove(key);
            if set.is_empty() {
                index.remove(&pair);
            }
        }
    }
}

/// The store. Cheap to share (`Arc<Store>`).
pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Event>>,
}

/// Broadcast capacity: a receiver that falls further behind than this is dropped (its watch
/// ends and the client re-lists, as when a real server closes a slow watch).
const CHANNEL_CAPACITY: usize = 1 << 17;

impl Store {
    /// A store remembering the last `history_limit` events for watch resumption.
    pub fn new(history_limit: usize) -> Arc<Store> {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        Arc::new(Store {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: HashMap::new(),
                history: VecDeque::new(),
                history_limit: history_limit.max(1),
                compacted: 1,
                labels: HashMap::new(),
            }),
            tx,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock is a sandbox bug; the data is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newest resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// The lowest resourceVersion a watch (or a list continuation) may still start from.
    pub fn compacted_rv(&self) -> u64 {
        self.lock().compacted
    }

    /// Forgets the event history: watches from any earlier resourceVersion get 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.compacted = inner.rv;
    }

    /// A receiver of every future event of every resource (controllers use this).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let inner = self.lock();
        inner
            .objects
            .get(rt.plural)?
            .get(&(ns_of(rt, namespace), name.to_string()))
            .cloned()
    }

    /// Objects of `rt` (in `namespace`, or in all namespaces) that `filter` accepts, sorted by
    /// namespace and name, and the resourceVersion of the list.
    pub fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        filter: impl Fn(&Value) -> bool,
    ) -> (Vec<Arc<Value>>, u64) {
        let inner = self.lock();
        let items = match inner.objects.get(rt.plural) {
            None => Vec::new(),
            Some(map) => match namespace {
                Some(ns) if rt.namespaced => map
                    .range((ns.to_string(), String::new())..)
                    .take_while(|((n, _), _)| n == ns)
                    .filter(|(_, v)| filter(v))
                    .map(|(_, v)| v.clone())
                    .collect(),
                _ => map.values().filter(|v| filter(v)).cloned().collect(),
            },
        };
        (items, inner.rv)
    }

    /// [`Store::list`] of the objects `selector` selects (and `filter` accepts). An
    /// equality requirement (`k=v`, or `k in (...)`) is answered from the label index, so
    /// the cost follows the number of matching objects, not the number stored.
    pub fn list_selected(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        selector: &LabelSelector,
        filter: impl Fn(&Value) -> bool,
    ) -> (Vec<Arc<Value>>, u64) {
        let inner = self.lock();
        let Some(map) = inner.objects.get(rt.plural) else {
            return (Vec::new(), inner.rv);
        };
        let Some(sets) = index_sets(&inner, rt, selector) else {
            drop(inner);
            return self.list(rt, namespace, |o| selector.matches_object(o) && filter(o));
        };
        let ns = match namespace {
            Some(ns) if rt.namespaced => Some(ns),
            _ => None,
        };
        let mut keys: Vec<&ObjKey> = sets
            .into_iter()
            .flat_map(|set| match ns {
                Some(ns) => {
                    let from = (ns.to_string(), String::new());
                    Box::new(set.range(from..).take_while(move |(n, _)| n == ns))
                        as Box<dyn Iterator<Item = &ObjKey>>
                }
                None => Box::new(set.iter()),
            })
            .collect();
        keys.sort();
        keys.dedup();
        let items = keys
            .into_iter()
            .filter_map(|k| map.get(k))
            .filter(|o| selector.matches_object(o) && filter(o))
            .cloned()
            .collect();
        (items, inner.rv)
    }

    /// One page of [`Store::list_selected`]: at most `opts.limit` objects (0: no limit) that
    /// come after the `(namespace, name)` key `opts.after`, in the same order. Like a real API server
    /// serving a page from its watch cache, it starts at the continue key in the ordered store
    /// (or in the label index) and stops one object past the page, so a page costs what it
    /// returns, not what the whole list holds.
    pub fn list_page(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        selector: &LabelSelector,
        filter: impl Fn(&Value) -> bool,
        opts: PageOpts<'_>,
    ) -> ListPage {
        let PageOpts {
            after,
            limit,
            count_rest,
        } = opts;
        let inner = self.lock();
        let mut page = ListPage {
            items: Vec::new(),
            more: false,
            remaining: 0,
            rv: inner.rv,
        };
        let Some(map) = inner.objects.get(rt.plural) else {
            return page;
        };
        let ns = match namespace {
            Some(ns) if rt.namespaced => Some(ns),
            _ => None,
        };
        let after: Option<ObjKey> = after.map(|(n, name)| (n.to_string(), name.to_string()));
        let start = match (&after, ns) {
            (Some(key), Some(ns)) if key.0.as_str() >= ns => Bound::Excluded(key.clone()),
            (Some(key), None) => Bound::Excluded(key.clone()),
            (_, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let range = (start, Bound::Unbounded);
        let in_namespace = move |key: &&ObjKey| ns.is_none_or(|ns| key.0 == ns);
        let keys: Box<dyn Iterator<Item = &ObjKey>> = match index_sets(&inner, rt, selector) {
            None => Box::new(map.range(range).map(|(k, _)| k).take_while(in_namespace)),
            Some(sets) => Box::new(MergedKeys::new(
                sets.into_iter()
                    .map(|set| set.range(range.clone()).take_while(in_namespace))
                    .collect(),
            )),
        };
        let mut matching = keys
            .filter_map(|k| map.get(k))
            .filter(|o| selector.matches_object(o) && filter(o));
        for object in matching.by_ref() {
            if limit > 0 && page.items.len() == limit {
                page.more = true;
                page.remaining = 1;
                break;
            }
            page.items.push(object.clone());
        }
        if page.more && count_rest {
            page.remaining += matching.count();
        }
        page
    }

    /// Creates an object. Fills in name (from generateName), namespace, uid,
    /// creationTimestamp, resourceVersion and generation.
    pub fn create(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        obj: Value,
        opts: CreateOpts,
    ) -> ApiResult<Value> {
        self.create_shared(rt, namespace, obj, opts)
            .map(Arc::unwrap_or_clone)
    }

    /// [`Store::create`], answering with the stored object itself (no copy).
    pub fn create_shared(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        mut obj: Value,
        opts: CreateOpts,
    ) -> ApiResult<Arc<Value>> {
        if !obj.is_object() {
            return Err(ApiError::bad_request("the object is not a JSON object"));
        }
        let ns = ns_of(rt, namespace);
        let mut inner = self.lock();
        if rt.namespaced {
            if let Some(body_ns) = obj["metadata"]["namespace"].as_str()
                && !body_ns.is_empty()
                && body_ns != ns
            {
                return Err(ApiError::bad_request(format!(
                    "the namespace of the provided object does not match the namespace sent on the request ({body_ns} vs {ns})"
                )));
            }
            let ns_exists = inner
                .objects
                .get(resources::NAMESPACES.plural)
                .is_some_and(|m| m.contains_key(&(String::new(), ns.clone())));
            if !ns_exists {
                return Err(ApiError::not_found("", "namespaces", &ns));
            }
        }
        if obj.get("metadata").is_none_or(|m| !m.is_object()) {
            obj["metadata"] = json!({});
        }
        let meta = &mut obj["metadata"];
        let mut name = meta["name"].as_str().unwrap_or("").to_string();
        if name.is_empty() {
            let Some(prefix) = meta["generateName"].as_str().filter(|p| !p.is_empty()) else {
                return Err(ApiError::invalid(
                    rt.group,
                    rt.kind,
                    "",
                    vec![(
                        "metadata.name".into(),
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            };
            // As the API server's name generator: the prefix is cut to 58 characters so that
            // the generated name (prefix + 5 random characters) fits in 63.
            let prefix = match prefix.char_indices().nth(58) {
                Some((cut, _)) => &prefix[..cut],
                None => prefix,
            };
            loop {
                let candidate = format!("{prefix}{}", random_suffix(5));
                let taken = inner
                    .objects
                    .get(rt.plural)
                    .is_some_and(|m| m.contains_key(&(ns.clone(), candidate.clone())));
                if !taken {
                    name = candidate;
                    break;
                }
            }
        }
        meta["name"] = json!(name);
        if rt.namespaced {
            meta["namespace"] = json!(ns);
        } else if let Some(m) = meta.as_object_mut() {
            m.remove("namespace");
        }
        if let Some(m) = meta.as_object_mut() {
            m.remove("resourceVersion");
            m.remove("deletionTimestamp");
            m.remove("deletionGracePeriodSeconds");
        }
        meta["uid"] = json!(new_uid());
        meta["creationTimestamp"] = json!(now_rfc3339());
        if rt.has_generation {
            meta["generation"] = json!(1);
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        if !opts.keep_status
            && rt.has_subresource("status")
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
        if std::ptr::eq(rt, &resources::SERVICES) {
            allocate_service_addresses(&inner, &mut obj);
        }
        validate::object(rt, &mut obj, None)?;

        let key = (ns.clone(), name.clone());
        if inner
            .objects
            .get(rt.plural)
            .is_some_and(|m| m.contains_key(&key))
        {
            return Err(ApiError::already_exists(rt.group, rt.plural, &name));
        }
        if opts.dry_run {
            return Ok(Arc::new(obj));
        }
        let rv = inner.rv + 1;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let obj = Arc::new(obj);
        inner.put(rt, key, obj.clone());
        self.record(&mut inner, rt, EventType::Added, obj.clone(), None);
        Ok(obj)
    }

    /// Replaces an object (PUT). A non-empty `metadata.resourceVersion` in `obj` must equal
    /// the stored one, or the update fails with 409 Conflict.
    pub fn update(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
        obj: Value,
        opts: UpdateOpts,
    ) -> ApiResult<Value> {
        self.update_with(rt, namespace, name, opts, |_| Ok(obj))
    }

    /// Read-modify-write under the store's lock: `f` gets the stored object and returns the
    /// new one. The same rules as [`Store::update`] apply to the result (resourceVersion
    /// precondition if `f` leaves one that differs, scope, generation, no-op detection).
    pub fn update_with(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
        opts: UpdateOpts,
        f: impl FnOnce(&Value) -> ApiResult<Value>,
    ) -> ApiResult<Value> {
        let ns = ns_of(rt, namespace);
        let key = (ns.clone(), name.to_string());
        let mut inner = self.lock();
        let old = inner
            .objects
            .get(rt.plural)
            .and_then(|m| m.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, name))?;
        let mut new = f(&old)?;
        if !new.is_object() {
            return Err(ApiError::bad_request("the object is not a JSON object"));
        }
        if let Some(body_name) = new["metadata"]["name"].as_str()
            && !body_name.is_empty()
            && body_name != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let old_rv = old["metadata"]["resourceVersion"].as_str().unwrap_or("");
        if let Some(rv) = new["metadata"]["resourceVersion"].as_str()
            && !rv.is_empty()
            && rv != old_rv
        {
            return Err(ApiError::stale(rt.group, rt.plural, name));
        }
        if let Some(uid) = new["metadata"]["uid"].as_str()
            && !uid.is_empty()
            && Some(uid) != old["metadata"]["uid"].as_str()
        {
            return Err(ApiError::conflict(
                rt.group,
                rt.plural,
                name,
                "Precondition failed: UID in precondition does not match the UID of the object",
            ));
        }

        // Scope: which parts of the new object are taken.
        let has_status = rt.has_subresource("status");
        match opts.scope {
            UpdateScope::Main if has_status => {
                set_or_remove(&mut new, "status", old.get("status").cloned());
            }
            UpdateScope::Status => {
                let status = new.get("status").cloned();
                let mut merged = (*old).clone();
                set_or_remove(&mut merged, "status", status);
                // Labels and annotations may change through status too; everything else not.
                new = merged;
            }
            _ => {}
        }

        // System-owned metadata stays as it was.
        {
            let meta = &mut new["metadata"];
            if !meta.is_object() {
                *meta = json!({});
            }
            for field in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                match old["metadata"].get(field) {
                    Some(v) => meta[field] = v.clone(),
                    None => {
                        if let Some(m) = meta.as_object_mut() {
                            m.remove(field);
                        }
                    }
                }
            }
            meta["resourceVersion"] = json!(old_rv);
        }
        new["apiVersion"] = json!(rt.api_version());
        new["kind"] = json!(rt.kind);
        if rt.has_generation && new.get("spec") != old.get("spec") {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            new["metadata"]["generation"] = json!(generation);
        }
        validate::object(rt, &mut new, Some(&old))?;

        // An update that removes the last finalizer of an object being deleted deletes it.
        let finishes_deletion = new["metadata"].get("deletionTimestamp").is_some()
            && finalizers(&new).is_empty()
            && !(rt.plural == resources::PODS.plural && opts.scope != UpdateScope::All);

        if new == *old {
            return Ok(new);
        }
        if opts.dry_run {
            return Ok(new);
        }
        let rv = inner.rv + 1;
        new["metadata"]["resourceVersion"] = json!(rv.to_string());
        let new = Arc::new(new);
        if finishes_deletion && rt.plural != resources::PODS.plural {
            inner.take(rt, &key);
            self.record(
                &mut inner,
                rt,
                EventType::Deleted,
                new.clone(),
                Some(old.clone()),
            );
        } else {
            inner.put(rt, key, new.clone());
            self.record(
                &mut inner,
                rt,
                EventType::Modified,
                new.clone(),
                Some(old.clone()),
            );
        }
        Ok((*new).clone())
    }

    /// Deletes an object. Returns the object as it is after the call: gone (its last state)
    /// or, for a pod with a grace period or an object with finalizers, marked with
    /// `deletionTimestamp`. The second value tells which (`true` = removed now).
    pub fn delete(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
        opts: &DeleteOpts,
    ) -> ApiResult<(Value, bool)> {
        let ns = ns_of(rt, namespace);
        let key = (ns.clone(), name.to_string());
        let mut inner = self.lock();
        let old = inner
            .objects
            .get(rt.plural)
            .and_then(|m| m.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, name))?;
        if let Some(uid) = &opts.uid
            && Some(uid.as_str()) != old["metadata"]["uid"].as_str()
        {
            // The real server names the kind here, not the resource.
            return Err(ApiError::conflict(
                rt.group,
                rt.kind,
                name,
                &format!(
                    "the UID in the precondition ({uid}) does not match the UID in record ({}). The object might have been deleted and then recreated",
                    old["metadata"]["uid"].as_str().unwrap_or("")
                ),
            ));
        }
        if let Some(rv) = &opts.resource_version
            && Some(rv.as_str()) != old["metadata"]["resourceVersion"].as_str()
        {
            // The real server names the kind here, not the resource.
            return Err(ApiError::conflict(
                rt.group,
                rt.kind,
                name,
                &format!(
                    "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). The object might have been modified",
                    old["metadata"]["resourceVersion"].as_str().unwrap_or("")
                ),
            ));
        }

        let mut obj = (*old).clone();
        let mut fins = finalizers(&obj);
        match opts.propagation {
            Some(Propagation::Foreground) if !fins.iter().any(|f| f == "foregroundDeletion") => {
                fins.push("foregroundDeletion".into())
            }
            Some(Propagation::Orphan) if !fins.iter().any(|f| f == "orphan") => {
                fins.push("orphan".into())
            }
            _ => {}
        }
        let grace = if rt.plural == resources::PODS.plural {
            let default = obj["spec"]["terminationGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(30);
            let g = opts.grace_period_seconds.unwrap_or(default).max(0);
            // A pod never scheduled to a node goes at once, as on a real cluster.
            if obj["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
                0
            } else {
                g
            }
        } else {
            0
        };
        let already_deleting = obj["metadata"].get("deletionTimestamp").is_some();

        let remove_now = fins.is_empty() && (grace == 0);
        if opts.dry_run {
            return Ok((obj, remove_now));
        }
        let rv = inner.rv + 1;
        if remove_now {
            obj["metadata"]["resourceVersion"] = json!(rv.to_string());
            if !already_deleting {
                obj["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
                obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            }
            let obj = Arc::new(obj);
            inner.take(rt, &key);
            self.record(
                &mut inner,
                rt,
                EventType::Deleted,
                obj.clone(),
                Some(old.clone()),
            );
            return Ok(((*obj).clone(), true));
        }
        if already_deleting {
            // A second delete of an object already going: nothing changes unless the grace
            // period is shortened or a finalizer is added.
            let old_grace = obj["metadata"]["deletionGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(0);
            if grace >= old_grace && fins == finalizers(&old) {
                return Ok((obj, false));
            }
        }
        let deletion_time = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(grace))
            .unwrap_or_else(|_| jiff::Timestamp::now());
        obj["metadata"]["deletionTimestamp"] = json!(rfc3339(deletion_time));
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        if !fins.is_empty() {
            obj["metadata"]["finalizers"] = json!(fins);
        }
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let obj = Arc::new(obj);
        inner.put(rt, key, obj.clone());
        self.record(
            &mut inner,
            rt,
            EventType::Modified,
            obj.clone(),
            Some(old.clone()),
        );
        Ok(((*obj).clone(), false))
    }

    /// Starts deleting a namespace the way the real registry does: `deletionTimestamp` set,
    /// `status.phase` Terminating, the object kept until the namespace controller has removed
    /// its contents. Returns the namespace as it is now; a namespace already terminating is
    /// returned unchanged.
    pub fn begin_namespace_deletion(&self, name: &str, dry_run: bool) -> ApiResult<Value> {
        let rt = &resources::NAMESPACES;
        let key = (String::new(), name.to_string());
        let mut inner = self.lock();
        let old = inner
            .objects
            .get(rt.plural)
            .and_then(|m| m.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, name))?;
        if old["metadata"].get("deletionTimestamp").is_some() || dry_run {
            return Ok((*old).clone());
        }
        let mut obj = (*old).clone();
        obj["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        obj["status"]["phase"] = json!("Terminating");
        obj["metadata"]["resourceVersion"] = json!((inner.rv + 1).to_string());
        let obj = Arc::new(obj);
        inner.put(rt, key, obj.clone());
        self.record(&mut inner, rt, EventType::Modified, obj.clone(), Some(old));
        Ok((*obj).clone())
    }

    /// Events of `rt` (optionally one namespace) after `from_rv`, and a receiver of every
    /// later event (to be filtered by the caller). `None` starts with a synthetic ADDED for
    /// every existing object, as a watch without resourceVersion does. A `from_rv` older than
    /// the kept history is 410 Gone.
    pub fn watch(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        from_rv: Option<u64>,
    ) -> ApiResult<WatchStart> {
        self.watch_at(rt, namespace, from_rv)
            .map(|(backlog, rx, _)| (backlog, rx))
    }

    /// [`Store::watch`], plus the resourceVersion the backlog brings a watcher up to (what
    /// a BOOKMARK may report before any later event arrives).
    pub fn watch_at(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        from_rv: Option<u64>,
    ) -> ApiResult<WatchFrom> {
        let inner = self.lock();
        let rx = self.tx.subscribe();
        let in_scope = |e: &Event| {
            std::ptr::eq(e.resource, rt)
                && match namespace {
                    Some(ns) if rt.namespaced => e.namespace() == ns,
                    _ => true,
                }
        };
        let backlog = match from_rv {
            None | Some(0) => {
                let objs = match inner.objects.get(rt.plural) {
                    None => Vec::new(),
                    Some(map) => map
                        .iter()
                        .filter(|((ns, _), _)| match namespace {
                            Some(want) if rt.namespaced => ns == want,
                            _ => true,
                        })
                        .map(|(_, v)| v.clone())
                        .collect(),
                };
                objs.into_iter()
                    .map(|o| {
                        Arc::new(Event {
                            rv: inner.rv,
                            kind: EventType::Added,
                            resource: rt,
                            object: o,
                            old: None,
                        })
                    })
                    .collect()
            }
            Some(rv) => {
                if rv < inner.compacted {
                    return Err(ApiError::gone(format!(
                        "too old resource version: {rv} ({})",
                        inner.compacted
                    )));
                }
                if rv > inner.rv {
                    // The real server waits for the resourceVersion to appear; in one
                    // store that never lags it cannot be newer than the newest.
                    return Err(ApiError::gone(format!(
                        "too large resource version: {rv}, current: {}",
                        inner.rv
                    )));
                }
                inner
                    .history
                    .iter()
                    .filter(|e| e.rv > rv && in_scope(e))
                    .cloned()
                    .collect()
            }
        };
        Ok((backlog, rx, inner.rv))
    }

    fn record(
        &self,
        inner: &mut Inner,
        rt: &'static ResourceType,
        kind: EventType,
        object: Arc<Value>,
        old: Option<Arc<Value>>,
    ) {
        inner.rv += 1;
        let event = Arc::new(Event {
            rv: inner.rv,
            kind,
            resource: rt,
            object,
            old,
        });
        inner.history.push_back(event.clone());
        while inner.history.len() > inner.history_limit {
            if let Some(e) = inner.history.pop_front() {
                inner.compacted = e.rv;
            }
        }
        // No receiver is fine.
        let _ = self.tx.send(event);
    }
}

/// Gives a new Service a free cluster IP (from 10.96.0.0/16) and free node ports, as the
/// real registry's allocators do. A Service that names its own keeps them.
fn allocate_service_addresses(inner: &Inner, obj: &mut Value) {
    use rand::Rng;
    let svc_type = obj["spec"]["type"]
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    if svc_type == "ExternalName" {
        return;
    }
    let services: Vec<&Arc<Value>> = inner
        .objects
        .get(resources::SERVICES.plural)
        .map(|m| m.values().collect())
        .unwrap_or_default();
    let mut rng = rand::rng();
    if obj["spec"]["clusterIP"].as_str().unwrap_or("").is_empty() {
        let used: std::collections::HashSet<&str> = services
            .iter()
            .filter_map(|s| s["spec"]["clusterIP"].as_str())
            .collect();
        let ip = loop {
            let candidate = format!(
                "10.96.{}.{}",
                rng.random_range(0..=255u8),
                rng.random_range(1..=254u8)
            );
            if !used.contains(candidate.as_str()) {
                break candidate;
            }
        };
        obj["spec"]["clusterIP"] = json!(ip);
        obj["spec"]["clusterIPs"] = json!([ip]);
    }
    if svc_type == "NodePort" || svc_type == "LoadBalancer" {
        let mut used: std::collections::HashSet<i64> = services
            .iter()
            .flat_map(|s| s["spec"]["ports"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["nodePort"].as_i64())
            .collect();
        if let Some(ports) = obj["spec"]["ports"].as_array_mut() {
            for p in ports {
                if p["nodePort"].as_i64().unwrap_or(0) == 0 {
                    let port = loop {
                        let candidate = rng.random_range(30000..=32767i64);
                        if used.insert(candidate) {
                            break candidate;
                        }
                    };
                    p["nodePort"] = json!(port);
                }
            }
        }
    }
}

fn ns_of(rt: &ResourceType, namespace: &str) -> String {
    if rt.namespaced {
        namespace.to_string()
    } else {
        String::new()
    }
}

fn set_or_remove(obj: &mut Value, field: &str, value: Option<Value>) {
    match value {
        Some(v) => obj[field] = v,
        None => {
            if let Some(o) = obj.as_object_mut() {
                o.remove(field);
            }
        }
    }
}

/// `metadata.finalizers` as strings.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The current time as Kubernetes writes timestamps (RFC 3339, whole seconds, UTC).
pub fn now_rfc3339() -> String {
    rfc3339(jiff::Timestamp::now())
}

pub fn rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The alphabet the real apiserver uses for generated names (no vowels, no confusables).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub fn random_suffix(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| NAME_ALPHABET[rng.random_range(0..NAME_ALPHABET.len())] as char)
        .collect()
}

fn new_uid() -> String {
    use rand::Rng;
    let b: [u8; 16] = rand::rng().random();
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:01x}{:02x}-{:01x}{:01x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[0],
        b[1],
        b[2],
        b[3],
        b[4],
        b[5],
        b[6] & 0x0f,
        b[7],
        8 | (b[8] & 0x03),
        b[8] >> 4,
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::PODS;

    fn store_with_pods() -> Arc<Store> {
        let store = Store::new(100);
        for ns in ["a", "b"] {
            let namespace =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            store
                .create(&resources::NAMESPACES, "", namespace, CreateOpts::default())
                .expect("a namespace");
            for i in 0..23 {
                let app = ["blue", "green", "other"][i % 3];
                let pod = json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": format!("p{i:02}"), "labels": {"app": app, "n": i.to_string()}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]},
                });
                store
                    .create(&PODS, ns, pod, CreateOpts::default())
                    .expect("a stored pod");
            }
        }
        store
    }

    fn key(o: &Value) -> (String, String) {
        let m = &o["metadata"];
        (
            m["namespace"].as_str().unwrap_or("").to_string(),
            m["name"].as_str().unwrap_or("").to_string(),
        )
    }

    /// Every page in turn, resumed after the last key of the page before, as a client does.
    fn paged(
        store: &Store,
        namespace: Option<&str>,
        selector: &str,
        limit: usize,
    ) -> (Vec<(String, String)>, Vec<usize>) {
        let selector = LabelSelector::parse(selector).expect("a selector");
        let (mut seen, mut remaining) = (Vec::new(), Vec::new());
        let mut after: Option<(String, String)> = None;
        loop {
            let page = store.list_page(
                &PODS,
                namespace,
                &selector,
                |o| o["metadata"]["name"] != "p07",
                PageOpts {
                    after: after.as_ref().map(|(n, name)| (n.as_str(), name.as_str())),
                    limit,
                    count_rest: true,
                },
            );
            assert!(page.items.len() <= limit);
            seen.extend(page.items.iter().map(|o| key(o)));
            remaining.push(page.remaining);
            if !page.more {
                assert_eq!(page.remaining, 0);
                break;
            }
            assert_eq!(page.items.len(), limit, "only the last page is short");
            after = page.items.last().map(|o| key(o));
        }
        (seen, remaining)
    }

    #[test]
    fn pages_resumed_from_the_continue_key_cover_the_list_once_in_order() {
        let store = store_with_pods();
        for (namespace, selector) in [
            (Some("a"), "app=green"),              // one index set
            (Some("b"), "app in (blue,green)"),    // two index sets, merged
            (Some("a"), "app!=blue"),              // not indexable: the ordered store
            (Some("b"), ""),                       // everything in the namespace
            (None, "app=blue"),                    // every namespace, from the index
            (None, ""),                            // every namespace, from the store
            (Some("a"), "app=green,n in (1,4,5)"), // the smallest indexable requirement
        ] {
            let parsed = LabelSelector::parse(selector).expect("a selector");
            let (whole, _) = store.list_selected(&PODS, namespace, &parsed, |o| {
                o["metadata"]["name"] != "p07"
            });
            let whole: Vec<_> = whole.iter().map(|o| key(o)).collect();
            assert!(!whole.is_empty(), "{selector:?} selects something");
            for limit in [1, 2, 5, 500] {
                let (seen, remaining) = paged(&store, namespace, selector, limit);
                assert_eq!(seen, whole, "{namespace:?} {selector:?} limit {limit}");
                let expected: Vec<usize> = (1..=remaining.len())
                    .map(|pages| whole.len().saturating_sub(pages * limit))
                    .collect();
                assert_eq!(remaining, expected, "{selector:?} limit {limit}");
            }
        }
    }

    #[test]
    fn a_page_without_limit_is_the_whole_list() {
        let store = store_with_pods();
        let page = store.list_page(
            &PODS,
            Some("a"),
            &LabelSelector::parse("app=blue").expect("a selector"),
            |_| true,
            PageOpts {
                after: Some(("a", "p03")),
                limit: 0,
                count_rest: true,
            },
        );
        let names: Vec<_> = page.items.iter().map(|o| key(o).1).collect();
        assert_eq!(names, ["p06", "p09", "p12", "p15", "p18", "p21"]);
        assert!(!page.more);
        let none = store.list_page(
            &PODS,
            Some("a"),
            &LabelSelector::parse("app=blue").expect("a selector"),
            |_| true,
            PageOpts {
                after: Some(("b", "")),
                limit: 0,
                count_rest: true,
            },
        );
        assert!(
            none.items.is_empty(),
            "a key past the namespace ends the list"
        );
    }
}
