//! Logs each API request's method, path and status for `-v`; never headers or bodies, so no
//! credential can leak through it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower::{Layer, Service};

/// The tracing target of the request log (`-v` enables it).
pub(crate) const TARGET: &str = "kubectl_bluegreen::api";

/// A tower layer that logs every request.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestLogLayer;

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLog { inner }
    }
}

/// The service produced by [`RequestLogLayer`].
#[derive(Debug, Clone)]
pub(crate) struct RequestLog<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestLog<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let method = request.method().clone();
        // The path and query only: the server and any userinfo in the URL stay out of the log.
        let path = request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_default();
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            let elapsed = started.elapsed().as_millis();
            match &result {
                Ok(response) => tracing::info!(
                    target: TARGET,
                    "{method} {path} -> {} ({elapsed} ms)",
                    response.status().as_u16()
                ),
                Err(_) => {
                    tracing::info!(target: TARGET, "{method} {path} -> failed ({elapsed} ms)")
                }
            }
            result
        })
    }
}
