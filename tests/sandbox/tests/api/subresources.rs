//! The `scale` subresource (autoscaling/v1 Scale) and the `status` subresource.

use crate::common;

use sandbox::resources::DEPLOYMENTS;
use serde_json::json;

const WEB: &str = "/apis/apps/v1/namespaces/default/deployments/web";

#[tokio::test]
async fn scale_get_put_patch() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let a = common::get(&client, &format!("{WEB}/scale")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json["kind"], "Scale");
    assert_eq!(a.json["apiVersion"], "autoscaling/v1");
    assert_eq!(a.json["spec"]["replicas"], 2);
    assert_eq!(a.json["status"]["selector"], "app=web");

    let mut scale = a.json.clone();
    scale["spec"]["replicas"] = json!(4);
    let a = common::call(
        &client,
        "PUT",
        &format!("{WEB}/scale"),
        Some("application/json"),
        &scale.to_string(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["spec"]["replicas"], 4);
    // The same Scale again carries a stale resourceVersion.
    let a = common::call(
        &client,
        "PUT",
        &format!("{WEB}/scale"),
        Some("application/json"),
        &scale.to_string(),
    )
    .await;
    assert_eq!(a.status, 409);

    let a = common::call(
        &client,
        "PATCH",
        &format!("{WEB}/scale"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":1}}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let stored = sb.store().get(&DEPLOYMENTS, "default", "web").unwrap();
    assert_eq!(stored["spec"]["replicas"], 1);
    assert_eq!(stored["metadata"]["generation"], 3);
}

/// A scale patch is applied to the object as it is when written, as the real server does:
/// writes by others (a controller updating the status) in between are no conflict. Only a
/// resourceVersion the patch itself sets is a precondition.
#[tokio::test]
#[allow(clippy::result_large_err)] // the sandbox's store API returns whole Status objects
async fn a_scale_patch_is_no_conflict_with_a_concurrent_write() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let store = sb.store().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let _ = store.update_with(
                    &DEPLOYMENTS,
                    "default",
                    "web",
                    sandbox::store::UpdateOpts::default(),
                    |old| {
                        let mut new = old.clone();
                        new["metadata"]["annotations"]["writer"] = json!(n.to_string());
                        Ok(new)
                    },
                );
            }
        })
    };
    for n in 0..50 {
        let a = common::call(
            &client,
            "PATCH",
            &format!("{WEB}/scale"),
            Some("application/merge-patch+json"),
            &format!(r#"{{"spec":{{"replicas":{}}}}}"#, n % 5),
        )
        .await;
        assert_eq!(a.status, 200, "patch {n}: {}", a.text);
        assert_eq!(a.json["spec"]["replicas"], n % 5);
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("the writer ends");
    let a = common::call(
        &client,
        "PATCH",
        &format!("{WEB}/scale"),
        Some("application/merge-patch+json"),
        r#"{"metadata":{"resourceVersion":"1"},"spec":{"replicas":3}}"#,
    )
    .await;
    assert_eq!(
        a.status, 409,
        "a stale resourceVersion in the patch: {}",
        a.text
    );
}

#[tokio::test]
async fn status_subresource_changes_only_status() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let a = common::call(
        &client,
        "PATCH",
        &format!("{WEB}/status"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":9},"status":{"readyReplicas":2}}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["status"]["readyReplicas"], 2);
    assert_eq!(
        a.json["spec"]["replicas"], 2,
        "spec is not changed through status"
    );

    // And the main resource does not change status.
    let a = common::call(
        &client,
        "PATCH",
        WEB,
        Some("application/merge-patch+json"),
        r#"{"status":{"readyReplicas":0}}"#,
    )
    .await;
    assert_eq!(a.json["status"]["readyReplicas"], 2);
}
