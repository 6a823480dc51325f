//! Bearer-token authentication: a missing or wrong token is 401 with a Status body.

use crate::common;

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let sb = common::start();
    let good = common::client(&sb).await;
    assert_eq!(common::get(&good, "/api/v1/namespaces").await.status, 200);

    let mut cfg = common::config(&sb).await;
    cfg.auth_info.token = Some("not-the-token".to_string().into());
    let wrong = kube::Client::try_from(cfg).unwrap();
    let a = common::get(&wrong, "/api/v1/namespaces").await;
    assert_eq!(a.status, 401);
    assert_eq!(a.json["kind"], "Status");
    assert_eq!(a.json["reason"], "Unauthorized");

    let mut cfg = common::config(&sb).await;
    cfg.auth_info.token = None;
    let none = kube::Client::try_from(cfg).unwrap();
    assert_eq!(common::get(&none, "/version").await.status, 401);

    let statuses: Vec<u16> = sb.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 401, 401]);
}

#[tokio::test]
async fn kubeconfig_has_two_contexts_and_the_ca() {
    let sb = common::start();
    let kc = kube::config::Kubeconfig::read_from(sb.kubeconfig_path()).unwrap();
    assert_eq!(kc.current_context.as_deref(), Some("sandbox"));
    let staging = kc
        .contexts
        .iter()
        .find(|c| c.name == "sandbox-staging")
        .expect("a staging context");
    assert_eq!(
        staging.context.as_ref().unwrap().namespace.as_deref(),
        Some("staging")
    );
    let cluster = kc.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(cluster.server.as_deref(), Some(sb.base_url()));
    assert!(cluster.certificate_authority_data.is_some());
    assert!(sb.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(sb.token().len(), 40);
}
