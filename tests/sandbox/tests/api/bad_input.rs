//! Malformed requests get a 4xx Status, never a server error or a dropped connection.

use crate::common;

#[tokio::test]
async fn malformed_requests_are_client_errors() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let web = "/apis/apps/v1/namespaces/default/deployments/web";
    let merge = Some("application/merge-patch+json");
    let strategic = Some("application/strategic-merge-patch+json");
    let json_patch = Some("application/json-patch+json");
    let json = Some("application/json");
    let cases: &[(&str, &str, Option<&str>, &str, u16)] = &[
        ("PATCH", web, merge, "[1,2]", 400),
        ("PATCH", web, merge, "not json", 400),
        (
            "PATCH",
            web,
            strategic,
            r#"{"spec":{"template":{"spec":{"containers":[1]}}}}"#,
            400,
        ),
        (
            "PATCH",
            web,
            strategic,
            r#"{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}"#,
            400,
        ),
        ("PATCH", web, strategic, r#"{"$patch":"explode"}"#, 400),
        (
            "PATCH",
            web,
            strategic,
            r#"{"spec":{"$retainKeys":"replicas"}}"#,
            400,
        ),
        (
            "PATCH",
            web,
            json_patch,
            r#"[{"op":"remove","path":"/nope/deeper"}]"#,
            422,
        ),
        (
            "PATCH",
            web,
            json_patch,
            r#"[{"op":"jump","path":"/spec"}]"#,
            400,
        ),
        ("PATCH", web, merge, r#"{"spec":{"replicas":"many"}}"#, 422),
        ("PATCH", web, merge, r#"{"metadata":{"name":"other"}}"#, 400),
        ("PUT", web, json, "[]", 400),
        (
            "PUT",
            web,
            json,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"}}"#,
            400,
        ),
        ("POST", "/apis/apps/v1/deployments", json, "{}", 404),
        (
            "POST",
            "/apis/apps/v1/namespaces/default/deployments",
            json,
            r#"{"metadata":{}}"#,
            422,
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods?limit=many",
            None,
            "",
            400,
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods?watch=true&resourceVersion=abc",
            None,
            "",
            400,
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=-1",
            None,
            "",
            400,
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods?watch=true&sendInitialEvents=true",
            None,
            "",
            422,
        ),
        ("DELETE", web, json, "not json", 400),
        (
            "DELETE",
            "/api/v1/namespaces/default/pods?gracePeriodSeconds=soon",
            None,
            "",
            400,
        ),
        (
            "PUT",
            "/apis/apps/v1/namespaces/default/deployments/web/scale",
            json,
            r#"{"spec":{"replicas":-3}}"#,
            422,
        ),
        (
            "POST",
            "/apis/apps/v1/namespaces/default/deployments/web",
            json,
            "{}",
            405,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/pods",
            Some("application/vnd.kubernetes.protobuf"),
            "k8s\0garbage",
            415,
        ),
    ];
    for (method, path, ct, body, want) in cases {
        let a = common::call(&client, method, path, *ct, body).await;
        assert_eq!(a.status, *want, "{method} {path} {body}: {}", a.text);
        assert_eq!(a.json["kind"], "Status", "{method} {path}: {}", a.text);
        assert_eq!(a.json["code"], *want);
    }
    let stored = sb
        .store()
        .get(&sandbox::resources::DEPLOYMENTS, "default", "web")
        .unwrap();
    assert_eq!(stored["spec"]["replicas"], 2, "nothing changed");
}
