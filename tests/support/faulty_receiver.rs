//! An OTLP/gRPC trace receiver on 127.0.0.1 that can be slowed down (each export waits)
//! and stopped mid-run; it counts spans instead of keeping them, so long runs stay small.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

#[derive(Clone, Default)]
struct Counting {
    spans: Arc<AtomicU64>,
    delay_ms: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl TraceService for Counting {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let delay = self.delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let spans: usize = request
            .into_inner()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.spans.fetch_add(spans as u64, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A receiver serving on its own runtime until [`Faulty::stop`] or drop.
pub struct Faulty {
    pub address: SocketAddr,
    state: Counting,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Faulty {
    /// Starts a healthy receiver on 127.0.0.1 at a free port.
    pub fn start() -> Self {
        let state = Counting::default();
        let (address, runtime) = super::receiver::serve(
            tonic::transport::Server::builder().add_service(TraceServiceServer::new(state.clone())),
        );
        Faulty {
            address,
            state,
            runtime: Some(runtime),
        }
    }

    /// The endpoint for `Setup::otlp_endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every export waits this long before it is answered.
    pub fn set_delay(&self, delay: Duration) {
        self.state
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// Stops serving: connections are refused from now on.
    pub fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Spans received so far.
    pub fn spans(&self) -> u64 {
        self.state.spans.load(Ordering::Relaxed)
    }
}

impl Drop for Faulty {
    fn drop(&mut self) {
        self.stop();
    }
}
