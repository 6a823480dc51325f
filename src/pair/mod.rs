//! Understanding the blue/green pair: finding it from the production Service and describing it
//! as a plain snapshot.

pub mod discover;
pub mod journal;
pub mod list;
pub mod owners;
pub mod snapshot;

use k8s_openapi::api::core::v1::Service;

use crate::cluster::Connection;
use crate::error::{Error, Result};

pub use discover::{Identity, PairSpec};
pub use journal::JOURNAL_PREFIX;
pub use snapshot::Snapshot;

/// Reads everything about the pair behind `service` and builds its snapshot. Only reads.
pub async fn load(conn: &Connection, service: &str, spec: &PairSpec) -> Result<Snapshot> {
    let production = production_service(conn, service, spec).await?;
    let identity = discover::identify(&production, &conn.target.namespace, spec)?;
    let selectors = identity
        .colours
        .clone()
        .map(|colour| identity.label_selector_for(&colour));
    let objects = conn.read_pair(production, &selectors).await?;
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
