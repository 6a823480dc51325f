//! The API semantics the plugin relies on, each checked against the sandbox and (ignored by
//! default) against the real control plane of `tests/control-plane`, so that both answer the
//! same: type errors in label maps, optimistic concurrency, delete preconditions, dry runs,
//! the scale subresource, pagination, generated names, Deployment conditions and
//! EndpointSlice contents.

mod target;

use std::time::Duration;

use http_body_util::BodyExt;
use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use target::Target;

/// An answer: status and body.
struct Answer {
    status: u16,
    json: Value,
    text: String,
}

/// Raw requests to a target, as the plugin's client makes them.
struct Api {
    client: kube::Client,
    rt: tokio::runtime::Runtime,
    ns: String,
}

impl Api {
    fn new(t: &Target) -> Api {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let client = rt.block_on(async {
            let kc = Kubeconfig::read_from(t.kubeconfig()).expect("a kubeconfig");
            let mut cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .expect("a valid kubeconfig");
            cfg.default_retry = false;
            kube::Client::try_from(cfg).expect("a client")
        });
        Api {
            client,
            rt,
            ns: t.ns().to_string(),
        }
    }

    /// `path` with `{ns}` replaced by the test's namespace.
    fn call(&self, method: &str, path: &str, content_type: &str, body: &str) -> Answer {
        let path = path.replace("{ns}", &self.ns);
        self.rt.block_on(async {
            let req = http::Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", content_type)
                .body(Body::from(body.as_bytes().to_vec()))
                .expect("a request");
            let resp = self.client.send(req).await.expect("the server answers");
            let status = resp.status().as_u16();
            let bytes = resp.into_body().collect().await.expect("a body").to_bytes();
            Answer {
                status,
                json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            }
        })
    }

    fn get(&self, path: &str) -> Answer {
        self.call("GET", path, "application/json", "")
    }

    fn post(&self, path: &str, body: &Value) -> Answer {
        self.call("POST", path, "application/json", &body.to_string())
    }

    fn merge_patch(&self, path: &str, body: &Value) -> Answer {
        self.call(
            "PATCH",
            path,
            "application/merge-patch+json",
            &body.to_string(),
        )
    }
}

const SERVICES: &str = "/api/v1/namespaces/{ns}/services";
const PODS: &str = "/api/v1/namespaces/{ns}/pods";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/{ns}/deployments";

fn service(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
    })
}

fn deployment(name: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1",
                    "ports": [{"containerPort": 8080}]}]},
            },
        },
    })
}

// ---- the expectations -----------------------------------------------------------------------

/// A label or annotation whose value is not a string (YAML `enabled: true`) is refused by the
/// decoder, wherever the map is; nothing is stored.
fn non_string_label_values(t: &Target) {
    let api = Api::new(t);
    let mut svc = service("flags");
    svc["metadata"]["labels"] = json!({"enabled": true});
    let a = api.post(SERVICES, &svc);
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.json["reason"], "BadRequest");
    assert_eq!(
        a.json["message"],
        "Service in version \"v1\" cannot be handled as a Service: json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"
    );

    let mut d = deployment("flags", 1);
    d["spec"]["template"]["metadata"]["labels"]["enabled"] = json!(true);
    let a = api.post(DEPLOYMENTS, &d);
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(
        a.json["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal bool into Go struct field ObjectMeta.spec.template.metadata.labels of type string"
    );
    let mut d = deployment("flags", 1);
    d["metadata"]["annotations"] = json!({"replicas": 5});
    let a = api.post(DEPLOYMENTS, &d);
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(
        a.json["message"]
            .as_str()
            .unwrap_or("")
            .ends_with("json: cannot unmarshal number into Go struct field ObjectMeta.metadata.annotations of type string"),
        "{}",
        a.text
    );
    assert_eq!(api.get(&format!("{DEPLOYMENTS}/flags")).status, 404);

    // A merge patch that makes one is 422, on the patch.
    assert_eq!(api.post(SERVICES, &service("flags")).status, 201);
    let a = api.merge_patch(
        &format!("{SERVICES}/flags"),
        &json!({"metadata": {"labels": {"enabled": true}}}),
    );
    assert_eq!(a.status, 422, "{}", a.text);
    assert_eq!(a.json["reason"], "Invalid");
    assert_eq!(a.json["details"]["causes"][0]["field"], "patch");
    assert!(
        a.json["message"].as_str().unwrap_or("").ends_with(
            "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"
        ),
        "{}",
        a.text
    );
    let stored = api.get(&format!("{SERVICES}/flags"));
    assert!(
        stored.json["metadata"]["labels"].is_null(),
        "{}",
        stored.text
    );
}

/// A merge patch carrying a stale `metadata.resourceVersion` is 409 Conflict.
fn stale_resource_version(t: &Target) {
    let api = Api::new(t);
    let created = api.post(SERVICES, &service("stale"));
    assert_eq!(created.status, 201, "{}", created.text);
    let rv = created.json["metadata"]["resourceVersion"].clone();
    let a = api.merge_patch(
        &format!("{SERVICES}/stale"),
        &json!({"metadata": {"resourceVersion": rv, "labels": {"a": "1"}}}),
    );
    assert_eq!(a.status, 200, "the current version: {}", a.text);
    let a = api.merge_patch(
        &format!("{SERVICES}/stale"),
        &json!({"metadata": {"resourceVersion": rv, "labels": {"a": "2"}}}),
    );
    assert_eq!(a.status, 409, "{}", a.text);
    assert_eq!(a.json["reason"], "Conflict");
    assert_eq!(
        a.json["message"],
        "Operation cannot be fulfilled on services \"stale\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(
        a.json["details"],
        json!({"name": "stale", "kind": "services"})
    );
}

/// A delete whose `preconditions.uid` (or resourceVersion) does not match is 409 Conflict.
fn delete_preconditions(t: &Target) {
    let api = Api::new(t);
    let created = api.post(SERVICES, &service("pre"));
    assert_eq!(created.status, 201, "{}", created.text);
    let uid = created.json["metadata"]["uid"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let other = "00000000-0000-0000-0000-000000000000";
    let path = format!("{SERVICES}/pre");
    let a = api.call(
        "DELETE",
        &path,
        "application/json",
        &json!({"preconditions": {"uid": other}}).to_string(),
    );
    assert_eq!(a.status, 409, "{}", a.text);
    assert_eq!(a.json["reason"], "Conflict");
    assert_eq!(
        a.json["message"],
        format!(
            "Operation cannot be fulfilled on Service \"pre\": the UID in the precondition ({other}) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
        )
    );
    assert_eq!(a.json["details"], json!({"name": "pre", "kind": "Service"}));
    let rv = created.json["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("");
    api.merge_patch(&path, &json!({"metadata": {"labels": {"a": "1"}}}));
    let a = api.call(
        "DELETE",
        &path,
        "application/json",
        &json!({"preconditions": {"resourceVersion": rv}}).to_string(),
    );
    assert_eq!(a.status, 409, "{}", a.text);
    let now = api.get(&path).json["metadata"]["resourceVersion"].clone();
    assert_eq!(
        a.json["message"],
        format!(
            "Operation cannot be fulfilled on Service \"pre\": the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). The object might have been modified",
            now.as_str().unwrap_or("")
        )
    );
    let a = api.call(
        "DELETE",
        &path,
        "application/json",
        &json!({"preconditions": {"uid": uid}}).to_string(),
    );
    assert_eq!(a.status, 200, "{}", a.text);
}

/// `dryRun=All` answers what would be stored and stores nothing.
fn dry_run(t: &Target) {
    let api = Api::new(t);
    let a = api.post(&format!("{DEPLOYMENTS}?dryRun=All"), &deployment("dry", 2));
    assert_eq!(a.status, 201, "{}", a.text);
    let meta = &a.json["metadata"];
    assert!(
        meta["uid"].is_string() && meta["creationTimestamp"].is_string(),
        "{meta}"
    );
    assert!(meta["resourceVersion"].is_null(), "{meta}");
    assert_eq!(a.json["metadata"]["generation"], 1);
    assert_eq!(a.json["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(api.get(&format!("{DEPLOYMENTS}/dry")).status, 404);

    assert_eq!(api.post(DEPLOYMENTS, &deployment("dry", 2)).status, 201);
    let path = format!("{DEPLOYMENTS}/dry");
    let a = api.merge_patch(
        &format!("{path}?dryRun=All"),
        &json!({"spec": {"replicas": 5}}),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["spec"]["replicas"], 5);
    assert_eq!(api.get(&path).json["spec"]["replicas"], 2);
    let a = api.call(
        "DELETE",
        &format!("{path}?dryRun=All"),
        "application/json",
        "",
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(api.get(&path).status, 200);
}

/// A merge patch of `deployments/NAME/scale` answers a `Scale` and changes the replicas.
fn scale_subresource(t: &Target) {
    let api = Api::new(t);
    assert_eq!(api.post(DEPLOYMENTS, &deployment("sc", 1)).status, 201);
    let a = api.merge_patch(
        &format!("{DEPLOYMENTS}/sc/scale"),
        &json!({"spec": {"replicas": 3}}),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["kind"], "Scale");
    assert_eq!(a.json["apiVersion"], "autoscaling/v1");
    assert_eq!(a.json["spec"], json!({"replicas": 3}));
    assert_eq!(a.json["metadata"]["name"], "sc");
    assert_eq!(
        api.get(&format!("{DEPLOYMENTS}/sc")).json["spec"]["replicas"],
        3
    );
    let scale = api.get(&format!("{DEPLOYMENTS}/sc/scale"));
    assert_eq!(scale.json["status"]["selector"], "app=sc");
    let a = api.merge_patch(
        &format!("{DEPLOYMENTS}/sc/scale"),
        &json!({"spec": {"replicas": -1}}),
    );
    assert_eq!(a.status, 422, "{}", a.text);
}

/// `limit` cuts a list into pages linked by `continue`, with the count of what is left.
fn pagination(t: &Target) {
    let api = Api::new(t);
    for name in ["page-a", "page-b", "page-c"] {
        assert_eq!(api.post(SERVICES, &service(name)).status, 201);
    }
    let first = api.get(&format!("{SERVICES}?limit=2"));
    assert_eq!(first.status, 200, "{}", first.text);
    let names = |a: &Answer| -> Vec<String> {
        a.json["items"]
            .as_array()
            .map(|i| {
                i.iter()
                    .map(|o| o["metadata"]["name"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(&first), ["page-a", "page-b"]);
    assert_eq!(first.json["metadata"]["remainingItemCount"], 1);
    let token = first.json["metadata"]["continue"].as_str().unwrap_or("");
    assert!(!token.is_empty(), "{}", first.text);
    let second = api.get(&format!("{SERVICES}?limit=2&continue={token}"));
    assert_eq!(names(&second), ["page-c"]);
    assert!(
        second.json["metadata"]["continue"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{}",
        second.text
    );
    assert!(second.json["metadata"]["remainingItemCount"].is_null());
    let bad = api.get(&format!("{SERVICES}?limit=2&continue=garbage"));
    assert_eq!(bad.status, 400, "{}", bad.text);
}

/// A generated name is the prefix cut to 58 characters and 5 random ones; a Service, whose
/// name is a DNS-1035 label, refuses a `generateName` longer than 63 characters.
fn generated_names(t: &Target) {
    let api = Api::new(t);
    let prefix = "a".repeat(70);
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": prefix},
        "spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]},
    });
    let a = api.post(&format!("{PODS}?dryRun=All"), &pod);
    assert_eq!(a.status, 201, "{}", a.text);
    let name = a.json["metadata"]["name"].as_str().unwrap_or("");
    assert_eq!(name.len(), 63, "{name}");
    assert!(
        name.starts_with(&prefix[..58]) && !name[58..].contains('a'),
        "{name}"
    );

    let mut svc = service("x");
    svc["metadata"] = json!({"generateName": prefix});
    let a = api.post(SERVICES, &svc);
    assert_eq!(a.status, 422, "{}", a.text);
    assert_eq!(
        a.json["details"]["causes"][0]["field"],
        "metadata.generateName"
    );
    assert!(
        a.json["message"]
            .as_str()
            .unwrap_or("")
            .ends_with("must be no more than 63 characters"),
        "{}",
        a.text
    );
    let mut svc = service("x");
    svc["metadata"] = json!({"generateName": "web-"});
    let a = api.post(SERVICES, &svc);
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json["metadata"]["name"].as_str().map(str::len), Some(9));
}

/// (type, status, reason) of a Deployment's conditions.
fn conditions(d: &Value) -> Vec<(String, String, String)> {
    let mut c: Vec<_> = d["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let s = |f: &str| c[f].as_str().unwrap_or("").to_string();
            (s("type"), s("status"), s("reason"))
        })
        .collect();
    c.sort();
    c
}

/// A rolled-out Deployment is Available (MinimumReplicasAvailable) and Progressing
/// (NewReplicaSetAvailable); one whose pods never get ready is not Available.
fn deployment_conditions(t: &Target) {
    let api = Api::new(t);
    assert_eq!(api.post(DEPLOYMENTS, &deployment("cond", 2)).status, 201);
    t.settle();
    let d = api.get(&format!("{DEPLOYMENTS}/cond")).json;
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        conditions(&d),
        [
            s("Available", "True", "MinimumReplicasAvailable"),
            s("Progressing", "True", "NewReplicaSetAvailable"),
        ],
        "{}",
        d["status"]
    );
    let mut stuck = deployment("stuck", 1);
    stuck["spec"]["template"]["metadata"]["annotations"] =
        json!({(::sandbox::controllers::NEVER_READY): "true"});
    assert_eq!(api.post(DEPLOYMENTS, &stuck).status, 201);
    let want = [
        s("Available", "False", "MinimumReplicasUnavailable"),
        s("Progressing", "True", "ReplicaSetUpdated"),
    ];
    t.eventually(Duration::from_secs(60), "the stuck conditions", || {
        let d = api.get(&format!("{DEPLOYMENTS}/stuck")).json;
        let got = conditions(&d);
        (got == want).then_some(()).ok_or(format!("{got:?}"))
    });
}

/// The EndpointSlices of a Service.
fn slices(api: &Api, service: &str) -> Vec<Value> {
    let a = api.get(&format!(
        "/apis/discovery.k8s.io/v1/namespaces/{{ns}}/endpointslices?labelSelector=kubernetes.io/service-name={service}"
    ));
    a.json["items"].as_array().cloned().unwrap_or_default()
}

/// A pod without the Service's named target port is still listed, in a slice with
/// `ports: null`; `publishNotReadyAddresses` lists unready pods as ready but not serving.
fn endpoint_slices(t: &Target) {
    let api = Api::new(t);
    assert_eq!(api.post(DEPLOYMENTS, &deployment("named", 1)).status, 201);
    let mut svc = service("named");
    svc["spec"]["ports"] = json!([{"name": "web", "port": 80, "targetPort": "http"}]);
    assert_eq!(api.post(SERVICES, &svc).status, 201);

    let mut unready = deployment("unready", 1);
    unready["spec"]["template"]["metadata"]["annotations"] =
        json!({(::sandbox::controllers::NEVER_READY): "true"});
    assert_eq!(api.post(DEPLOYMENTS, &unready).status, 201);
    let mut svc = service("unready");
    svc["spec"]["publishNotReadyAddresses"] = json!(true);
    assert_eq!(api.post(SERVICES, &svc).status, 201);

    let named = t.eventually(
        Duration::from_secs(60),
        "a ready endpoint for `named`",
        || {
            let s = slices(&api, "named");
            let ready = s
                .iter()
                .any(|s| s["endpoints"][0]["conditions"]["ready"] == true);
            if ready { Ok(s) } else { Err(format!("{s:?}")) }
        },
    );
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(named[0]["ports"], Value::Null, "{}", named[0]);
    assert_eq!(named[0]["addressType"], "IPv4");
    let e = &named[0]["endpoints"][0];
    assert_eq!(e["conditions"]["ready"], true, "{e}");
    assert_eq!(e["targetRef"]["kind"], "Pod");

    let unready = t.eventually(Duration::from_secs(60), "a slice for `unready`", || {
        let s = slices(&api, "unready");
        let e = s
            .first()
            .map(|s| s["endpoints"][0].clone())
            .unwrap_or_default();
        if e["addresses"].is_array() {
            Ok(s)
        } else {
            Err(format!("{s:?}"))
        }
    });
    assert_eq!(unready.len(), 1, "{unready:?}");
    assert_eq!(
        unready[0]["ports"],
        json!([{"name": "", "port": 80, "protocol": "TCP"}]),
        "{}",
        unready[0]
    );
    assert_eq!(
        unready[0]["endpoints"][0]["conditions"],
        json!({"ready": true, "serving": false, "terminating": false}),
        "{}",
        unready[0]
    );
}

/// Every namespace is labelled with its name; the label cannot be changed.
fn namespace_name_label(t: &Target) {
    let api = Api::new(t);
    let name = t.unique("labelled");
    let a = api.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": {"team": "a"}}}),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    let want = json!({"kubernetes.io/metadata.name": name, "team": "a"});
    assert_eq!(a.json["metadata"]["labels"], want);
    let a = api.merge_patch(
        &format!("/api/v1/namespaces/{name}"),
        &json!({"metadata": {"labels": {"kubernetes.io/metadata.name": "other"}}}),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["metadata"]["labels"], want);
}

/// Objects loaded around the API are decoded as strictly: a boolean label is refused.
#[test]
fn load_yaml_refuses_non_string_labels() {
    let sb = ::sandbox::Sandbox::start(::sandbox::Options::default().without_controllers())
        .expect("the sandbox starts");
    let d = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: flags}
spec:
  selector: {matchLabels: {app: flags}}
  template:
    metadata:
      labels: {app: flags, enabled: true}
    spec:
      containers: [{name: app, image: registry.example/app:1}]
"#;
    let e = sb.load_yaml(d).expect_err("refused");
    assert!(
        e.contains("cannot unmarshal bool into Go struct field ObjectMeta.spec.template.metadata.labels of type string"),
        "{e}"
    );
    assert!(
        sb.store()
            .get(&::sandbox::resources::DEPLOYMENTS, "default", "flags")
            .is_none()
    );
}

/// Server-side apply of a boolean label: the real server answers 500 (it cannot build the
/// typed patch).
fn apply_non_string_label(t: &Target) {
    let api = Api::new(t);
    let a = api.call(
        "PATCH",
        &format!("{SERVICES}/applied?fieldManager=test"),
        "application/apply-patch+yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: applied\n  labels: {enabled: true}\nspec:\n  ports: [{port: 80}]\n",
    );
    assert_eq!(a.status, 500, "{}", a.text);
    assert_eq!(
        a.json["message"],
        "failed to create typed patch object (/applied; /v1, Kind=Service): .metadata.labels.enabled: expected string, got &value.valueUnstructured{Value:true}"
    );
    assert_eq!(api.get(&format!("{SERVICES}/applied")).status, 404);
}

// ---- both targets -------------------------------------------------------------------------

macro_rules! semantics {
    ($($name:ident),* $(,)?) => {
        const REAL_TESTS: usize = [$(stringify!($name)),*].len();

        mod sandbox {
            $(#[test] fn $name() {
                let sb = ::sandbox::Sandbox::start(::sandbox::Options::default().speed(20.0))
                    .expect("the sandbox starts");
                super::$name(&super::Target::sandbox(sb))
            })*
        }
        mod real {
            $(#[test]
            #[ignore = "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored"]
            fn $name() {
                let ns = format!("api-{}", stringify!($name)).replace('_', "-");
                super::$name(&super::Target::real(&ns, super::REAL_TESTS))
            })*
        }
    };
}

semantics!(
    non_string_label_values,
    stale_resource_version,
    delete_preconditions,
    dry_run,
    scale_subresource,
    pagination,
    generated_names,
    deployment_conditions,
    endpoint_slices,
    namespace_name_label,
    apply_non_string_label,
);
