//! An axum booking app behind `booking_otel::http::ServerLayer`, served on 127.0.0.1,
//! and a hyper-util client to call it. Included with `#[path]` by the `http_*` tests.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use booking_otel::booking_step;
use booking_otel::http::ServerLayer;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// W3C trace context and baggage, as `setup` installs them.
pub fn install_propagator() {
    use opentelemetry::propagation::TextMapCompositePropagator;
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}

#[derive(Debug, thiserror::Error)]
#[error("booking {0} not found")]
pub struct NotFound(pub u64);

/// A step the handlers call; the test asserts it is the SERVER span's child.
#[booking_step(fields(booking.id = id))]
pub async fn load_booking(id: u64) -> Result<String, NotFound> {
    tokio::task::yield_now().await;
    if id == 0 {
        Err(NotFound(id))
    } else {
        Ok(format!("booking {id}"))
    }
}

/// A step that fails: the handler answers 500.
#[booking_step]
pub async fn charge_card() -> Result<(), std::io::Error> {
    tokio::task::yield_now().await;
    Err(std::io::Error::other("gateway timed out"))
}

/// The routes, with `layer` added by `Router::layer` after them (so it sees
/// `MatchedPath`).
pub fn router(layer: ServerLayer) -> Router {
    Router::new()
        .route(
            "/bookings/{id}",
            get(|Path(id): Path<u64>| async move {
                match load_booking(id).await {
                    Ok(booking) => (StatusCode::OK, booking),
                    Err(error) => (StatusCode::NOT_FOUND, error.to_string()),
                }
            }),
        )
        .route(
            "/bookings/{id}/charge",
            post(|| async {
                match charge_card().await {
                    Ok(()) => (StatusCode::OK, "charged"),
                    Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "payment failed"),
                }
            }),
        )
        .route(
            "/bookings",
            post(|| async { (StatusCode::CONFLICT, "room already booked") }),
        )
        .route("/search", get(|| async { "results" }))
        .route(
            "/headers",
            get(|headers: axum::http::HeaderMap| async move {
                let mut names: Vec<String> = headers
                    .iter()
                    .map(|(name, value)| {
                        format!("{name}={}", String::from_utf8_lossy(value.as_bytes()))
                    })
                    .collect();
                names.sort();
                names.join("\n")
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .layer(layer)
}

/// Serves `app` on 127.0.0.1 at a free port, on the current runtime.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    address
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A request with no body.
pub fn request(method: &str, uri: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::new()))
        .expect("request")
}

/// Sends `request` with a plain client (no layer) and reads the whole response.
pub async fn send(request: http::Request<Full<Bytes>>) -> (http::response::Parts, Bytes) {
    let response = client().request(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    (parts, body)
}
