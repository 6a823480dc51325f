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
