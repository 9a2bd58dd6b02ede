//! [`ClientLayer`]: a CLIENT span per outgoing request, and its context in the headers.

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use ::http::{Request, Response};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;
use tower_layer::Layer;
use tower_service::Service;

use super::future::{self, Active, ResponseFuture, Side};
use super::headers::HeaderInjector;
use super::url;
use crate::RedactionPolicy;
use crate::telemetry;

#[derive(Debug, Clone)]
struct Config {
    policy: RedactionPolicy,
}

/// A tower [`Layer`] for HTTP clients (hyper-util's client, tonic channels, any
/// `http::Request` → `http::Response` service): a CLIENT span per request, whose
/// context goes out in the request's `traceparent` (and `baggage`) headers. See the
/// [module docs](super) for what it records.
#[derive(Debug, Clone)]
#[must_use = "a layer does nothing until it wraps a service"]
pub struct ClientLayer {
    config: Arc<Config>,
}

impl Default for ClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientLayer {
    /// A layer masking `url.full` with [`RedactionPolicy::default`].
    pub fn new() -> Self {
        ClientLayer {
            config: Arc::new(Config {
                policy: url::query_policy(RedactionPolicy::default()),
            }),
        }
    }

    /// The policy that masks `url.full`'s query and path; see
    /// [`ServerLayer::redaction_policy`](super::ServerLayer::redaction_policy).
    pub fn redaction_policy(self, policy: RedactionPolicy) -> Self {
        ClientLayer {
            config: Arc::new(Config {
                policy: url::query_policy(policy),
            }),
        }
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`ClientLayer`] makes.
#[derive(Debug, Clone)]
pub struct ClientService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, B, ResB> Service<Request<B>> for ClientService<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let Some(telemetry) = telemetry::current() else {
            crate::propagation::inject_current(&mut HeaderInjector(request.headers_mut()));
            return ResponseFuture::passthrough(self.inner.call(request));
        };
        let builder = span_builder(&self.config, &request);
        let context =
            Context::map_current(|parent| future::start_span(&telemetry, builder, parent));
        crate::propagation::inject(&context, &mut HeaderInjector(request.headers_mut()));
        let active = Active::span(context, Side::Client, false);
        let inner = {
            let _active = active.context().clone().attach();
            self.inner.call(request)
        };
        ResponseFuture::new(inner, active)
    }
}

fn span_builder<B>(config: &Config, request: &Request<B>) -> opentelemetry::trace::SpanBuilder {
    let mut builder = future::builder(request.method(), None, SpanKind::Client, 5);
    let attributes = builder.attributes.get_or_insert_with(Vec::new);
    let uri = request.uri();
    let authority = uri.authority().map(|a| a.as_str()).or_else(|| {
        request
            .headers()
            .get(::http::header::HOST)
            .and_then(|h| h.to_str().ok())
    });
    if let Some((host, port)) = authority.and_then(url::host_and_port) {
        attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, host.to_owned()));
        if let Some(port) = port.or_else(|| url::default_port(uri.scheme_str())) {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
        }
    }
    if let Some(full) = url::full_url(uri, &config.policy) {
        attributes.push(KeyValue::new(semconv::URL_FULL, full));
    }
    builder
}
