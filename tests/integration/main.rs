//! The plugin's integration tests, one binary with a module per topic: most run the built
//! `kubectl-bluegreen` against the in-memory sandbox (`tests/sandbox`) the way a user would;
//! [`both_backends`] runs each of its scenarios on the sandbox and, ignored unless
//! `--include-ignored`, on a real control plane (`tests/control-plane`).
//!
//! ```sh
//! cargo test --test integration                          # everything but the real control plane
//! cargo test --test integration promote_flow::           # one topic
//! cargo test --test integration -- --include-ignored     # the real control plane too
//! ```
//!
//! The fault matrix, crash safety, bad input and completion tests are binaries of their own
//! (`tests/*.rs`); they share [`common`] and [`release_support`] with this one.

#[path = "../backends/mod.rs"]
mod backends;
#[path = "../common/mod.rs"]
mod common;
#[path = "../release_support/mod.rs"]
mod release_support;

mod krew_rules;

mod both_backends;

mod bad_input;
mod cleanup_flow;
mod completion;
mod concurrency;
mod deploy;
mod dry_run_requests;
mod errors;
mod hand_changes;
mod help;
mod journal_unreadable;
mod krew_manifest;
mod kubectl;
mod lifecycle_doc;
mod list;
mod owners;
mod promote_flow;
mod promote_safety;
mod readiness_agreement;
mod release_manifest;
mod rollback_flow;
mod security;
mod sequences;
mod status;
mod status_journal;
