//! [`ServerLayer`]: a SERVER span per request, in the trace the caller sent.

use std::borrow::Cow;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use ::http::request::Parts;
use ::http::{Request, Response};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;
use tower_layer::Layer;
use tower_service::Service;

use super::future::{self, Active, ResponseFuture, Side};
use super::url;
use crate::RedactionPolicy;
use crate::telemetry::{self, ScopedTelemetry};

type RouteFn = dyn Fn(&Parts) -> Option<Cow<'static, str>> + Send + Sync;

#[derive(Clone)]
struct Config {
    excluded_paths: Vec<String>,
    excluded_routes: Vec<String>,
    response_traceparent: bool,
    route: Option<Arc<RouteFn>>,
    policy: RedactionPolicy,
    /// The test kit's context where the layer was built: requests served on other
    /// tasks are handled in it, so that their spans belong to that test. `None`
    /// outside the test kit.
    base: Option<Context>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLayer")
            .field("excluded_paths", &self.excluded_paths)
            .field("excluded_routes", &self.excluded_routes)
            .field("response_traceparent", &self.response_traceparent)
            .field("route_extractor", &self.route.is_some())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A tower [`Layer`] that gives every request a SERVER span in the trace its caller
/// sent: for axum, tonic, hyper and any `http::Request` → `http::Response` service.
/// See the [module docs](super) for what it records.
///
/// ```
/// use booking_otel::http::ServerLayer;
/// let layer = ServerLayer::new()
///     .exclude_route("/healthz")
///     .response_traceparent(true);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
#[must_use = "a layer does nothing until it wraps a service"]
pub struct ServerLayer {
    config: Arc<Config>,
}

impl Default for ServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerLayer {
    /// A layer with the defaults: every request traced, no `traceparent` in responses,
    /// query parameters masked with [`RedactionPolicy::default`].
    ///
    /// Built inside a [`TestTelemetry`](crate::testing::TestTelemetry) scope, the layer
    /// handles its requests in the context it was built in, so their spans belong to
    /// that test (servers run requests on tasks that do not carry the test's context).
    /// Build it outside any step there: a step current at construction would be the
    /// parent of every request that brings no trace context.
    pub fn new() -> Self {
        let base =
            Context::map_current(|cx| cx.get::<ScopedTelemetry>().is_some().then(|| cx.clone()));
        ServerLayer {
            config: Arc::new(Config {
                excluded_paths: Vec::new(),
                excluded_routes: Vec::new(),
                response_traceparent: false,
                route: None,
                policy: url::query_policy(RedactionPolicy::default()),
                base,
            }),
        }
    }

    fn map(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Requests for exactly this path (`/healthz`) pass through untraced: no span, no
    /// context.
    pub fn exclude_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.map(|c| c.excluded_paths.push(path))
    }

    /// Requests whose route (`http.route`: axum's matched path, or what the
    /// [`route_extractor`](Self::route_extractor) returns) is exactly this pass through
    /// untraced.
    pub fn exclude_route(self, route: impl Into<String>) -> Self {
        let route = route.into();
        self.map(|c| c.excluded_routes.push(route))
    }

    /// Writes the SERVER span's `traceparent` into every response, so that a support
    /// team can ask a customer for it. Off by default: it tells the caller your trace
    /// id.
    pub fn response_traceparent(self, enabled: bool) -> Self {
        self.map(|c| c.response_traceparent = enabled)
    }

    /// How to find the route template (`/bookings/{id}`) of a request for services
    /// that are not axum routers: it becomes `http.route` and part of the span name.
    /// Return a template, never the raw path (unless the path has no variable part,
    /// as a gRPC method's `/package.Service/Method`). Takes precedence over axum's
    /// `MatchedPath`; returning `None` falls back to it.
    ///
    /// ```
    /// use booking_otel::http::ServerLayer;
    /// // tonic: the gRPC method is the route.
    /// let layer = ServerLayer::new().route_extractor(|parts| Some(parts.uri.path().to_owned().into()));
    /// # let _ = layer;
    /// ```
    pub fn route_extractor<F>(self, route: F) -> Self
    where
        F: Fn(&Parts) -> Option<Cow<'static, str>> + Send + Sync + 'static,
    {
        self.map(|c| c.route = Some(Arc::new(route)))
    }

    /// The policy that masks `url.query` and `url.path` (default
    /// [`RedactionPolicy::default`]). Query parameters whose key it denies, or with the
    /// words `card`, `cvv`, `token`, `password`, `signature`, `otp`, and those whose
    /// value it would change, are replaced by `REDACTED`.
    pub fn redaction_policy(self, policy: RedactionPolicy) -> Self {
        let policy = url::query_policy(policy);
        self.map(|c| c.policy = policy)
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`ServerLayer`] makes.
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, B, ResB> Service<Request<B>> for ServerService<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let config = &*self.config;
        if config
            .excluded_paths
            .iter()
            .any(|p| p == request.uri().path())
        {
            return ResponseFuture::passthrough(self.inner.call(request));
        }
        let (request, route) = route_of(config, request);
        if let Some(route) = &route
            && config.excluded_routes.iter().any(|r| r == route)
        {
            return ResponseFuture::passthrough(self.inner.call(request));
        }

        let _base = config.base.clone().map(Context::attach);
        let parent = crate::propagation::extract_from(request.headers());
        let active = match telemetry::current() {
            Some(telemetry) => {
                let builder = span_builder(config, &request, route.as_deref());
                let context = future::start_span(&telemetry, builder, &parent);
                Active::span(context, Side::Server, config.response_traceparent)
            }
            None => Active::context_only(parent),
        };
        let inner = {
            let _active = active.context().clone().attach();
            self.inner.call(request)
        };
        ResponseFuture::new(inner, active)
    }
}

/// The request's route: the extractor's, else axum's matched path.
fn route_of<B>(config: &Config, request: Request<B>) -> (Request<B>, Option<Cow<'static, str>>) {
    if let Some(extract) = &config.route {
        let (parts, body) = request.into_parts();
        let route = extract(&parts);
        let request = Request::from_parts(parts, body);
        if route.is_some() {
            return (request, route);
        }
        let route = matched_path(&request);
        return (request, route);
    }
    let route = matched_path(&request);
    (request, route)
}

#[cfg(feature = "axum")]
fn matched_path<B>(request: &Request<B>) -> Option<Cow<'static, str>> {
    request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|path| Cow::Owned(path.as_str().to_owned()))
}

#[cfg(not(feature = "axum"))]
fn matched_path<B>(_request: &Request<B>) -> Option<Cow<'static, str>> {
    None
}

fn span_builder<B>(
    config: &Config,
    request: &Request<B>,
    route: Option<&str>,
) -> opentelemetry::trace::SpanBuilder {
    let mut builder = future::builder(request.method(), route, SpanKind::Server, 11);
    let attributes = builder.attributes.get_or_insert_with(Vec::new);
    let uri = request.uri();
    attributes.push(KeyValue::new(
        semconv::URL_PATH,
        url::mask_path(uri.path(), &config.policy).into_owned(),
    ));
    let scheme = match uri.scheme_str() {
        None | Some("http") => Cow::Borrowed("http"),
        Some("https") => Cow::Borrowed("https"),
        Some(other) => Cow::Owned(other.to_owned()),
    };
    attributes.push(KeyValue::new(semconv::URL_SCHEME, scheme));
    if let Some(query) = uri.query() {
        attributes.push(KeyValue::new(
            semconv::URL_QUERY,
            url::mask_query(query, &config.policy).into_owned(),
        ));
    }
    if let Some(route) = route {
        attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route.to_owned()));
    }
    let headers = request.headers();
    if let Some(agent) = headers.get(::http::header::USER_AGENT) {
        attributes.push(KeyValue::new(
            semconv::USER_AGENT_ORIGINAL,
            String::from_utf8_lossy(agent.as_bytes()).into_owned(),
        ));
    }
    // HTTP/2 and absolute-form requests carry the authority in the URI; HTTP/1.1 in Host.
    let authority = uri.authority().map(|a| a.as_str()).or_else(|| {
        headers
            .get(::http::header::HOST)
            .and_then(|h| h.to_str().ok())
    });
    if let Some((host, port)) = authority.and_then(url::host_and_port) {
        attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, host.to_owned()));
        if let Some(port) = port {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
        }
    }
    if let Some(version) = future::protocol_version(request.version()) {
        attributes.push(KeyValue::new(semconv::NETWORK_PROTOCOL_VERSION, version));
    }
    builder
}
