//! Endpoints and EndpointSlices: readiness, selector changes, the propagation delay, the
//! pause fault, terminating pods and cleanup.

use std::time::{Duration, Instant};

use crate::support::*;
use sandbox::controllers::ControllerConfig;
use sandbox::resources;
use sandbox::store::{DeleteOpts, UpdateScope};
use serde_json::json;

#[test]
fn endpoints_follow_pod_readiness() {
    let c = start(20.0);
    c.create(service("web", "web"));
    let mut d = deployment("web", "web", "nginx:1", 2);
    d["spec"]["template"]["metadata"]["annotations"] =
        json!({"sandbox.bluegreen.dev/ready-after-ms": "1000"});
    c.create(d);
    c.wait_until("not-ready addresses", |s| {
        endpoint_ips(s, "web", "notReadyAddresses").len() == 2
    });
    assert!(endpoint_ips(&c.store, "web", "addresses").is_empty());
    c.wait_until("ready addresses", |s| {
        endpoint_ips(s, "web", "addresses").len() == 2
    });
    assert_eq!(
        endpoint_ips(&c.store, "web", "addresses"),
        ready_ips(&c.store, "web")
    );

    let ep = c
        .get(&resources::ENDPOINTS, "default", "web")
        .expect("endpoints");
    let addr = &ep["subsets"][0]["addresses"][0];
    assert_eq!(addr["targetRef"]["kind"], "Pod");
    assert!(addr["targetRef"]["uid"].is_string() && addr["nodeName"].is_string());
    assert_eq!(ep["subsets"][0]["ports"][0]["port"], 8080);
    assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");

    let (slices, _) = c
        .store
        .list(&resources::ENDPOINTSLICES, Some("default"), |s| {
            s["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
        });
    assert_eq!(slices.len(), 1);
    let s = &slices[0];
    assert!(
        s["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("web-"))
    );
    assert_eq!(
        s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io"
    );
    assert_eq!(s["metadata"]["ownerReferences"][0]["kind"], "Service");
    assert_eq!(s["addressType"], "IPv4");
    assert_eq!(s["ports"][0]["port"], 8080);
    assert_eq!(s["ports"][0]["name"], "");
    let e = &s["endpoints"][0];
    assert_eq!(
        e["conditions"],
        json!({"ready": true, "serving": true, "terminating": false})
    );
    assert_eq!(e["targetRef"]["kind"], "Pod");
    assert!(e["nodeName"].is_string());
}

/// A Service targeting a named port that some of its pods lack still comes to rest: those pods
/// are in no Endpoints subset, but in a slice without the port (a real cluster settles so).
#[test]
fn a_pod_without_the_named_port_does_not_keep_the_cluster_from_settling() {
    let c = start(50.0);
    let mut svc = service("web", "web");
    svc["spec"]["ports"][0]["targetPort"] = json!("http");
    c.create(svc);
    let mut named = deployment("web", "web", "nginx:1", 1);
    named["spec"]["template"]["spec"]["containers"][0]["ports"] =
        json!([{"name": "http", "containerPort": 8080}]);
    c.create(named);
    let mut portless = deployment("web-v2", "web", "nginx:2", 1);
    portless["spec"]["selector"]["matchLabels"]["copy"] = json!("v2");
    portless["spec"]["template"]["metadata"]["labels"]["copy"] = json!("v2");
    portless["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .expect("a container")
        .remove("ports");
    c.create(portless);
    c.wait_settled();
    assert_eq!(endpoint_ips(&c.store, "web", "addresses").len(), 1);
    assert_eq!(slice_endpoints(&c.store, "web").len(), 2);
}

#[test]
fn selector_change_moves_addresses_from_blue_to_green() {
    let c = start(50.0);
    sandbox::scenarios::load(&c.store, "classic").expect("load");
    c.wait_settled();
    let blue = ready_ips(&c.store, "blue");
    let green = ready_ips(&c.store, "green");
    assert_eq!(endpoint_ips(&c.store, "blueservice", "addresses"), blue);
    c.modify(&resources::SERVICES, "default", "blueservice", |s| {
        s["spec"]["selector"] = json!({"app": "green"})
    });
    c.wait_until("green addresses", |s| {
        endpoint_ips(s, "blueservice", "addresses") == green
    });
    c.wait_until("green slices", |s| {
        let eps = slice_endpoints(s, "blueservice");
        eps.iter().map(|e| e.0.clone()).collect::<Vec<_>>() == green && eps.iter().all(|e| e.1)
    });
}

#[test]
fn propagation_delay_is_respected() {
    let c = start_with(
        1.0,
        ControllerConfig {
            endpoint_delay: Duration::from_millis(300),
            endpoints_paused: false,
        },
    );
    c.create(service("web", "web"));
    c.create(service("other", "other"));
    let mut p = pod(
        "p",
        "web",
        json!({"sandbox.bluegreen.dev/ready-after-ms": "0"}),
    );
    p["metadata"]["labels"]["other"] = json!("x");
    c.create(p);
    c.wait_until("first address", |s| {
        endpoint_ips(s, "web", "addresses").len() == 1
    });
    let t = Instant::now();
    c.modify(&resources::SERVICES, "default", "other", |s| {
        s["spec"]["selector"] = json!({"app": "web"})
    });
    c.wait_until("the other Service's address", |s| {
        endpoint_ips(s, "other", "addresses").len() == 1
    });
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(290),
        "propagated after {took:?}"
    );
    assert!(
        took < Duration::from_millis(2000),
        "propagated after {took:?}"
    );
}

#[test]
fn paused_endpoints_never_move_until_resumed() {
    let c = start(20.0);
    sandbox::scenarios::load(&c.store, "classic").expect("load");
    c.wait_settled();
    let blue = ready_ips(&c.store, "blue");
    let green = ready_ips(&c.store, "green");
    c.config.lock().expect("config").endpoints_paused = true;
    c.modify(&resources::SERVICES, "default", "blueservice", |s| {
        s["spec"]["selector"] = json!({"app": "green"})
    });
    // Let ten propagation delays pass, measured by a pod's readiness delay (4 s cluster time).
    c.create(pod(
        "timer",
        "timer",
        json!({"sandbox.bluegreen.dev/ready-after-ms": "4000"}),
    ));
    c.wait_until("the timer pod Ready", |s| {
        s.get(&resources::PODS, "default", "timer")
            .is_some_and(|p| is_ready(&p))
    });
    assert_eq!(
        endpoint_ips(&c.store, "blueservice", "addresses"),
        blue,
        "Endpoints moved while paused"
    );
    assert_eq!(
        slice_endpoints(&c.store, "blueservice")
            .iter()
            .map(|e| e.0.clone())
            .collect::<Vec<_>>(),
        blue
    );
    c.config.lock().expect("config").endpoints_paused = false;
    c.wait_until("green addresses after resume", |s| {
        endpoint_ips(s, "blueservice", "addresses") == green
    });
}

#[test]
fn terminating_pods_leave_endpoints_and_are_marked_in_slices() {
    let c = start(10.0);
    c.create(service("web", "web"));
    c.create(pod("slow", "web", json!({"sandbox.bluegreen.dev/ready-after-ms": "0", "sandbox.bluegreen.dev/terminate-after-ms": "20000"})));
    c.wait_until("address", |s| {
        endpoint_ips(s, "web", "addresses").len() == 1
    });
    let ip = ready_ips(&c.store, "web")[0].clone();
    c.store
        .delete(&resources::PODS, "default", "slow", &DeleteOpts::default())
        .expect("delete");
    c.wait_until("terminating in slices", |s| {
        slice_endpoints(s, "web") == vec![(ip.clone(), false, true, true)]
    });
    assert!(endpoint_ips(&c.store, "web", "addresses").is_empty());
    assert!(endpoint_ips(&c.store, "web", "notReadyAddresses").is_empty());
    assert!(
        c.get(&resources::PODS, "default", "slow")
            .is_some_and(|p| deleting(&p))
    );
}

#[test]
fn unready_pod_moves_to_not_ready_addresses() {
    let c = start(20.0);
    c.create(service("web", "web"));
    c.create(pod("flaky", "web", json!({"sandbox.bluegreen.dev/ready-after-ms": "0", "sandbox.bluegreen.dev/unready-after-ms": "1000"})));
    c.wait_until("ready address", |s| {
        endpoint_ips(s, "web", "addresses").len() == 1
    });
    c.wait_until("not-ready address", |s| {
        endpoint_ips(s, "web", "notReadyAddresses").len() == 1
            && endpoint_ips(s, "web", "addresses").is_empty()
    });
    c.wait_until("slice not ready", |s| {
        slice_endpoints(s, "web")
            .iter()
            .all(|e| !e.1 && !e.2 && !e.3)
    });
}

#[test]
fn service_deletion_and_selector_removal_clean_up() {
    let c = start(50.0);
    sandbox::scenarios::load(&c.store, "classic").expect("load");
    c.wait_settled();
    c.store
        .delete(
            &resources::SERVICES,
            "default",
            "greenservice",
            &DeleteOpts::default(),
        )
        .expect("delete");
    c.wait_until("green endpoints gone", |s| {
        s.get(&resources::ENDPOINTS, "default", "greenservice")
            .is_none()
            && slice_endpoints(s, "greenservice").is_empty()
    });
    c.wait_until("green slices gone", |s| {
        s.list(&resources::ENDPOINTSLICES, Some("default"), |x| {
            x["metadata"]["labels"]["kubernetes.io/service-name"] == "greenservice"
        })
        .0
        .is_empty()
    });
    // A Service losing its selector: its slices go, its Endpoints are left to whoever owns them now.
    c.set_scope(
        &resources::SERVICES,
        "default",
        "blueservice",
        UpdateScope::Main,
        |s| {
            if let Some(spec) = s["spec"].as_object_mut() {
                spec.remove("selector");
            }
        },
    );
    c.wait_until("blue slices gone", |s| {
        s.list(&resources::ENDPOINTSLICES, Some("default"), |x| {
            x["metadata"]["labels"]["kubernetes.io/service-name"] == "blueservice"
        })
        .0
        .is_empty()
    });
    assert!(
        c.get(&resources::ENDPOINTS, "default", "blueservice")
            .is_some()
    );
}

#[test]
fn named_target_port_resolves_per_pod() {
    let c = start(50.0);
    let mut svc = service("named", "n");
    svc["spec"]["ports"] = json!([{"name": "http", "port": 80, "targetPort": "web-port"}]);
    c.create(svc);
    let mut p = pod(
        "n1",
        "n",
        json!({"sandbox.bluegreen.dev/ready-after-ms": "0"}),
    );
    p["spec"]["containers"][0]["ports"] = json!([{"name": "web-port", "containerPort": 9090}]);
    c.create(p);
    c.wait_until("address", |s| {
        endpoint_ips(s, "named", "addresses").len() == 1
    });
    let ep = c
        .get(&resources::ENDPOINTS, "default", "named")
        .expect("ep");
    assert_eq!(
        ep["subsets"][0]["ports"][0],
        json!({"name": "http", "port": 9090, "protocol": "TCP"})
    );
}

#[test]
fn endpoints_changed_by_someone_else_are_put_back() {
    let c = start(50.0);
    c.create(service("web", "web"));
    c.create(pod(
        "p",
        "web",
        json!({"sandbox.bluegreen.dev/ready-after-ms": "0"}),
    ));
    c.wait_until("address", |s| {
        endpoint_ips(s, "web", "addresses").len() == 1
    });
    let want = endpoint_ips(&c.store, "web", "addresses");
    c.set_scope(
        &resources::ENDPOINTS,
        "default",
        "web",
        UpdateScope::All,
        |ep| {
            ep["subsets"] = json!([{"addresses": [{"ip": "192.0.2.1"}]}]);
        },
    );
    c.wait_until("the controller's addresses back", |s| {
        endpoint_ips(s, "web", "addresses") == want
    });
}

/// (sorted endpoint IPs, ports) of each of the Service's slices, sorted.
fn slices_by_ports(
    store: &sandbox::store::Store,
    svc: &str,
) -> Vec<(Vec<String>, serde_json::Value)> {
    let (slices, _) = store.list(&resources::ENDPOINTSLICES, Some("default"), |s| {
        s["metadata"]["labels"]["kubernetes.io/service-name"] == svc
    });
    let mut v: Vec<_> = slices
        .iter()
        .map(|s| {
            let mut ips: Vec<String> = s["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["addresses"][0].as_str().map(str::to_string))
                .collect();
            ips.sort();
            (ips, s["ports"].clone())
        })
        .collect();
    v.sort_by_key(|(ips, ports)| (ips.clone(), ports.to_string()));
    v
}

fn pod_ip(c: &Cluster, name: &str) -> String {
    c.get(&resources::PODS, "default", name)
        .and_then(|p| p["status"]["podIP"].as_str().map(str::to_string))
        .expect("pod IP")
}

/// A ready pod labelled `app: <app>` whose container declares `ports`.
fn pod_with_ports(name: &str, app: &str, ports: serde_json::Value) -> serde_json::Value {
    let mut p = pod(
        name,
        app,
        json!({"sandbox.bluegreen.dev/ready-after-ms": "0"}),
    );
    p["spec"]["containers"][0]["ports"] = ports;
    p
}

#[test]
fn pods_are_grouped_in_slices_by_the_named_port_they_resolve_to() {
    let c = start(50.0);
    let mut svc = service("named", "n");
    svc["spec"]["ports"] = json!([{"name": "web", "port": 80, "targetPort": "http"}]);
    c.create(svc);
    c.create(pod_with_ports(
        "a",
        "n",
        json!([{"name": "http", "containerPort": 8080}]),
    ));
    c.create(pod_with_ports(
        "b",
        "n",
        json!([{"name": "http", "containerPort": 9090}]),
    ));
    // No port of that name: kept, in a slice without the port.
    c.create(pod_with_ports(
        "c",
        "n",
        json!([{"name": "metrics", "containerPort": 9100}]),
    ));
    c.wait_until("three endpoints", |s| {
        slice_endpoints(s, "named").len() == 3
    });
    let (a, b, cc) = (pod_ip(&c, "a"), pod_ip(&c, "b"), pod_ip(&c, "c"));
    let port = |n: i64| json!([{"name": "web", "port": n, "protocol": "TCP"}]);
    let mut want = vec![
        (vec![a.clone()], port(8080)),
        (vec![b.clone()], port(9090)),
        (vec![cc.clone()], serde_json::Value::Null),
    ];
    want.sort_by_key(|(ips, ports)| (ips.clone(), ports.to_string()));
    c.wait_until("a slice per resolved port set", |s| {
        slices_by_ports(s, "named") == want
    });
    assert!(
        slice_endpoints(&c.store, "named").iter().all(|e| e.1),
        "every endpoint ready"
    );
    // Endpoints list only the addresses serving a port, one subset per port number.
    let port = |n: i64| json!([{"name": "web", "port": n, "protocol": "TCP"}]);
    let mut want = vec![(vec![a], port(8080)), (vec![b], port(9090))];
    want.sort_by_key(|(ips, ports)| (ips.clone(), ports.to_string()));
    c.wait_until("a subset per port number", |s| subsets(s, "named") == want);
}

#[test]
fn a_pod_missing_one_named_port_keeps_the_others() {
    let c = start(50.0);
    let mut svc = service("multi", "m");
    svc["spec"]["ports"] = json!([
        {"name": "web", "port": 80, "targetPort": "http"},
        {"name": "metrics", "port": 9100, "targetPort": 9100},
    ]);
    c.create(svc);
    c.create(pod_with_ports(
        "full",
        "m",
        json!([{"name": "http", "containerPort": 8080}, {"containerPort": 9100}]),
    ));
    c.create(pod_with_ports(
        "bare",
        "m",
        json!([{"containerPort": 9100}]),
    ));
    c.wait_until("two endpoints", |s| slice_endpoints(s, "multi").len() == 2);
    let (full, bare) = (pod_ip(&c, "full"), pod_ip(&c, "bare"));
    let web = json!({"name": "web", "port": 8080, "protocol": "TCP"});
    let metrics = json!({"name": "metrics", "port": 9100, "protocol": "TCP"});
    let mut want = vec![
        (vec![full.clone()], json!([web, metrics])),
        (vec![bare.clone()], json!([metrics])),
    ];
    want.sort_by_key(|(ips, ports)| (ips.clone(), ports.to_string()));
    c.wait_until("a slice per port set", |s| {
        slices_by_ports(s, "multi") == want
    });

    // Endpoints, repacked: both addresses serve metrics, only one serves web.
    let mut both = vec![full.clone(), bare];
    both.sort();
    let mut want = vec![(both, json!([metrics])), (vec![full], json!([web]))];
    want.sort_by_key(|(ips, ports)| (ips.clone(), ports.to_string()));
    c.wait_until("a subset per address set", |s| subsets(s, "multi") == want);
}

/// (sorted ready IPs, ports) of each subset of the Service's Endpoints, sorted.
fn subsets(store: &sandbox::store::Store, svc: &str) -> Vec<(Vec<String>, serde_json::Value)> {
    let Some(ep) = store.get(&resources::ENDPOINTS, "default", svc) else {
        return Vec::new();
    };
    let mut v: Vec<(Vec<String>, serde_json::Value)> = ep["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let mut ips: Vec<String> = s["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["ip"].as_str().map(str::to_string))
                .collect();
            ips.sort();
            (ips, s["ports"].clone())
        })
        .collect();
    v.sort_by_key(|(ips, ports)| (ips.clone(), ports.to_string()));
    v
}

#[test]
fn publish_not_ready_addresses_marks_every_endpoint_ready() {
    let c = start(20.0);
    let mut svc = service("peers", "p");
    svc["spec"]["publishNotReadyAddresses"] = json!(true);
    c.create(svc);
    // Never Ready while the test runs.
    c.create(pod(
        "starting",
        "p",
        json!({"sandbox.bluegreen.dev/ready-after-ms": "3600000"}),
    ));
    c.create(pod("up", "p", json!({"sandbox.bluegreen.dev/ready-after-ms": "0", "sandbox.bluegreen.dev/terminate-after-ms": "3600000"})));
    c.wait_until("both published", |s| slice_endpoints(s, "peers").len() == 2);
    let (starting, up) = (pod_ip(&c, "starting"), pod_ip(&c, "up"));
    let mut want = vec![
        (starting.clone(), true, false, false),
        (up.clone(), true, true, false),
    ];
    want.sort();
    c.wait_until("ready, serving as the pod", |s| {
        slice_endpoints(s, "peers") == want
    });
    let mut both = vec![starting.clone(), up.clone()];
    both.sort();
    assert_eq!(endpoint_ips(&c.store, "peers", "addresses"), both);
    assert!(endpoint_ips(&c.store, "peers", "notReadyAddresses").is_empty());

    // A terminating pod stays published, and ready.
    c.store
        .delete(&resources::PODS, "default", "up", &DeleteOpts::default())
        .expect("delete");
    let mut want = vec![(starting, true, false, false), (up, true, true, true)];
    want.sort();
    c.wait_until("terminating, still ready", |s| {
        slice_endpoints(s, "peers") == want
    });
    assert_eq!(endpoint_ips(&c.store, "peers", "addresses"), both);
}
