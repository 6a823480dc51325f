//! Failures to obtain credentials, told without the credentials.
//!
//! An exec credential plugin prints its ExecCredential (the token) on stdout; when it then
//! exits non-zero, the client library's error carries that stdout and prints it. kubectl
//! reports the command and its exit code, and the plugin's stderr reaches the user; so does
//! this module: every credential error is reworded from its parts here, never from the
//! library's own text, before it can reach a message or a log line.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use kube::client::AuthError;
use kube::config::AuthInfo;
use tower::{BoxError, Layer, Service};

/// At most this much of a failed plugin's stderr is quoted (its end, where the reason usually is).
const STDERR_LIMIT: usize = 2000;

/// The credential command the kubeconfig user names, to name it in errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CredentialSource {
    /// `exec.command`, or an auth provider's `cmd-path`.
    command: Option<String>,
    /// `exec.installHint`, shown when the command cannot be started (as kubectl does).
    install_hint: Option<String>,
}

impl CredentialSource {
    /// The command of the user's exec plugin or auth provider, if it has one.
    pub(crate) fn of(user: &AuthInfo) -> Self {
        if let Some(exec) = &user.exec {
            return CredentialSource {
                command: exec.command.clone(),
                install_hint: exec.install_hint.clone().filter(|h| !h.trim().is_empty()),
            };
        }
        CredentialSource {
            command: user
                .auth_provider
                .as_ref()
                .and_then(|p| p.config.get("cmd-path").cloned()),
            install_hint: None,
        }
    }

    fn plugin(&self) -> String {
        match &self.command {
            Some(command) => format!("the exec credential plugin {command:?}"),
            None => "the exec credential plugin".to_string(),
        }
    }

    /// If `err` (or one of its causes) is a failure to obtain credentials, what went wrong, in
    /// words that quote nothing the plugin printed on stdout.
    pub(crate) fn describe(&self, err: &(dyn StdError + 'static)) -> Option<String> {
        let mut cause = Some(err);
        while let Some(e) = cause {
            if let Some(failure) = e.downcast_ref::<CredentialFailure>() {
                return Some(failure.0.clone());
            }
            if let Some(auth) = e.downcast_ref::<AuthError>() {
                return Some(self.describe_auth(auth));
            }
            cause = e.source();
        }
        None
    }

    fn describe_auth(&self, err: &AuthError) -> String {
        match err {
            AuthError::AuthExecRun { out, .. } => {
                let status = match out.status.code() {
                    Some(code) => format!("exit code {code}"),
                    None => out.status.to_string(),
                };
                let mut text = format!("{} failed with {status}", self.plugin());
                let stderr = String::from_utf8_lossy(&out.stderr);
                let stderr = stderr.trim();
                if !stderr.is_empty() {
                    text.push_str("; its stderr: ");
                    text.push_str(tail(stderr, STDERR_LIMIT));
                }
                text
            }
            AuthError::AuthExecStart(io) => {
                let mut text = format!("cannot run {}: {io}", self.plugin());
                if let Some(hint) = &self.install_hint {
                    text.push_str("; ");
                    text.push_str(hint.trim());
                }
                text
            }
            AuthError::AuthExecParse(_) | AuthError::ParseTokenKey(_) => format!(
                "{} printed something that is not an ExecCredential",
                self.plugin()
            ),
            AuthError::ExecPluginFailed => {
                format!(
                    "{} printed an ExecCredential without a status",
                    self.plugin()
                )
            }
            AuthError::MalformedTokenExpirationDate(_) => {
                format!("{} printed a malformed expirationTimestamp", self.plugin())
            }
            AuthError::AuthExec(_) => format!(
                "{} (or auth provider) did not give a usable credential",
                self.plugin()
            ),
            AuthError::ReadTokenFile(io, path) => {
                format!("cannot read the token file {}: {io}", path.display())
            }
            // The remaining variants' messages are fixed texts or name a header parse error.
            other => other.to_string(),
        }
    }
}

/// The end of `text`, at most `limit` bytes, cut at a character boundary.
fn tail(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// A credential failure already put in safe words; it replaces the library's error on the
/// request path, so that no log line or message formats the original.
#[derive(Debug, Clone)]
pub(crate) struct CredentialFailure(String);

impl std::fmt::Display for CredentialFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for CredentialFailure {}

/// A tower layer that rewords credential errors raised while sending a request (an exec
/// plugin run again to refresh an expiring token).
#[derive(Debug, Clone)]
pub(crate) struct CredentialErrorLayer {
    source: Arc<CredentialSource>,
}

impl CredentialErrorLayer {
    /// A layer naming `source`'s command in its errors.
    pub(crate) fn new(source: CredentialSource) -> Self {
        CredentialErrorLayer {
            source: Arc::new(source),
        }
    }
}

impl<S> Layer<S> for CredentialErrorLayer {
    type Service = CredentialErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CredentialErrors {
            inner,
            source: self.source.clone(),
        }
    }
}

/// The service produced by [`CredentialErrorLayer`].
#[derive(Debug, Clone)]
pub(crate) struct CredentialErrors<S> {
    inner: S,
    source: Arc<CredentialSource>,
}

impl<S, Req> Service<Req> for CredentialErrors<S>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner
            .poll_ready(cx)
            .map_err(|e| reword(&self.source, e.into()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let response = self.inner.call(request);
        let source = self.source.clone();
        Box::pin(async move { response.await.map_err(|e| reword(&source, e.into())) })
    }
}

fn reword(source: &CredentialSource, err: BoxError) -> BoxError {
    match source.describe(&*err) {
        Some(text) => Box::new(CredentialFailure(text)),
        None => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn failed_run(script: &str) -> AuthError {
        let out = Command::new("sh")
            .args(["-c", script])
            .output()
            .expect("sh runs");
        AuthError::AuthExecRun {
            cmd: "sh".to_string(),
            out: Box::new(out),
        }
    }

    fn source() -> CredentialSource {
        CredentialSource {
            command: Some("/opt/get-token".to_string()),
            install_hint: None,
        }
    }

    #[test]
    fn a_failed_plugin_is_named_with_its_exit_code_and_stderr_but_not_its_stdout() {
        let err = failed_run(
            "echo '{\"status\":{\"token\":\"secret-token-XYZ\"}}'; echo 'login expired' >&2; exit 3",
        );
        assert!(
            err.to_string().contains("secret-token-XYZ"),
            "the library's text quotes stdout"
        );
        let text = source().describe(&err).expect("a credential error");
        assert_eq!(
            text,
            "the exec credential plugin \"/opt/get-token\" failed with exit code 3; its stderr: login expired"
        );
    }

    #[test]
    fn the_reworded_error_is_found_again_through_its_wrappers() {
        let err = failed_run("echo secret-token-XYZ; exit 1");
        let boxed = reword(&source(), Box::new(err));
        assert!(!boxed.to_string().contains("secret-token-XYZ"));
        let wrapped = kube::Error::Service(boxed);
        let text = CredentialSource::default()
            .describe(&wrapped)
            .expect("found under kube::Error");
        assert!(
            text.contains("/opt/get-token") && text.contains("exit code 1"),
            "{text}"
        );
    }

    #[test]
    fn long_stderr_keeps_its_end() {
        let long = format!("{}é end", "x".repeat(STDERR_LIMIT * 2));
        let t = tail(&long, STDERR_LIMIT);
        assert!(t.len() <= STDERR_LIMIT && t.ends_with("é end"));
    }
}
