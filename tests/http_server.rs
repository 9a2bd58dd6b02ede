//! `ServerLayer` on a real axum server over loopback: SERVER spans per the HTTP
//! semantic conventions, booking steps as their children, trace continuation, query
//! masking, excluded routes, the optional `traceparent` response header, cancellation.

#[path = "support/http_app.rs"]
mod http_app;

use std::time::Duration;

use booking_otel::http::ServerLayer;
use booking_otel::testing::{SpanDataExt, TestTelemetry, tree};
use http_app::{install_propagator, request, router, send, serve};
use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;

fn string(span: &SpanData, key: &str) -> Option<String> {
    span.attribute(key).map(Value::to_string)
}

fn int(span: &SpanData, key: &str) -> Option<i64> {
    match span.attribute(key) {
        Some(Value::I64(v)) => Some(*v),
        other => panic!("{key} is {other:?}, not an integer"),
    }
}

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_a_server_span_named_by_route_with_the_step_as_child() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    let mut get = request("GET", &format!("http://{address}/bookings/42"));
    get.headers_mut()
        .insert("user-agent", "booking-app/2.1".parse().unwrap());
    let (parts, body) = send(get).await;
    assert_eq!(parts.status, 200);
    assert_eq!(body, "booking 42");
    assert!(parts.headers.get("traceparent").is_none(), "off by default");

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 2, "{}", tree(&spans));
    let server = telemetry.span("GET /bookings/{id}");
    let step = telemetry.span("booking.load_booking");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(
        server.parent_span_id,
        SpanId::INVALID,
        "a root: no traceparent sent"
    );
    assert_eq!(step.parent_span_id, server.span_context.span_id());
    assert_eq!(step.span_context.trace_id(), server.span_context.trace_id());
    assert_eq!(server.instrumentation_scope.name(), "booking-otel");

    assert_eq!(
        string(&server, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        string(&server, "http.route").as_deref(),
        Some("/bookings/{id}")
    );
    assert_eq!(string(&server, "url.path").as_deref(), Some("/bookings/42"));
    assert_eq!(string(&server, "url.scheme").as_deref(), Some("http"));
    assert_eq!(server.attribute("url.query"), None);
    assert_eq!(int(&server, "http.response.status_code"), Some(200));
    assert_eq!(
        string(&server, "user_agent.original").as_deref(),
        Some("booking-app/2.1")
    );
    assert_eq!(
        string(&server, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(int(&server, "server.port"), Some(i64::from(address.port())));
    assert_eq!(
        string(&server, "network.protocol.version").as_deref(),
        Some("1.1")
    );
    assert_eq!(server.status, Status::Unset);
    assert_eq!(server.attribute("error.type"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_codes_500_is_error_4xx_is_unset() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    // 500 from a handler whose step failed.
    let (parts, _) = send(request(
        "POST",
        &format!("http://{address}/bookings/7/charge"),
    ))
    .await;
    assert_eq!(parts.status, 500);
    // 404 from a handler (the step's business "not found").
    let (parts, _) = send(request("GET", &format!("http://{address}/bookings/0"))).await;
    assert_eq!(parts.status, 404);
    // 409 from a handler.
    let (parts, _) = send(request("POST", &format!("http://{address}/bookings"))).await;
    assert_eq!(parts.status, 409);
    // 404 from axum's fallback: no route, so the span is named by the method alone.
    let (parts, _) = send(request(
        "GET",
        &format!("http://{address}/no/such/4111111111111111"),
    ))
    .await;
    assert_eq!(parts.status, 404);

    let spans = telemetry.spans();
    let failed = telemetry.span("POST /bookings/{id}/charge");
    assert_eq!(int(&failed, "http.response.status_code"), Some(500));
    assert!(
        matches!(failed.status, Status::Error { .. }),
        "{:?}",
        failed.status
    );
    assert_eq!(string(&failed, "error.type").as_deref(), Some("500"));
    let charge = telemetry.span("booking.charge_card");
    assert_eq!(charge.parent_span_id, failed.span_context.span_id());
    assert!(matches!(charge.status, Status::Error { .. }));

    let not_found = telemetry.span("GET /bookings/{id}");
    assert_eq!(int(&not_found, "http.response.status_code"), Some(404));
    assert_eq!(not_found.status, Status::Unset, "4xx is the client's fault");
    assert_eq!(not_found.attribute("error.type"), None);

    let conflict = telemetry.span("POST /bookings");
    assert_eq!(int(&conflict, "http.response.status_code"), Some(409));
    assert_eq!(conflict.status, Status::Unset);

    let fallback = telemetry.span("GET");
    assert_eq!(int(&fallback, "http.response.status_code"), Some(404));
    assert_eq!(fallback.attribute("http.route"), None);
    assert_eq!(fallback.status, Status::Unset);
    assert_eq!(
        string(&fallback, "url.path").as_deref(),
        Some("/no/such/************1111"),
        "card numbers in paths are masked"
    );
    assert_eq!(spans.len(), 6, "{}", tree(&spans));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_traceparent_continues_the_trace() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    let mut get = request("GET", &format!("http://{address}/bookings/9"));
    get.headers_mut().insert(
        "traceparent",
        format!("00-{TRACE}-{PARENT}-01").parse().unwrap(),
    );
    let (parts, _) = send(get).await;
    assert_eq!(parts.status, 200);

    let trace_id = TraceId::from_hex(TRACE).unwrap();
    let spans = spans_of_trace(&telemetry, trace_id);
    let server = spans
        .iter()
        .find(|s| s.name == "GET /bookings/{id}")
        .unwrap_or_else(|| panic!("{}", tree(&spans)));
    assert_eq!(server.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert!(server.parent_span_is_remote);
    let step = spans
        .iter()
        .find(|s| s.name == "booking.load_booking")
        .unwrap();
    assert_eq!(step.parent_span_id, server.span_context.span_id());
}

/// The test's spans in `trace_id`: a trace that began in the caller belongs to the test
/// whose layer's SERVER span started first in it.
fn spans_of_trace(telemetry: &TestTelemetry, trace_id: TraceId) -> Vec<SpanData> {
    telemetry
        .spans()
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_traceparents_start_a_fresh_trace_without_error() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    let malformed: [&[u8]; 7] = [
        b"garbage",
        b"00-00000000000000000000000000000000-b7ad6b7169203331-01",
        b"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        b"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\xff",
        b"00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
    ];
    for value in malformed {
        let mut get = request("GET", &format!("http://{address}/bookings/3"));
        get.headers_mut()
            .insert("traceparent", http::HeaderValue::from_bytes(value).unwrap());
        get.headers_mut().insert(
            "baggage",
            http::HeaderValue::from_bytes(b"booking.source=\xfe\xff,,=;;").unwrap(),
        );
        let (parts, body) = send(get).await;
        assert_eq!(parts.status, 200, "{}", String::from_utf8_lossy(value));
        assert_eq!(body, "booking 3");
    }

    let spans = telemetry.spans();
    let servers: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(servers.len(), malformed.len(), "{}", tree(&spans));
    for server in &servers {
        assert_eq!(server.parent_span_id, SpanId::INVALID, "a fresh root");
        assert_ne!(
            server.span_context.trace_id(),
            TraceId::from_hex(TRACE).unwrap()
        );
        assert_eq!(server.status, Status::Unset);
    }
    let mut trace_ids: Vec<TraceId> = servers.iter().map(|s| s.span_context.trace_id()).collect();
    trace_ids.dedup();
    assert_eq!(
        trace_ids.len(),
        malformed.len(),
        "one fresh trace per request"
    );
    // Counted by reason: the non-UTF-8 baggage of every request and one non-UTF-8
    // traceparent are seen as bytes (HeaderMap is a `Headers` carrier), not as absent.
    let rejected = |reason: &'static str| {
        telemetry.counter_sum(
            booking_otel::conventions::metric::PROPAGATION_REJECTED_HEADERS,
            &[opentelemetry::KeyValue::new(
                booking_otel::conventions::attribute::PROPAGATION_REASON,
                reason,
            )],
        )
    };
    assert_eq!(rejected("non_utf8"), 7 + 1);
    assert_eq!(rejected("trace_id_zero"), 1);
    assert_eq!(rejected("span_id_zero"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_query_parameters_are_masked() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    let (parts, _) = send(request(
        "GET",
        &format!(
            "http://{address}/search?card=4111111111111111&cvv=123&page=2&q=4111%201111%201111%201111&access_token=tok_s3cr3t"
        ),
    ))
    .await;
    assert_eq!(parts.status, 200);

    let server = telemetry.span("GET /search");
    assert_eq!(
        string(&server, "url.query").as_deref(),
        Some("card=REDACTED&cvv=REDACTED&page=2&q=REDACTED&access_token=REDACTED")
    );
    // The attributes and events, not the whole span: a random trace id can hold "4111".
    let everything = format!("{:?} {:?}", server.attributes, server.events);
    assert!(!everything.contains("4111"), "{everything}");
    assert!(!everything.contains("s3cr3t"), "{everything}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_health_routes_and_paths_make_no_span() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let layer = ServerLayer::new()
        .exclude_route("/healthz")
        .exclude_path("/bookings/1");
    let address = serve(router(layer)).await;

    let (parts, body) = send(request("GET", &format!("http://{address}/healthz"))).await;
    assert_eq!((parts.status.as_u16(), &body[..]), (200, &b"ok"[..]));
    let (parts, _) = send(request("GET", &format!("http://{address}/bookings/1"))).await;
    assert_eq!(parts.status, 200);
    let (parts, _) = send(request("GET", &format!("http://{address}/bookings/2"))).await;
    assert_eq!(parts.status, 200);

    let spans = telemetry.spans();
    let servers: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(servers.len(), 1, "{}", tree(&spans));
    assert_eq!(
        string(servers[0], "url.path").as_deref(),
        Some("/bookings/2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traceparent_response_header_is_opt_in() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new().response_traceparent(true))).await;

    let (parts, _) = send(request("GET", &format!("http://{address}/bookings/5"))).await;
    let server = telemetry.span("GET /bookings/{id}");
    let expected = format!(
        "00-{}-{}-01",
        server.span_context.trace_id(),
        server.span_context.span_id()
    );
    assert_eq!(parts.headers["traceparent"], expected.as_str());
    // Also on errors, where support needs it most.
    let (parts, _) = send(request(
        "POST",
        &format!("http://{address}/bookings/5/charge"),
    ))
    .await;
    assert_eq!(parts.status, 500);
    assert!(parts.headers.contains_key("traceparent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_ends_the_span_as_cancelled() {
    use tokio::io::AsyncWriteExt;
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    // The client sends a request and closes the connection before the answer.
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stream);

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let server = loop {
        if let Some(span) = telemetry
            .spans()
            .into_iter()
            .find(|s| s.name == "GET /slow")
        {
            break span;
        }
        assert!(std::time::Instant::now() < deadline, "the span never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(string(&server, "error.type").as_deref(), Some("cancelled"));
    assert!(matches!(server.status, Status::Error { .. }));
    assert_eq!(server.attribute("http.response.status_code"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_methods_and_hosts_do_not_panic() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    let mut purge = request("PURGE", &format!("http://{address}/bookings/4"));
    purge.headers_mut().insert(
        "user-agent",
        http::HeaderValue::from_bytes(b"agent \xff\xfe").unwrap(),
    );
    let (parts, _) = send(purge).await;
    assert_eq!(parts.status, 405);
    let mut get = request("GET", &format!("http://{address}/bookings/4"));
    get.headers_mut()
        .insert("host", http::HeaderValue::from_static("[::1"));
    let (parts, _) = send(get).await;
    assert_eq!(parts.status, 200);

    let other = telemetry.span("HTTP /bookings/{id}");
    assert_eq!(
        string(&other, "http.request.method").as_deref(),
        Some("_OTHER")
    );
    assert_eq!(
        string(&other, "http.request.method_original").as_deref(),
        Some("PURGE")
    );
    assert_eq!(
        string(&other, "user_agent.original").as_deref(),
        Some("agent \u{fffd}\u{fffd}")
    );
    let get = telemetry.span("GET /bookings/{id}");
    assert_eq!(
        get.attribute("server.address"),
        None,
        "unparsable Host left out"
    );
}

#[derive(Debug)]
struct UpstreamUnavailable;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_errors_and_panics_are_errors_with_their_type() {
    use tower::{Layer, Service, ServiceExt};
    install_propagator();
    let telemetry = TestTelemetry::install();

    let mut failing = ServerLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
        Err::<http::Response<()>, _>(UpstreamUnavailable)
    }));
    let request = || http::Request::post("/bookings").body(()).expect("request");
    let error = failing.ready().await.unwrap().call(request()).await;
    assert!(error.is_err());

    let mut panicking = ServerLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
        tokio::task::yield_now().await;
        panic!("handler bug");
        #[allow(unreachable_code)]
        Ok::<http::Response<()>, std::convert::Infallible>(http::Response::new(()))
    }));
    let future = panicking.ready().await.unwrap().call(request());
    let joined = tokio::spawn(future).await;
    assert!(joined.unwrap_err().is_panic());

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 2, "{}", tree(&spans));
    for (span, error_type) in spans.iter().zip(["UpstreamUnavailable", "panic"]) {
        assert_eq!(span.name, "POST");
        assert!(
            matches!(span.status, Status::Error { .. }),
            "{:?}",
            span.status
        );
        assert_eq!(string(span, "error.type").as_deref(), Some(error_type));
        assert_eq!(span.attribute("http.response.status_code"), None);
    }
}

/// What the module docs say about placement: `route_layer` sees the route too but
/// unmatched requests get no span; a layer around the whole router sees no route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_placement_decides_whether_the_route_is_known() {
    use axum::Router;
    use axum::routing::get;
    install_propagator();
    let telemetry = TestTelemetry::install();
    let routes = || Router::new().route("/rooms/{id}", get(|| async { "room" }));

    let route_layered = serve(routes().route_layer(ServerLayer::new())).await;
    let (parts, _) = send(request("GET", &format!("http://{route_layered}/rooms/1"))).await;
    assert_eq!(parts.status, 200);
    let (parts, _) = send(request("GET", &format!("http://{route_layered}/nowhere"))).await;
    assert_eq!(parts.status, 404);
    let spans = telemetry.spans();
    assert_eq!(spans.len(), 1, "{}", tree(&spans));
    assert_eq!(spans[0].name, "GET /rooms/{id}");

    let telemetry = TestTelemetry::install();
    let outside = tower::Layer::layer(&ServerLayer::new(), routes());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let around = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, tower::make::Shared::new(outside)).await;
    });
    let (parts, _) = send(request("GET", &format!("http://{around}/rooms/1"))).await;
    assert_eq!(parts.status, 200);
    let spans = telemetry.spans();
    assert_eq!(spans.len(), 1, "{}", tree(&spans));
    assert_eq!(spans[0].name, "GET", "routing happens after the layer");
    assert_eq!(spans[0].attribute("http.route"), None);
}
