//! [`TelemetryGuard`]: keeps the installed providers alive, flushes and shuts them
//! down, and says which signal failed to.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::Signal;
use crate::telemetry::Telemetry;

/// Whether a [`TelemetryGuard`] with installed providers is alive.
pub(super) static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The providers an install made, and which of them export anything.
pub(super) struct Providers {
    pub(super) tracer: SdkTracerProvider,
    pub(super) meter: SdkMeterProvider,
    #[cfg(feature = "logs")]
    pub(super) logger: Option<opentelemetry_sdk::logs::SdkLoggerProvider>,
    /// Per [`Signal`]: whether it has an exporter (a signal set to `none` cannot fail).
    pub(super) exporting: [bool; 3],
}

impl Providers {
    /// Flushes (`flush`) or flushes and shuts down each exporting provider, collecting
    /// the failures.
    fn each(&self, flush: bool) -> Vec<(Signal, OTelSdkError)> {
        let mut failures = Vec::new();
        let mut check = |signal: Signal, result: Result<(), OTelSdkError>| {
            if let (true, Err(error)) = (self.exporting[signal as usize], result) {
                failures.push((signal, error));
            }
        };
        if flush {
            check(Signal::Traces, self.tracer.force_flush());
            check(Signal::Metrics, self.meter.force_flush());
            #[cfg(feature = "logs")]
            if let Some(logger) = &self.logger {
                check(Signal::Logs, logger.force_flush());
            }
        } else {
            // Each shutdown exports what is left and reports that last export: our batch
            // processors (spans, logs) return its result, the SDK's periodic metric
            // reader a failure. No flush first: a collector that is down would be
            // waited for twice, and the console would print the metrics twice.
            check(Signal::Traces, self.tracer.shutdown());
            check(Signal::Metrics, self.meter.shutdown());
            #[cfg(feature = "logs")]
            if let Some(logger) = &self.logger {
                check(Signal::Logs, logger.shutdown());
            }
        }
        failures
    }

    fn clone_all(&self) -> Providers {
        Providers {
            tracer: self.tracer.clone(),
            meter: self.meter.clone(),
            #[cfg(feature = "logs")]
            logger: self.logger.clone(),
            exporting: self.exporting,
        }
    }
}

/// What a [`flush`](TelemetryGuard::flush) or [`shutdown`](TelemetryGuard::shutdown)
/// could not do: one entry per signal whose export failed (a collector down or
/// refusing, a timeout). What failed to export is dropped; telemetry never retries
/// into the application's memory. Only the exports the call itself makes are reported:
/// a scheduled export that failed earlier (every 5 s for spans, 1 s for logs, the
/// metric interval) left no result the SDK keeps.
#[derive(Debug)]
pub struct ShutdownError {
    failures: Vec<(Signal, OTelSdkError)>,
}

impl ShutdownError {
    /// The signals that failed, each with the SDK's error.
    pub fn failures(&self) -> &[(Signal, OTelSdkError)] {
        &self.failures
    }

    /// Whether `signal` failed.
    pub fn failed(&self, signal: Signal) -> bool {
        self.failures.iter().any(|(s, _)| *s == signal)
    }
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("telemetry export failed: ")?;
        for (i, (signal, error)) in self.failures.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {error}", signal.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for ShutdownError {}

fn result(failures: Vec<(Signal, OTelSdkError)>) -> Result<(), ShutdownError> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ShutdownError { failures })
    }
}

/// Keeps telemetry running; dropping it flushes and shuts the providers down (from a
/// plain thread, so it cannot deadlock an async runtime).
///
/// [`flush`](Self::flush) and [`shutdown`](Self::shutdown) say which signal failed to
/// export; a drop cannot, and ignores failures. Neither ever panics, and each returns
/// within the exporters' timeouts (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s by default, per
/// signal) when a collector hangs; a collector that refuses connections fails at once.
#[must_use = "dropping the guard shuts telemetry down at once"]
pub struct TelemetryGuard {
    pub(super) providers: Option<Providers>,
    #[cfg(any(feature = "otlp", feature = "otlp-http"))]
    pub(super) runtime: Option<tokio::runtime::Runtime>,
    pub(super) tracing_subscriber: bool,
    pub(super) delivery: crate::delivery::Delivery,
    pub(super) log_delivery: crate::delivery::Delivery,
}

impl fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("enabled", &self.providers.is_some())
            .finish()
    }
}

impl TelemetryGuard {
    pub(super) fn disabled() -> Self {
        TelemetryGuard {
            providers: None,
            #[cfg(any(feature = "otlp", feature = "otlp-http"))]
            runtime: None,
            tracing_subscriber: false,
            delivery: crate::delivery::Delivery::default(),
            log_delivery: crate::delivery::Delivery::new(crate::delivery::Signal::Logs),
        }
    }

    /// Whether telemetry is installed (`false` with `OTEL_SDK_DISABLED=true`).
    pub fn is_enabled(&self) -> bool {
        self.providers.is_some()
    }

    /// The tracer provider, e.g. for a `tracing-opentelemetry` layer.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.providers.as_ref().map(|p| &p.tracer)
    }

    /// What became of the spans finished so far: exported, sampled out, dropped by
    /// reason, in flight. See [`Delivery`](crate::delivery::Delivery); the same figures
    /// are exported as the `otel.sdk.*` self-metrics.
    ///
    /// ```
    /// let guard = booking_otel::setup::Setup::new("booking-service")
    ///     .traces_exporter(booking_otel::setup::ExporterKind::None)
    ///     .install()
    ///     .unwrap();
    /// assert_eq!(guard.delivery().counts().dropped.total(), 0);
    /// ```
    pub fn delivery(&self) -> crate::delivery::Delivery {
        self.delivery.clone()
    }

    /// The same accounts for log records (feature `logs`): emitted, exported, dropped by
    /// reason, in flight. Without logs, all zero.
    pub fn log_delivery(&self) -> crate::delivery::Delivery {
        self.log_delivery.clone()
    }

    /// The meter provider.
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.providers.as_ref().map(|p| &p.meter)
    }

    /// The logger provider (`None` with `OTEL_LOGS_EXPORTER=none`).
    #[cfg(feature = "logs")]
    #[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
    pub fn logger_provider(&self) -> Option<&opentelemetry_sdk::logs::SdkLoggerProvider> {
        self.providers.as_ref().and_then(|p| p.logger.as_ref())
    }

    /// Whether this install made [`logs::layer`](crate::logs::layer) the global
    /// `tracing` subscriber (`false` when another subscriber was set first: add the
    /// layer to it).
    pub fn installed_tracing_subscriber(&self) -> bool {
        self.tracing_subscriber
    }

    /// Exports everything recorded so far, and says which signal failed to. Blocks the
    /// calling thread on a plain thread of its own, never on an async runtime's.
    pub fn flush(&self) -> Result<(), ShutdownError> {
        let Some(providers) = self.providers.as_ref().map(Providers::clone_all) else {
            return Ok(());
        };
        result(off_runtime(move || providers.each(true)))
    }

    /// Flushes and shuts down (also done on drop), and says which signal failed to
    /// export what it still held.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), ShutdownError> {
        let mut failures = Vec::new();
        if let Some(providers) = self.providers.take() {
            Telemetry::uninstall();
            failures = off_runtime(move || providers.each(false));
            crate::metrics::forget_global_instruments();
            INSTALLED.store(false, Ordering::Release);
        }
        #[cfg(any(feature = "otlp", feature = "otlp-http"))]
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        result(failures)
    }
}

/// Runs blocking telemetry work on a fresh thread and waits for it, so that blocking
/// never happens on a runtime's worker (where the exporter may need that very thread).
/// With no thread to spare, or a panic in the SDK, every signal is reported failed
/// rather than risking a deadlock or unwinding into the caller.
fn off_runtime(
    work: impl FnOnce() -> Vec<(Signal, OTelSdkError)> + Send + 'static,
) -> Vec<(Signal, OTelSdkError)> {
    let failed = |why: &str| {
        vec![(
            Signal::Traces,
            OTelSdkError::InternalFailure(format!("telemetry shutdown thread: {why}")),
        )]
    };
    match std::thread::Builder::new()
        .name("booking-otel-shutdown".into())
        .spawn(work)
    {
        Ok(handle) => handle.join().unwrap_or_else(|_| failed("panicked")),
        Err(_) => failed("could not start"),
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.shutdown_inner();
    }
}
