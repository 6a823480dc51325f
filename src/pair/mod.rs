//! Understanding the blue/green pair: finding it from the production Service and describing it
//! as a plain snapshot.

pub mod discover;
pub mod snapshot;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::cluster::Connection;
use crate::error::{Error, Result};

pub use discover::{Identity, PairSpec};
pub use snapshot::Snapshot;

/// Prefix of the annotations this plugin keeps on the production Service (its journal).
pub const JOURNAL_PREFIX: &str = "bluegreen.dev/";

/// Reads everything about the pair behind `service` and builds its snapshot. Only reads.
pub async fn load(conn: &Connection, service: &str, spec: &PairSpec) -> Result<Snapshot> {
    let production = production_service(conn, service, spec).await?;
    let identity = discover::identify(&production, &conn.target.namespace, spec)?;
    let objects = read_objects(conn, &identity, production).await?;
    snapshot::build(
        &identity,
        &conn.target.namespace,
        &objects,
        jiff::Timestamp::now(),
    )
}

/// Gets the production Service, or explains why it is not there.
async fn production_service(conn: &Connection, name: &str, spec: &PairSpec) -> Result<Service> {
    if let Some(found) = conn.get_opt::<Service>(name).await? {
        return Ok(found);
    }
    let (exists, services) = tokio::try_join!(conn.namespace_exists(), async {
        // Suggestions are a courtesy: a failure to list must not hide the real error.
        Ok(conn.list::<Service>(None).await.unwrap_or_default())
    })?;
    if exists == Some(false) {
        return Err(Error::NamespaceNotFound {
            namespace: conn.target.namespace.clone(),
            context: conn.target.context.clone(),
        });
    }
    let (closest, suggestions) = discover::suggestions(name, &services, &spec.colours);
    Err(Error::ServiceNotFound {
        service: name.to_string(),
        namespace: conn.target.namespace.clone(),
        closest,
        suggestions,
    })
}

/// Reads the rest of the pair concurrently; pods and EndpointSlices are label-selected by the
/// server.
async fn read_objects(
    conn: &Connection,
    identity: &Identity,
    service: Service,
) -> Result<snapshot::Objects> {
    let [first, second] = &identity.colours;
    let first_selector = identity.label_selector_for(first);
    let second_selector = identity.label_selector_for(second);
    let slice_selector = format!("kubernetes.io/service-name={}", identity.service);
    let (deployments, services, first_pods, second_pods, endpoint_slices, hpas) = tokio::try_join!(
        conn.list::<Deployment>(None),
        conn.list::<Service>(None),
        conn.list::<Pod>(Some(&first_selector)),
        conn.list::<Pod>(Some(&second_selector)),
        conn.list::<EndpointSlice>(Some(&slice_selector)),
        optional_hpas(conn),
    )?;
    Ok(snapshot::Objects {
        service,
        deployments,
        services,
        pods: [first_pods, second_pods],
        endpoint_slices,
        hpas,
    })
}

/// HorizontalPodAutoscalers, if the user may read them and the server serves them.
async fn optional_hpas(conn: &Connection) -> Result<Option<Vec<HorizontalPodAutoscaler>>> {
    match conn.list::<HorizontalPodAutoscaler>(None).await {
        Ok(hpas) => Ok(Some(hpas)),
        Err(Error::Forbidden { .. }) | Err(Error::Api { code: 404, .. }) => {
            tracing::debug!("HorizontalPodAutoscalers cannot be read; not shown");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
