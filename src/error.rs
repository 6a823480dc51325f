//! Everything that can go wrong, each with what the user needs to act, and its exit code.
//!
//! Exit codes (stable; scripts may rely on them):
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success |
//! | 1    | unexpected internal error |
//! | 2    | usage error (unknown flag, missing argument) |
//! | 3    | configuration error (kubeconfig missing or malformed, unknown context, incomplete context) |
//! | 4    | not found / not a blue/green pair |
//! | 5    | preconditions not met, or refused (not ready, no confirmation) |
//! | 6    | verification failed and traffic was put back |
//! | 7    | conflict with a concurrent change |
//! | 8    | API or connection error (unreachable, TLS, timeout, server error) |
//! | 9    | unauthorized (401), forbidden (403), or credentials not obtained (exec plugin failed) |
//! | 10   | cleanup stopped: the live colour stopped serving; the old colour was left running |
//! | 11   | `status --check`: production has no ready endpoint, or its selector was put back since the last release |
//! | 130  | interrupted |

use std::path::PathBuf;
use std::time::Duration;

use crate::duration::humanize;

/// The lower-level error behind one of ours (the client's, with its own causes under it),
/// kept for [`std::error::Error::source`]. Only transport errors keep one: the causes of
/// kubeconfig and credential errors may quote a file or a plugin's output, which can hold
/// secrets, so those are told in words of their own.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Success.
pub const EXIT_OK: u8 = 0;
/// An unexpected internal error (a bug).
pub const EXIT_INTERNAL: u8 = 1;
/// A usage error: clap rejected the command line.
pub const EXIT_USAGE: u8 = 2;
/// A configuration error: kubeconfig missing or malformed, unknown or incomplete context.
pub const EXIT_CONFIG: u8 = 3;
/// The Service, namespace or pair was not found, or the Service is not a blue/green pair.
pub const EXIT_NOT_FOUND: u8 = 4;
/// Preconditions not met or the change was refused (not ready, no confirmation).
pub const EXIT_PRECONDITION: u8 = 5;
/// Verification after a flip failed and traffic was put back.
pub const EXIT_VERIFICATION: u8 = 6;
/// A concurrent change conflicted with ours; nothing was changed.
pub const EXIT_CONFLICT: u8 = 7;
/// The API server could not be reached or answered with an error.
pub const EXIT_API: u8 = 8;
/// The API server rejected the credentials (401) or the request (403), or the credentials could
/// not be obtained (an exec plugin failed).
pub const EXIT_AUTH: u8 = 9;
/// The cleanup of the old colour was stopped because the live colour no longer serves as it did
/// when it was verified; the old colour was left as it is, so the way back stays open.
pub const EXIT_CLEANUP_HELD: u8 = 10;
/// `status --check`: production is not as the last release left it.
pub const EXIT_PRODUCTION_PROBLEM: u8 = 11;
/// Interrupted (Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 130;

/// What the plugin reports when it cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig named by `--kubeconfig` (or every file listed in `KUBECONFIG`) does not exist.
    #[error(
        "kubeconfig {} does not exist; check --kubeconfig or KUBECONFIG",
        display_paths(paths)
    )]
    KubeconfigMissing {
        /// The files that were looked for.
        paths: Vec<PathBuf>,
    },

    /// No kubeconfig anywhere and not running inside a cluster.
    #[error(
        "no cluster configuration found: no kubeconfig at {} and not running in a pod \
         (KUBERNETES_SERVICE_HOST is unset); pass --kubeconfig PATH or set KUBECONFIG",
        display_paths(tried)
    )]
    NoConfiguration {
        /// The kubeconfig files that were looked for.
        tried: Vec<PathBuf>,
    },

    /// A kubeconfig file exists but cannot be read or parsed.
    #[error("kubeconfig {} cannot be used: {reason}", path.display())]
    KubeconfigInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its content).
        reason: String,
    },

    /// The kubeconfig has no current context and none was given with `--context`.
    #[error(
        "kubeconfig {source_files} sets no current-context; pick one with --context ({})",
        available_list(available)
    )]
    NoCurrentContext {
        /// The kubeconfig file(s).
        source_files: String,
        /// The contexts it defines.
        available: Vec<String>,
    },

    /// The requested context is not defined in the kubeconfig.
    #[error(
        "context {context:?} is not defined in kubeconfig {source_files}; available contexts: {}",
        available_list(available)
    )]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The kubeconfig file(s).
        source_files: String,
        /// The contexts it defines.
        available: Vec<String>,
    },

    /// The context names a cluster or user that the kubeconfig does not define.
    #[error(
        "context {context:?} in kubeconfig {source_files} names {kind} {name:?}, which is not defined there"
    )]
    IncompleteContext {
        /// The context.
        context: String,
        /// The kubeconfig file(s).
        source_files: String,
        /// `cluster` or `user`.
        kind: &'static str,
        /// The missing entry's name.
        name: String,
    },

    /// The context's cluster or user settings cannot be turned into a client.
    #[error("context {context:?} cannot be used: {reason}")]
    InvalidContext {
        /// The context.
        context: String,
        /// What is wrong (server URL, certificate data, ...), never a credential.
        reason: String,
    },

    /// Running in a pod, but its service-account configuration is unusable.
    #[error(
        "in-cluster configuration cannot be used (KUBERNETES_SERVICE_HOST is set): {reason}; \
         check that the pod mounts its service account under \
         /var/run/secrets/kubernetes.io/serviceaccount, or pass --kubeconfig"
    )]
    InCluster {
        /// What is wrong.
        reason: String,
    },

    /// The API server did not accept a connection.
    #[error(
        "cannot reach the API server {server} (context {context:?}): {reason}; \
         check that the cluster is running and reachable from here"
    )]
    Unreachable {
        /// The server URL.
        server: String,
        /// The context.
        context: String,
        /// What the network said.
        reason: String,
        /// The client's error.
        #[source]
        source: Option<Cause>,
    },

    /// The API server's certificate could not be verified.
    #[error(
        "TLS verification of the API server {server} failed (context {context:?}): {reason}; \
         check the cluster's certificate-authority(-data) in the kubeconfig and that the server \
         name matches its certificate"
    )]
    Tls {
        /// The server URL.
        server: String,
        /// The context.
        context: String,
        /// Why verification failed.
        reason: String,
        /// The client's error.
        #[source]
        source: Option<Cause>,
    },

    /// A request took longer than `--request-timeout` (or the system's own limit on connecting).
    #[error(
        "{request} on {server} timed out{}; raise --request-timeout or check the cluster",
        after.map(|d| format!(" after {}", humanize(d))).unwrap_or_default()
    )]
    Timeout {
        /// The request, e.g. `list pods`.
        request: String,
        /// The server URL.
        server: String,
        /// The limit that was hit; `None` when none was set here (the system's own ran out).
        after: Option<Duration>,
        /// The client's error; `None` when the limit was this plugin's own.
        #[source]
        source: Option<Cause>,
    },

    /// The API server rejected the credentials (HTTP 401).
    #[error(
        "the API server {server} rejected the credentials of context {context:?} (401 Unauthorized); \
         log in again or refresh the token in the kubeconfig"
    )]
    Unauthorized {
        /// The server URL.
        server: String,
        /// The context.
        context: String,
    },

    /// The credentials could not be obtained (exec plugin, token file, OIDC refresh).
    #[error("cannot obtain credentials for context {context:?}: {reason}")]
    Credentials {
        /// The context.
        context: String,
        /// What the credential source said.
        reason: String,
    },

    /// The user may not perform a request (HTTP 403).
    #[error(
        "forbidden: context {context:?} may not {verb} {resource} in namespace {namespace:?}: {message}; \
         ask for a Role granting it (see the README's RBAC section)"
    )]
    Forbidden {
        /// The verb, e.g. `list`.
        verb: String,
        /// The resource, e.g. `deployments.apps`.
        resource: String,
        /// The namespace.
        namespace: String,
        /// The context.
        context: String,
        /// The API server's message.
        message: String,
    },

    /// The API server answered with an error this plugin cannot work around.
    #[error("{request} failed on {server}: {message} (HTTP {code})")]
    Api {
        /// The request, e.g. `list pods`.
        request: String,
        /// The server URL.
        server: String,
        /// The HTTP status.
        code: u16,
        /// The API server's message.
        message: String,
    },

    /// A request failed in transport in a way not covered above.
    #[error("{request} on {server} failed: {reason}")]
    Transport {
        /// The request.
        request: String,
        /// The server URL.
        server: String,
        /// What went wrong.
        reason: String,
        /// The client's error.
        #[source]
        source: Option<Cause>,
    },

    /// The namespace does not exist.
    #[error("namespace {namespace:?} does not exist in context {context:?}; check -n/--namespace")]
    NamespaceNotFound {
        /// The namespace.
        namespace: String,
        /// The context.
        context: String,
    },

    /// The production Service does not exist.
    #[error(
        "Service {service:?} not found in namespace {namespace:?}{}",
        suggest(closest.as_deref(), suggestions)
    )]
    ServiceNotFound {
        /// The Service asked for.
        service: String,
        /// The namespace.
        namespace: String,
        /// The pair-like Service whose name is close to the one asked for.
        closest: Option<String>,
        /// Other Services of the namespace that look like blue/green pairs.
        suggestions: Vec<String>,
    },

    /// The Service has no selector, so it cannot pick a colour (its endpoints are managed by hand).
    #[error(
        "Service {service:?} in namespace {namespace:?} has no selector, so it cannot pick a colour; \
         a blue/green production Service selects pods by a colour label"
    )]
    NoSelector {
        /// The Service.
        service: String,
        /// The namespace.
        namespace: String,
    },

    /// The Service is an ExternalName alias: it has no endpoints, so no selector moves traffic.
    #[error(
        "Service {service:?} in namespace {namespace:?} is of type ExternalName (an alias for \
         {external_name:?}): Kubernetes keeps no endpoints for it, so no selector can move its \
         traffic; name the production Service whose selector picks the colour"
    )]
    ExternalName {
        /// The Service.
        service: String,
        /// The namespace.
        namespace: String,
        /// The DNS name it aliases.
        external_name: String,
    },

    /// No selector entry carries one of the two colours.
    #[error(
        "Service {service:?} selects {selector}, which names neither colour {:?} nor {:?}; \
         name the colour key with --label KEY and the values with --colors A,B",
        colours[0], colours[1]
    )]
    NoColour {
        /// The Service.
        service: String,
        /// Its selector, as `k=v,k=v`.
        selector: String,
        /// The colours looked for.
        colours: [String; 2],
    },

    /// `--label` names a key the selector does not have, or whose value is not a colour.
    #[error(
        "Service {service:?} selects {selector}: {problem}; \
         check --label and --colors (looking for {:?} or {:?})",
        colours[0], colours[1]
    )]
    LabelMismatch {
        /// The Service.
        service: String,
        /// Its selector.
        selector: String,
        /// What does not fit.
        problem: String,
        /// The colours looked for.
        colours: [String; 2],
    },

    /// `--label` or `--colors` disagrees with what the Service's journal recorded.
    #[error(
        "{flag} disagrees with Service {service:?}'s journal, which recorded {recorded} at its first release; \
         leave the flag out (the recorded pair is used), or correct it"
    )]
    RecordedPairMismatch {
        /// The Service.
        service: String,
        /// The flag as given.
        flag: String,
        /// What the journal says.
        recorded: String,
    },

    /// Several selector entries carry a colour value; the colour key must be named.
    #[error(
        "Service {service:?} selects {selector}: keys {} all hold a colour; name the colour key with --label KEY",
        keys.join(", ")
    )]
    AmbiguousColour {
        /// The Service.
        service: String,
        /// Its selector.
        selector: String,
        /// The keys holding a colour.
        keys: Vec<String>,
    },

    /// More than one Deployment's pods carry one colour's labels.
    #[error(
        "colour {colour:?} has {} Deployments whose pods match {selector}: {}; \
         a colour must be one Deployment — delete or relabel the extra ones",
        deployments.len(), deployments.join(", ")
    )]
    DuplicateDeployments {
        /// The colour.
        colour: String,
        /// The colour's selector.
        selector: String,
        /// The Deployments found.
        deployments: Vec<String>,
    },

    /// Interrupted by the user.
    #[error("interrupted")]
    Interrupted,

    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),

    /// A bug: something that should not happen.
    #[error("internal error: {0}")]
    Internal(String),

    /// The release was refused: a precondition is not met. Nothing was changed.
    #[error("{reason}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Refused {
        /// Why.
        reason: String,
        /// What to do about it.
        hint: Option<String>,
    },

    /// A change needs confirmation but stdin or stderr is not a terminal and `--yes` was not given.
    #[error(
        "refusing to {command} {service} without confirmation: stdin or stderr is not a terminal; \
         review the plan above (or with --dry-run) and pass --yes to proceed. Nothing was changed"
    )]
    NeedsConfirmation {
        /// The command.
        command: String,
        /// The production Service.
        service: String,
    },

    /// The user answered no. Nothing was changed.
    #[error("{command} of {service} not confirmed; nothing was changed")]
    Declined {
        /// The command.
        command: String,
        /// The production Service.
        service: String,
    },

    /// The endpoints did not move to the new colour in time; traffic was put back.
    #[error(
        "verification failed: {detail}; traffic was put back on {back} ({service} selects {back} again)"
    )]
    VerificationFailed {
        /// The production Service.
        service: String,
        /// The colour traffic is on again.
        back: String,
        /// What was seen.
        detail: String,
    },

    /// The live colour stopped serving before its old colour was cleaned up: the cleanup was
    /// not done, so the old colour still runs.
    #[error(
        "cleanup of {old} stopped: {detail}. {old} was left as it is, so traffic can go back to it: `kubectl bluegreen rollback {service}`; once {live} serves again, `kubectl bluegreen cleanup {service}` finishes the release"
    )]
    CleanupHeld {
        /// The production Service.
        service: String,
        /// The colour that serves (or should).
        live: String,
        /// The colour that was to be cleaned up.
        old: String,
        /// What was seen.
        detail: String,
    },

    /// `status --check` found production failing or changed since the last release.
    #[error("{problem}")]
    ProductionProblem {
        /// What is wrong, and the command that restores service.
        problem: String,
    },

    /// Someone else changed the object between our read and our write; ours was not applied.
    #[error("conflict: {detail}")]
    Conflict {
        /// What happened and what state things are in.
        detail: String,
    },

    /// The pre-flight SelfSubjectAccessReviews found requests the user may not make.
    #[error(
        "context {context:?} is missing permissions this command needs in namespace {namespace:?}: {}; \
         nothing was changed. Ask for a Role granting them (see the README's RBAC section)",
        missing.join(", ")
    )]
    PermissionsMissing {
        /// The context.
        context: String,
        /// The namespace.
        namespace: String,
        /// Each denied request, e.g. `patch deployments.apps/scale bluedeploy`.
        missing: Vec<String>,
    },
}

impl Error {
    /// The process exit code for this error (see the module documentation).
    pub fn exit_code(&self) -> u8 {
        use Error::*;
        match self {
            KubeconfigMissing { .. }
            | NoConfiguration { .. }
            | KubeconfigInvalid { .. }
            | NoCurrentContext { .. }
            | UnknownContext { .. }
            | IncompleteContext { .. }
            | InvalidContext { .. }
            | InCluster { .. } => EXIT_CONFIG,
            NamespaceNotFound { .. }
            | ServiceNotFound { .. }
            | NoSelector { .. }
            | ExternalName { .. }
            | NoColour { .. }
            | LabelMismatch { .. }
            | RecordedPairMismatch { .. }
            | AmbiguousColour { .. }
            | DuplicateDeployments { .. } => EXIT_NOT_FOUND,
            Unreachable { .. } | Tls { .. } | Timeout { .. } | Api { .. } | Transport { .. } => {
                EXIT_API
            }
            Unauthorized { .. } | Forbidden { .. } | Credentials { .. } => EXIT_AUTH,
            Interrupted => EXIT_INTERRUPTED,
            Output(_) | Internal(_) => EXIT_INTERNAL,
            Refused { .. } | NeedsConfirmation { .. } | Declined { .. } => EXIT_PRECONDITION,
            VerificationFailed { .. } => EXIT_VERIFICATION,
            CleanupHeld { .. } => EXIT_CLEANUP_HELD,
            ProductionProblem { .. } => EXIT_PRODUCTION_PROBLEM,
            Conflict { .. } => EXIT_CONFLICT,
            PermissionsMissing { .. } => EXIT_AUTH,
        }
    }
}

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn display_paths(paths: &[PathBuf]) -> String {
    match paths {
        [] => "(none)".to_string(),
        [one] => one.display().to_string(),
        many => many
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn available_list(available: &[String]) -> String {
    if available.is_empty() {
        "none defined".to_string()
    } else {
        available.join(", ")
    }
}

fn suggest(closest: Option<&str>, others: &[String]) -> String {
    match (closest, others) {
        (Some(close), []) => format!("; did you mean {close:?}?"),
        (Some(close), others) => format!(
            "; did you mean {close:?}? (other Services here that look like blue/green pairs: {})",
            others.join(", ")
        ),
        (None, []) => String::new(),
        (None, others) => format!(
            "; Services here that look like blue/green pairs: {}",
            others.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_grouped_by_what_the_user_must_do() {
        let config = Error::UnknownContext {
            context: "x".into(),
            source_files: "f".into(),
            available: vec!["a".into()],
        };
        assert_eq!(config.exit_code(), 3);
        let not_found = Error::ServiceNotFound {
            service: "s".into(),
            namespace: "n".into(),
            closest: None,
            suggestions: vec![],
        };
        assert_eq!(not_found.exit_code(), 4);
        let api = Error::Unreachable {
            server: "https://x".into(),
            context: "c".into(),
            reason: "refused".into(),
            source: None,
        };
        assert_eq!(api.exit_code(), 8);
        let auth = Error::Unauthorized {
            server: "https://x".into(),
            context: "c".into(),
        };
        assert_eq!(auth.exit_code(), 9);
        assert_eq!(Error::Interrupted.exit_code(), 130);
    }

    #[test]
    fn service_not_found_suggests_pairs() {
        let e = Error::ServiceNotFound {
            service: "blusvc".into(),
            namespace: "default".into(),
            closest: Some("blueservice".into()),
            suggestions: vec![],
        };
        assert_eq!(
            e.to_string(),
            "Service \"blusvc\" not found in namespace \"default\"; did you mean \"blueservice\"?"
        );
    }
}
