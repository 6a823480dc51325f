//! The API server's semantics, one module per semantic (one test binary keeps links and disk small).

mod auth;
mod bad_input;
mod common;
mod conflict;
mod delete;
mod discovery;
mod dry_run;
mod errors;
mod events;
mod faults;
mod field_validation;
mod handle;
mod kube_client;
mod namespaces;
mod pagination;
mod patch;
mod rbac;
mod selectors;
mod subresources;
mod watch;
