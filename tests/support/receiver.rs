//! A real OTLP/gRPC trace receiver on 127.0.0.1, keeping every request as it arrived.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;

/// Keeps every export request exactly as it arrived.
#[derive(Clone, Default)]
pub struct Receiver {
    pub requests: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.requests
            .lock()
            .expect("receiver lock")
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// An endpoint where nothing listens (a port bound, then freed): every export to it is
/// refused.
pub fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{address}")
}

/// A one-worker runtime of its own (dropping it stops what it serves) and a listener on
/// 127.0.0.1 at a free port, bound on it.
fn listen_on_own_runtime() -> (tokio::runtime::Runtime, tokio::net::TcpListener, SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("receiver runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("local address");
    (runtime, listener, address)
}

/// Serves `router` on 127.0.0.1 at a free port, on a one-worker runtime of its own
/// (dropping the runtime stops it).
pub fn serve(router: tonic::transport::server::Router) -> (SocketAddr, tokio::runtime::Runtime) {
    let (runtime, listener, address) = listen_on_own_runtime();
    runtime.spawn(async move {
        let _ = router
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await;
    });
    (address, runtime)
}

/// A receiver serving on its own runtime; dropped, it stops.
pub struct Running {
    pub receiver: Receiver,
    pub address: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Running {
    /// Starts a receiver on 127.0.0.1 at a free port.
    pub fn start() -> Self {
        let receiver = Receiver::default();
        let (address, runtime) = serve(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(receiver.clone())),
        );
        Running {
            receiver,
            address,
            runtime: Some(runtime),
        }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.receiver
            .requests
            .lock()
            .expect("receiver lock")
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| s.spans.iter().cloned())
            .collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

// --- Logs over gRPC, and OTLP/HTTP ---------------------------------------------------

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::logs::v1::LogRecord;

/// Keeps every log export request exactly as it arrived.
#[derive(Clone, Default)]
pub struct LogsReceiver {
    pub requests: Arc<Mutex<Vec<ExportLogsServiceRequest>>>,
}

#[tonic::async_trait]
impl LogsService for LogsReceiver {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.requests
            .lock()
            .expect("receiver lock")
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

/// A gRPC receiver for traces and logs on one port, on its own runtime.
pub struct RunningWithLogs {
    pub traces: Receiver,
    pub logs: LogsReceiver,
    pub address: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RunningWithLogs {
    /// Starts a traces + logs receiver on 127.0.0.1 at a free port.
    pub fn start() -> Self {
        let (traces, logs) = (Receiver::default(), LogsReceiver::default());
        let (address, runtime) = serve(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(traces.clone()))
                .add_service(LogsServiceServer::new(logs.clone())),
        );
        RunningWithLogs {
            traces,
            logs,
            address,
            runtime: Some(runtime),
        }
    }

    /// Every log record received so far.
    pub fn log_records(&self) -> Vec<LogRecord> {
        log_records(&self.logs.requests.lock().expect("receiver lock"))
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        spans_of(&self.traces.requests.lock().expect("receiver lock"))
    }
}

impl Drop for RunningWithLogs {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn log_records(requests: &[ExportLogsServiceRequest]) -> Vec<LogRecord> {
    requests
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| s.log_records.iter().cloned())
        .collect()
}

fn spans_of(requests: &[ExportTraceServiceRequest]) -> Vec<Span> {
    requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.iter().cloned())
        .collect()
}

/// One OTLP/HTTP request as it arrived: its path and its protobuf body.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub path: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A minimal OTLP/HTTP receiver (HTTP/1.1, keep-alive, `200` with an empty protobuf
/// body) on 127.0.0.1, on its own runtime; dropped, it stops.
pub struct RunningHttp {
    pub requests: Arc<Mutex<Vec<HttpRequest>>>,
    pub address: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RunningHttp {
    pub fn start() -> Self {
        let (runtime, listener, address) = listen_on_own_runtime();
        let requests: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
        let kept = requests.clone();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_http(stream, kept.clone()));
            }
        });
        RunningHttp {
            requests,
            address,
            runtime: Some(runtime),
        }
    }

    /// The base endpoint (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The requests to `path` (`/v1/traces`, `/v1/logs`, `/v1/metrics`).
    pub fn requests_to(&self, path: &str) -> Vec<HttpRequest> {
        self.requests
            .lock()
            .expect("receiver lock")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Every span received, decoded.
    pub fn spans(&self) -> Vec<Span> {
        use prost::Message as _;
        let requests: Vec<ExportTraceServiceRequest> = self
            .requests_to("/v1/traces")
            .iter()
            .map(|r| ExportTraceServiceRequest::decode(r.body.as_slice()).expect("protobuf"))
            .collect();
        spans_of(&requests)
    }

    /// Every log record received, decoded.
    pub fn log_records(&self) -> Vec<LogRecord> {
        use prost::Message as _;
        let requests: Vec<ExportLogsServiceRequest> = self
            .requests_to("/v1/logs")
            .iter()
            .map(|r| ExportLogsServiceRequest::decode(r.body.as_slice()).expect("protobuf"))
            .collect();
        log_records(&requests)
    }
}

impl Drop for RunningHttp {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn serve_http(mut stream: tokio::net::TcpStream, requests: Arc<Mutex<Vec<HttpRequest>>>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        // Read up to the end of the headers.
        let header_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
        let mut lines = head.lines();
        let path = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("")
            .to_owned();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_owned())
                })
                .unwrap_or_default()
        };
        let length: usize = header("content-length").parse().unwrap_or(0);
        let content_type = header("content-type");
        while buffer.len() < header_end + length {
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buffer[header_end..header_end + length].to_vec();
        buffer.drain(..header_end + length);
        requests.lock().expect("receiver lock").push(HttpRequest {
            path,
            content_type,
            body,
        });
        let response =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if stream.write_all(response).await.is_err() {
            return;
        }
    }
}
