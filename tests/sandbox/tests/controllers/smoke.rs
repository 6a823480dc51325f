//! The classic pair comes up: Deployments, ReplicaSets, Running Ready pods, Endpoints.

use crate::support::*;
use sandbox::resources;

#[test]
fn classic_scenario_comes_up_and_settles() {
    let c = start(50.0);
    sandbox::scenarios::load(&c.store, "classic").expect("load");
    c.wait_settled();
    let blue = c.pods("default", "app", "blue");
    let green = c.pods("default", "app", "green");
    assert_eq!(blue.len(), 3);
    assert_eq!(green.len(), 3);
    assert!(
        blue.iter()
            .chain(&green)
            .all(|p| p["status"]["phase"] == "Running" && is_ready(p))
    );
    assert_eq!(
        endpoint_ips(&c.store, "blueservice", "addresses"),
        ready_ips(&c.store, "blue")
    );
    assert_eq!(
        endpoint_ips(&c.store, "greenservice", "addresses"),
        ready_ips(&c.store, "green")
    );
    let d = c
        .get(&resources::DEPLOYMENTS, "default", "bluedeploy")
        .expect("deployment");
    assert_eq!(d["status"]["readyReplicas"], 3);
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(d["status"]["updatedReplicas"], 3);
}
