//! The one place that builds an OTLP exporter, per signal and transport.
//!
//! Both transports run on the guard's own one-worker tokio runtime, never on the
//! application's: gRPC through tonic (built inside the runtime, whose worker drives the
//! channel), HTTP/protobuf through hyper's client, each request spawned onto the runtime
//! ([`RuntimeHttpClient`]), so export works from a current-thread runtime, a
//! one-vCPU pod, or a program with no runtime at all.

use super::{Protocol, SetupError, Signal};

/// Where an OTLP exporter sends, and on what it runs.
pub(super) struct OtlpTarget<'a> {
    pub(super) runtime: &'a tokio::runtime::Runtime,
    /// `Setup::otlp_endpoint`, when no endpoint variable applies to the signal.
    pub(super) endpoint_from_code: Option<&'a str>,
    /// `OTEL_EXPORTER_OTLP_{SIGNAL_}TIMEOUT` in milliseconds (HTTP: the client's own
    /// deadline; gRPC reads the variables itself).
    #[cfg_attr(not(feature = "otlp-http"), allow(dead_code))]
    pub(super) timeout: std::time::Duration,
}

impl OtlpTarget<'_> {
    /// The endpoint from code for `signal` over `protocol`: as given for gRPC; for HTTP,
    /// the base URL with the signal's path appended, as the specification does for
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    #[cfg_attr(not(feature = "otlp-http"), allow(dead_code))]
    fn endpoint(&self, signal: Signal, protocol: Protocol) -> Option<String> {
        let endpoint = self.endpoint_from_code?;
        Some(match protocol {
            Protocol::Grpc => endpoint.to_owned(),
            Protocol::HttpProtobuf => {
                format!("{}/v1/{}", endpoint.trim_end_matches('/'), signal.as_str())
            }
        })
    }
}

/// Builds `opentelemetry_otlp::$exporter` for `$signal` over `$protocol`.
macro_rules! otlp_exporter {
    ($exporter:ident, $signal:expr, $protocol:expr, $target:expr) => {{
        use opentelemetry_otlp::WithExportConfig as _;
        #[cfg(feature = "otlp-http")]
        use opentelemetry_otlp::WithHttpConfig as _;
        let (signal, protocol, target): (Signal, Protocol, &OtlpTarget<'_>) =
            ($signal, $protocol, $target);
        let _entered = target.runtime.enter();
        let built: Result<opentelemetry_otlp::$exporter, SetupError> = match protocol {
            #[cfg(feature = "otlp")]
            Protocol::Grpc => {
                let mut builder = opentelemetry_otlp::$exporter::builder().with_tonic();
                if let Some(endpoint) = target.endpoint(signal, protocol) {
                    builder = builder.with_endpoint(endpoint);
                }
                builder
                    .build()
                    .map_err(|e| SetupError::Exporter(e.to_string()))
            }
            #[cfg(feature = "otlp-http")]
            Protocol::HttpProtobuf => {
                let mut builder = opentelemetry_otlp::$exporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_http_client(RuntimeHttpClient::new(target.runtime, target.timeout));
                if let Some(endpoint) = target.endpoint(signal, protocol) {
                    builder = builder.with_endpoint(endpoint);
                }
                builder
                    .build()
                    .map_err(|e| SetupError::Exporter(e.to_string()))
            }
            #[allow(unreachable_patterns)]
            other => Err(SetupError::ProtocolDisabled {
                signal: signal.as_str(),
                protocol: other.as_str(),
                feature: other.feature(),
            }),
        };
        built
    }};
}

/// The OTLP span exporter over `protocol`.
pub(super) fn span_exporter(
    protocol: Protocol,
    target: &OtlpTarget<'_>,
) -> Result<opentelemetry_otlp::SpanExporter, SetupError> {
    otlp_exporter!(SpanExporter, Signal::Traces, protocol, target)
}

/// The OTLP metric exporter over `protocol`.
pub(super) fn metric_exporter(
    protocol: Protocol,
    target: &OtlpTarget<'_>,
) -> Result<opentelemetry_otlp::MetricExporter, SetupError> {
    otlp_exporter!(MetricExporter, Signal::Metrics, protocol, target)
}

/// The OTLP log exporter over `protocol`.
#[cfg(feature = "logs")]
pub(super) fn log_exporter(
    protocol: Protocol,
    target: &OtlpTarget<'_>,
) -> Result<opentelemetry_otlp::LogExporter, SetupError> {
    otlp_exporter!(LogExporter, Signal::Logs, protocol, target)
}

#[cfg(feature = "otlp-http")]
pub(super) use http::RuntimeHttpClient;

#[cfg(feature = "otlp-http")]
mod http {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::time::Duration;

    use opentelemetry_http::hyper::HyperClient;
    use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

    /// hyper's HTTP/1.1 client, each request run on the guard's runtime: the exporter
    /// awaits it from the SDK's own export thread, which has no tokio runtime.
    #[derive(Debug, Clone)]
    pub(crate) struct RuntimeHttpClient {
        runtime: tokio::runtime::Handle,
        client: Arc<HyperClient>,
    }

    impl RuntimeHttpClient {
        pub(crate) fn new(runtime: &tokio::runtime::Runtime, timeout: Duration) -> Self {
            let _entered = runtime.enter();
            RuntimeHttpClient {
                runtime: runtime.handle().clone(),
                client: Arc::new(HyperClient::with_default_connector(timeout, None)),
            }
        }
    }

    impl HttpClient for RuntimeHttpClient {
        fn send_bytes<'life0, 'async_trait>(
            &'life0 self,
            request: Request<Bytes>,
        ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            let client = Arc::clone(&self.client);
            let task = self
                .runtime
                .spawn(async move { client.send_bytes(request).await });
            Box::pin(async move {
                match task.await {
                    Ok(response) => response,
                    // The runtime shut down (the guard is gone) or the request panicked.
                    Err(error) => Err(Box::new(error) as HttpError),
                }
            })
        }
    }
}
