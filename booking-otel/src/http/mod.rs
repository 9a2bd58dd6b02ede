//! One trace across HTTP services (feature `http`): tower layers for servers and
//! clients, and the `http::HeaderMap` carrier for everything else.
//!
//! - [`ServerLayer`] reads the caller's W3C `traceparent` (and `baggage`) and starts a
//!   SERVER span per request. The span's context is current while the inner service is
//!   called and every time its future is polled, so `#[booking_step]` functions the
//!   handler calls are children of the request with no code in the handler.
//! - [`ClientLayer`] starts a CLIENT span per outgoing request and writes its context
//!   into the request's headers, so the next service's SERVER span is its child.
//! - [`current_trace_headers`] / [`inject_current_into`] are the one line for clients
//!   that are not tower-based (reqwest), [`extract_from`] for servers that are not.
//!
//! Spans go where steps' spans go (the [`Telemetry`](crate::Telemetry) installed by
//! [`setup`](crate::setup) or the test kit, else the global provider) with this crate's
//! instrumentation scope. With nothing installed the layers only propagate.
//!
//! # What the spans record
//!
//! Per the OpenTelemetry HTTP semantic conventions:
//!
//! | | SERVER span | CLIENT span |
//! |---|---|---|
//! | name | `{method} {http.route}`, or `{method}` when no route is known (never the raw path); `HTTP` for a method the conventions do not know | `{method}` |
//! | attributes | `http.request.method` (`_OTHER` plus `http.request.method_original` for unknown methods), `url.path`, `url.scheme`, `url.query`, `http.route`, `http.response.status_code` (an integer), `user_agent.original`, `server.address` / `server.port` (from the URI or `Host`), `network.protocol.version` | `http.request.method`, `server.address`, `server.port`, `url.full`, `http.response.status_code` |
//! | status `Error` | 5xx, and an `Err` from the inner service; 4xx leave it `Unset` (the client's fault) | 4xx and 5xx, and an `Err` from the inner service (connection refused, timeout) |
//! | `error.type` | the status code (`"503"`), or the error's short type name ([`short_type_name`](crate::short_type_name); `_OTHER` for a boxed error), `panic`, `cancelled` | the same |
//!
//! - Secrets never reach the attributes: query parameters whose key names a secret
//!   (`card`, `cvv`, `token`, `password`, `signature`, the redaction policy's denied
//!   keys, the conventions' `AWSAccessKeyId`, `sig`, `X-Goog-Signature`…) and those
//!   whose value holds one (a card number, an email) become `REDACTED`; user info in
//!   `url.full` becomes `REDACTED:REDACTED`; card numbers in paths are masked. The
//!   redaction exporter of [`setup`](crate::setup) scans every attribute again.
//! - The span ends when the response head arrives (not when its body has been
//!   streamed). A future dropped before that ends it with `error.type=cancelled` (a
//!   client that hung up, a timeout layer outside this one), a panic while polling with
//!   `error.type=panic` (the panic keeps unwinding).
//! - Odd input never fails a request: a malformed, oversized or non-UTF-8 `traceparent`
//!   starts a fresh trace (and is not an error); a `Host` that does not parse leaves
//!   `server.address` out; bytes of `User-Agent` that are not UTF-8 become U+FFFD.
//! - Outgoing headers never carry empty values (the stock propagator's empty
//!   `tracestate` is dropped).
//!
//! # axum
//!
//! Add the layer with [`Router::layer`](https://docs.rs/axum/0.8/axum/struct.Router.html#method.layer)
//! **after the routes**: axum then wraps each route (and the fallback) in it, after
//! routing, so the layer sees axum's `MatchedPath` (feature `axum`) and names spans
//! `GET /bookings/{id}`. `Router::route_layer` sees it too, but unmatched requests
//! (404) then get no span. A layer wrapped around the whole router (`ServiceBuilder`
//! over the `Router`, `tower::Layer::layer(&layer, router)`) runs before routing: every
//! span is named `{method}` and has no `http.route`.
//!
//! ```no_run
//! use axum::{Router, routing::get, extract::Path};
//! use booking_otel::{booking_step, http::ServerLayer};
//!
//! #[booking_step(fields(booking.id = id))]
//! async fn load_booking(id: u64) -> Result<String, std::io::Error> {
//!     Ok(format!("booking {id}"))
//! }
//!
//! # async fn serve() -> std::io::Result<()> {
//! let app = Router::new()
//!     .route("/bookings/{id}", get(|Path(id): Path<u64>| async move {
//!         // `booking.load_booking` is a child of the SERVER span `GET /bookings/{id}`.
//!         load_booking(id).await.unwrap_or_default()
//!     }))
//!     .route("/healthz", get(|| async { "ok" }))
//!     .layer(ServerLayer::new().exclude_route("/healthz"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! tonic: `tonic::transport::Server::builder().layer(ServerLayer::new())`; gRPC
//! services have no `MatchedPath`, so give the method as the route with
//! [`ServerLayer::route_extractor`] (`|parts| Some(parts.uri.path().to_owned().into())`).
//!
//! # Clients
//!
//! hyper-util's client (and tonic's `Channel`, which is a tower service too) wrapped in
//! [`ClientLayer`]:
//!
//! ```no_run
//! use booking_otel::http::ClientLayer;
//! use http_body_util::Empty;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower::{Service, ServiceBuilder};
//!
//! # async fn call() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder(TokioExecutor::new())
//!     .build_http::<Empty<bytes::Bytes>>();
//! let mut client = ServiceBuilder::new().layer(ClientLayer::new()).service(client);
//! let request = http::Request::get("http://payments.internal:8080/charges/42")
//!     .body(Empty::new())?;
//! // A CLIENT span `GET`; the request carries its `traceparent`.
//! let response = client.call(request).await?;
//! # let _ = response; Ok(()) }
//! ```
//!
//! For tonic, wrap the channel and give the generated client the origin, which a
//! channel adds only below the layer: `TraceServiceClient::with_origin(
//! ServiceBuilder::new().layer(ClientLayer::new()).service(channel), uri)`; without it
//! the CLIENT span has no `server.address` and no `url.full`.
//!
//! reqwest is not tower-based: add the current context to each request, one line
//! ([`current_trace_headers`]), inside the step that makes the call:
//!
//! ```ignore
//! let response = client
//!     .post("http://payments.internal:8080/charges")
//!     .headers(booking_otel::http::current_trace_headers())
//!     .json(&charge)
//!     .send()
//!     .await?;
//! ```
//!
//! # `tracing`
//!
//! With `tracing-opentelemetry` (0.34, which makes the OTel context of an entered
//! `tracing` span current), a step run inside a handler's `tracing` span is that span's
//! child, and the `tracing` span itself is a child of the SERVER span (both tested on a
//! multi-thread runtime in `tests/http_tracing_interop.rs`).
//!
//! `tracing::info!` inside a step, measured in the same test: tracing-opentelemetry
//! attaches an event to the innermost *`tracing`* span, never to a step (a step is an
//! OpenTelemetry span `tracing` does not know):
//!
//! | where the event is | where it ends up |
//! |---|---|
//! | in a step inside a handler's `tracing` span | an event on that `tracing` span, the step's parent (not on the step) |
//! | in a step with no `tracing` span around it | nowhere in the trace: dropped by tracing-opentelemetry (a `fmt` layer still prints it) |
//! | in a `tracing` span opened inside a step | an event on that span, the step's child |
//!
//! To put an event on a step's span, use [`StartedStep::add_event`](crate::StartedStep::add_event)
//! or open a `tracing` span inside the step.
//!
//! # Test isolation
//!
//! A layer built inside a [`TestTelemetry`](crate::testing::TestTelemetry) scope sends
//! to that test the spans of the requests it serves, although servers run requests on
//! tasks that do not carry the test's context; outside the test kit it keeps nothing.

mod client;
mod future;
mod headers;
mod server;
mod url;

pub use client::{ClientLayer, ClientService};
pub use future::ResponseFuture;
pub use headers::{
    HeaderExtractor, HeaderInjector, current_trace_headers, extract_from, inject_current_into,
};
pub use server::{ServerLayer, ServerService};
pub use url::{REDACTED, full_url, mask_query};
