//! One suite, two back-ends: every scenario here is written once against
//! [`crate::backends::Cluster`] and runs against the in-memory sandbox (`NAME::sandbox`) and against a
//! real control plane (`NAME::real`: kube-apiserver, etcd, the controllers, the scheduler and
//! kwok; ignored unless `--include-ignored`, after `tests/control-plane/build.sh`).
//!
//! ```sh
//! cargo test --test integration both_backends::                         # the sandbox half
//! cargo test --test integration both_backends:: -- --include-ignored    # both
//! cargo test --test integration both_backends:: -- --ignored            # the real half only
//! ```

pub(crate) mod bad_input_catalogue;
pub(crate) mod pair;

mod bad_input;
mod completion;
mod concurrency;
mod crash;
mod deploy;
mod downtime;
mod hand_changes;
pub(crate) mod list;
mod owners;
mod rbac;
mod release;
mod safety;
mod status;
