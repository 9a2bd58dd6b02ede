//! `ClientLayer` over real HTTP on loopback: a hyper-util client calling the axum app
//! behind `ServerLayer`, a tonic channel calling a tonic server, and the one-line
//! `current_trace_headers` for clients that are not tower-based.

#[path = "support/http_app.rs"]
mod http_app;
#[path = "support/receiver.rs"]
mod receiver;

use booking_otel::Step;
use booking_otel::http::{ClientLayer, ServerLayer, current_trace_headers};
use booking_otel::testing::{SpanDataExt, TestTelemetry, tree};
use bytes::Bytes;
use http_app::{install_propagator, request, router, send, serve};
use http_body_util::BodyExt;
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use tower::{Service, ServiceBuilder, ServiceExt};

fn string(span: &SpanData, key: &str) -> Option<String> {
    span.attribute(key).map(Value::to_string)
}

fn int(span: &SpanData, key: &str) -> Option<i64> {
    match span.attribute(key) {
        Some(Value::I64(v)) => Some(*v),
        other => panic!("{key} is {other:?}, not an integer"),
    }
}

fn only(spans: &[SpanData], kind: SpanKind) -> &SpanData {
    let mut matching = spans.iter().filter(|s| s.span_kind == kind);
    match (matching.next(), matching.next()) {
        (Some(span), None) => span,
        _ => panic!("not exactly one {kind:?} span:\n{}", tree(spans)),
    }
}

/// The traced client the tests use: hyper-util's legacy client under `ClientLayer`.
async fn call(
    uri: &str,
    method: &str,
) -> Result<(http::StatusCode, Bytes), hyper_util::client::legacy::Error> {
    let mut client = ServiceBuilder::new()
        .layer(ClientLayer::new())
        .service(http_app::client());
    let response = client.ready().await?.call(request(method, uri)).await?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Ok((status, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_span_is_the_parent_of_the_server_span() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    let (status, body) = Step::new("booking.create")
        .instrument(async {
            call(&format!("http://{address}/bookings/42"), "GET")
                .await
                .ok()
        })
        .await
        .unwrap();
    assert_eq!((status.as_u16(), &body[..]), (200, &b"booking 42"[..]));

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 4, "{}", tree(&spans));
    let create = telemetry.span("booking.create");
    let client = only(&spans, SpanKind::Client);
    let server = only(&spans, SpanKind::Server);
    let load = telemetry.span("booking.load_booking");
    assert_eq!(client.name, "GET");
    assert_eq!(client.parent_span_id, create.span_context.span_id());
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_span_is_remote);
    assert_eq!(load.parent_span_id, server.span_context.span_id());
    for span in &spans {
        assert_eq!(span.span_context.trace_id(), create.span_context.trace_id());
    }

    assert_eq!(
        string(client, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        string(client, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(int(client, "server.port"), Some(i64::from(address.port())));
    assert_eq!(
        string(client, "url.full").as_deref(),
        Some(format!("http://{address}/bookings/42").as_str())
    );
    assert_eq!(int(client, "http.response.status_code"), Some(200));
    assert_eq!(client.status, Status::Unset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_full_has_no_credentials_and_no_secrets() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    let port = address.port();
    let (status, _) = call(
        &format!(
            "http://alice:s3cret@127.0.0.1:{port}/search?card=4111111111111111&cvv=123&page=2&token=abc"
        ),
        "GET",
    )
    .await
    .unwrap();
    assert_eq!(status, 200);

    let spans = telemetry.spans();
    let client = only(&spans, SpanKind::Client);
    assert_eq!(
        string(client, "url.full").unwrap(),
        format!(
            "http://REDACTED:REDACTED@127.0.0.1:{port}/search?card=REDACTED&cvv=REDACTED&page=2&token=REDACTED"
        )
    );
    let server = only(&spans, SpanKind::Server);
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    let everything = format!("{spans:?}");
    for secret in ["4111", "s3cret", "alice", "abc"] {
        assert!(!everything.contains(secret), "{secret} in {everything}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_4xx_and_5xx_are_errors() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    let (status, _) = call(&format!("http://{address}/bookings"), "POST")
        .await
        .unwrap();
    assert_eq!(status, 409);
    let spans = telemetry.spans();
    let client = only(&spans, SpanKind::Client);
    let server = only(&spans, SpanKind::Server);
    assert_eq!(client.name, "POST");
    assert!(
        matches!(client.status, Status::Error { .. }),
        "{:?}",
        client.status
    );
    assert_eq!(string(client, "error.type").as_deref(), Some("409"));
    assert_eq!(int(client, "http.response.status_code"), Some(409));
    assert_eq!(
        server.status,
        Status::Unset,
        "the server's view: the client's fault"
    );

    let telemetry = TestTelemetry::install();
    let (status, _) = call(&format!("http://{address}/bookings/1/charge"), "POST")
        .await
        .unwrap();
    assert_eq!(status, 500);
    let spans = telemetry.spans();
    let client = only(&spans, SpanKind::Client);
    assert_eq!(string(client, "error.type").as_deref(), Some("500"));
    assert!(matches!(
        only(&spans, SpanKind::Server).status,
        Status::Error { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transport_error_is_an_error_with_its_type() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    // A port nobody listens on: bound, then closed.
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let error = call(&format!("http://{address}/bookings/1"), "GET")
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");

    let spans = telemetry.spans();
    let client = only(&spans, SpanKind::Client);
    assert!(matches!(client.status, Status::Error { .. }));
    assert_eq!(string(client, "error.type").as_deref(), Some("Error"));
    assert_eq!(client.attribute("http.response.status_code"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_empty_header_is_sent() {
    install_propagator();
    let _telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    let (_, body) = call(&format!("http://{address}/headers"), "GET")
        .await
        .unwrap();
    let headers = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        headers.lines().any(|l| l.starts_with("traceparent=00-")),
        "{headers}"
    );
    assert!(
        headers.lines().all(|l| !l.ends_with('=')),
        "an empty header was sent:\n{headers}"
    );
    assert!(!headers.contains("tracestate"), "{headers}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_trace_headers_is_the_one_line_for_other_clients() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    let address = serve(router(ServerLayer::new())).await;

    // What a reqwest user writes: `.headers(current_trace_headers())` inside the step.
    Step::new("booking.process_payment")
        .instrument(async {
            let mut get = request("GET", &format!("http://{address}/bookings/8"));
            get.headers_mut().extend(current_trace_headers());
            let (parts, _) = send(get).await;
            Some(parts.status)
        })
        .await;

    let spans = telemetry.spans();
    let payment = telemetry.span("booking.process_payment");
    let server = only(&spans, SpanKind::Server);
    assert_eq!(server.parent_span_id, payment.span_context.span_id());
    assert_eq!(
        server.span_context.trace_id(),
        payment.span_context.trace_id()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_channel_client_span_is_the_parent_of_the_tonic_server_span() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;

    install_propagator();
    let telemetry = TestTelemetry::install();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server_layer =
        ServerLayer::new().route_extractor(|parts| Some(parts.uri.path().to_owned().into()));
    let receiver = receiver::Receiver::default();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(server_layer)
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    let origin: http::Uri = format!("http://{address}").parse().unwrap();
    let channel = tonic::transport::Channel::builder(origin.clone())
        .connect()
        .await
        .unwrap();
    let channel = ServiceBuilder::new()
        .layer(ClientLayer::new())
        .service(channel);
    let mut client = TraceServiceClient::with_origin(channel, origin);
    Step::new("booking.export")
        .instrument(async {
            client
                .export(ExportTraceServiceRequest::default())
                .await
                .ok()
        })
        .await
        .unwrap();
    assert_eq!(receiver.requests.lock().unwrap().len(), 1);

    let spans = telemetry.spans();
    let export = telemetry.span("booking.export");
    let client = only(&spans, SpanKind::Client);
    let server = only(&spans, SpanKind::Server);
    const METHOD: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    assert_eq!(client.name, "POST");
    assert_eq!(server.name, format!("POST {METHOD}"));
    assert_eq!(client.parent_span_id, export.span_context.span_id());
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert_eq!(
        server.span_context.trace_id(),
        export.span_context.trace_id()
    );
    assert_eq!(
        string(client, "url.full").as_deref(),
        Some(format!("http://{address}{METHOD}").as_str())
    );
    assert_eq!(int(client, "server.port"), Some(i64::from(address.port())));
    assert_eq!(
        string(server, "network.protocol.version").as_deref(),
        Some("2")
    );
    assert_eq!(string(server, "http.route").as_deref(), Some(METHOD));
    assert_eq!(int(server, "http.response.status_code"), Some(200));
    assert_eq!(server.status, Status::Unset);
}
