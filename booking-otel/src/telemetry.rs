//! [`Telemetry`]: where steps send their spans and step metrics, and how the default is
//! found.
//!
//! A [`Step`](crate::Step) without an explicit [`Telemetry`] uses the installed default:
//!
//! 1. the one installed with [`Telemetry::install`] (what [`setup`](crate::setup) and the
//!    test kit do), else
//! 2. the global OpenTelemetry providers, if a real tracer provider is installed there, else
//! 3. nothing: the step runs its body with no span and almost no cost.
//!
//! The answer is cached per thread. Installing through [`Telemetry::install`] is seen by
//! every thread at its next step. A provider installed directly with
//! `opentelemetry::global::set_tracer_provider` after steps already ran is seen within
//! [`RECHECK_INTERVAL`] steps per thread, or at once after [`refresh`]. Caching "no
//! provider" forever would lose those spans; checking the global provider on every step
//! would make untraced steps ten times dearer.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use opentelemetry::Context;
use opentelemetry::global::BoxedTracer;
use opentelemetry::metrics::Meter;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};

use crate::logs::ExceptionSignal;
use crate::metrics::{GLOBAL_STEP_INSTRUMENTS, StepInstruments};

/// How many steps a thread runs on its cached answer before it looks at the global
/// providers again.
pub const RECHECK_INTERVAL: u32 = 1024;

/// The tracer a [`Telemetry`] starts spans with.
#[derive(Debug, Clone)]
pub(crate) enum StepTracer {
    /// The SDK's tracer, used directly: no boxing per span.
    #[cfg(feature = "sdk")]
    Sdk(opentelemetry_sdk::trace::SdkTracer),
    /// Any other tracer, behind the global provider's dynamic dispatch.
    Boxed(Arc<BoxedTracer>),
}

#[derive(Debug)]
struct Inner {
    tracer: StepTracer,
    instruments: Option<StepInstruments>,
    ok_on_success: bool,
    /// Where a failed step's exception goes (span event, log record, both).
    exception_signal: ExceptionSignal,
    /// The loggers of an SDK logger provider: tracing events (`logs::layer`) and
    /// exceptions as logs go there.
    #[cfg(feature = "logs")]
    loggers: Option<Arc<crate::logs::Loggers>>,
    /// Lets a [`ScopedTelemetry`] in the current context take over (the test kit's
    /// per-test isolation); off in production, where it would cost a context lookup.
    context_override: bool,
}

/// A telemetry carried in an OTel [`Context`], used instead of the installed one when
/// that one allows it (the test kit).
#[derive(Debug, Clone)]
pub(crate) struct ScopedTelemetry(pub(crate) Telemetry);

/// Where steps send their spans (and, with a meter, the `booking.step.duration` and
/// `booking.rollbacks` metrics). Cheap to clone.
///
/// Applications usually get one from [`setup`](crate::setup); libraries and tests build
/// one from their own provider and either pass it to [`Step::telemetry`](crate::Step::telemetry)
/// or make it the default with [`install`](Telemetry::install).
///
/// ```
/// use booking_otel::{Step, Telemetry};
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
///
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
/// let telemetry = Telemetry::from_tracer_provider(&provider);
///
/// Step::new("booking.confirm").telemetry(&telemetry).run(|| ());
/// assert_eq!(exporter.get_finished_spans().unwrap()[0].name, "booking.confirm");
/// ```
#[derive(Debug, Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl Telemetry {
    fn new(tracer: StepTracer) -> Self {
        Telemetry {
            inner: Arc::new(Inner {
                tracer,
                instruments: None,
                ok_on_success: false,
                exception_signal: ExceptionSignal::from_env(),
                #[cfg(feature = "logs")]
                loggers: None,
                context_override: false,
            }),
        }
    }

    /// Spans from an SDK tracer provider, with this crate's instrumentation scope.
    #[cfg(feature = "sdk")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
    pub fn from_tracer_provider(provider: &opentelemetry_sdk::trace::SdkTracerProvider) -> Self {
        Self::new(StepTracer::Sdk(
            provider.tracer_with_scope(crate::instrumentation_scope()),
        ))
    }

    /// Spans from any tracer provider (the global one, a vendor's), through dynamic dispatch.
    pub fn from_boxed_tracer(tracer: BoxedTracer) -> Self {
        Self::new(StepTracer::Boxed(Arc::new(tracer)))
    }

    /// Also records step metrics with instruments from `meter` (created once, here).
    pub fn with_meter(self, meter: &Meter) -> Self {
        self.with_instruments(StepInstruments::new(meter))
    }

    fn with_instruments(self, instruments: StepInstruments) -> Self {
        self.map(|inner| inner.instruments = Some(instruments))
    }

    /// Successful steps end with status `Ok` instead of `Unset`.
    ///
    /// The OpenTelemetry specification leaves `Ok` to the application: instrumentation
    /// libraries should not set it on their own, so this is off by default.
    pub fn ok_on_success(self, enabled: bool) -> Self {
        self.map(|inner| inner.ok_on_success = enabled)
    }

    /// Where a failed step records its exception; see [`ExceptionSignal`]. Default: the
    /// `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN` variable, read once per process.
    pub fn exceptions_as(self, signal: ExceptionSignal) -> Self {
        self.map(|inner| inner.exception_signal = signal)
    }

    /// Sends log records to `provider`: `tracing` events through
    /// [`logs::layer`](crate::logs::layer), and failed steps' exceptions when
    /// [`exceptions_as`](Self::exceptions_as) asks for logs.
    #[cfg(feature = "logs")]
    #[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
    pub fn with_logger_provider(
        self,
        provider: &opentelemetry_sdk::logs::SdkLoggerProvider,
    ) -> Self {
        let loggers = Arc::new(crate::logs::Loggers::new(provider));
        self.map(|inner| inner.loggers = Some(loggers))
    }

    #[cfg(feature = "logs")]
    pub(crate) fn loggers(&self) -> Option<&crate::logs::Loggers> {
        self.inner.loggers.as_deref()
    }

    /// Where this telemetry records a failed step's exception.
    pub(crate) fn exception_sink(&self) -> crate::logs::ExceptionSink<'_> {
        crate::logs::ExceptionSink::new(
            self.inner.exception_signal,
            #[cfg(feature = "logs")]
            self.loggers(),
        )
    }

    fn map(self, f: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            tracer: self.inner.tracer.clone(),
            instruments: self.inner.instruments.clone(),
            ok_on_success: self.inner.ok_on_success,
            exception_signal: self.inner.exception_signal,
            #[cfg(feature = "logs")]
            loggers: self.inner.loggers.clone(),
            context_override: self.inner.context_override,
        };
        f(&mut inner);
        Telemetry {
            inner: Arc::new(inner),
        }
    }

    /// Makes this the default for every [`Step`](crate::Step) without an explicit
    /// telemetry, on every thread from its next step on.
    pub fn install(self) {
        if let Ok(mut slot) = INSTALLED.write() {
            *slot = Some(self);
        }
        EPOCH.fetch_add(1, Ordering::Release);
    }

    /// Removes the installed default; steps fall back to the global providers.
    pub fn uninstall() {
        if let Ok(mut slot) = INSTALLED.write() {
            *slot = None;
        }
        EPOCH.fetch_add(1, Ordering::Release);
    }

    #[cfg(feature = "testing")]
    pub(crate) fn allowing_context_override(self) -> Self {
        self.map(|inner| inner.context_override = true)
    }

    pub(crate) fn tracer(&self) -> &StepTracer {
        &self.inner.tracer
    }

    pub(crate) fn instruments(&self) -> Option<&StepInstruments> {
        self.inner.instruments.as_ref()
    }

    pub(crate) fn sets_ok_on_success(&self) -> bool {
        self.inner.ok_on_success
    }

    /// The telemetry of the global providers, or `None` when the global tracer provider
    /// is OpenTelemetry's no-op one.
    pub fn from_global() -> Option<Self> {
        let tracer = opentelemetry::global::tracer_provider()
            .tracer_with_scope(crate::instrumentation_scope());
        if is_noop(&tracer) {
            return None;
        }
        let instruments = GLOBAL_STEP_INSTRUMENTS.get_or_make(StepInstruments::new);
        Some(Self::from_boxed_tracer(tracer).with_instruments(instruments))
    }
}

/// Tells the no-op tracer from a real one without making a span that could be exported.
///
/// The parent context carries a known span context and suppresses telemetry. The no-op
/// tracer echoes the parent's span context; the SDK (and any tracer that honours
/// suppression) returns an invalid one without calling samplers or processors.
fn is_noop(tracer: &BoxedTracer) -> bool {
    const PROBE_TRACE: u128 = 0x0b00_c1d0_7e1e_0000_0000_0000_0000_0001;
    const PROBE_SPAN: u64 = 0x0b00_c1d0_7e1e_0001;
    let parent = SpanContext::new(
        TraceId::from(PROBE_TRACE),
        SpanId::from(PROBE_SPAN),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    let cx = Context::new()
        .with_remote_span_context(parent)
        .with_telemetry_suppressed();
    let span = tracer.build_with_context(tracer.span_builder("booking_otel.probe"), &cx);
    span.span_context().span_id() == SpanId::from(PROBE_SPAN)
}

static INSTALLED: RwLock<Option<Telemetry>> = RwLock::new(None);
/// Bumped whenever the installed default changes; threads compare it with their cache.
static EPOCH: AtomicU64 = AtomicU64::new(1);

/// Makes every thread look at the installed default and the global providers again at
/// its next step (use after `opentelemetry::global::set_tracer_provider`).
pub fn refresh() {
    EPOCH.fetch_add(1, Ordering::Release);
}

struct Local {
    epoch: u64,
    countdown: u32,
    telemetry: Option<Telemetry>,
}

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local { epoch: 0, countdown: 0, telemetry: None })
    };
}

/// The default telemetry for a step on this thread; `None` when nothing is installed.
#[inline]
pub(crate) fn current() -> Option<Telemetry> {
    LOCAL
        .try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            let epoch = EPOCH.load(Ordering::Acquire);
            if local.epoch != epoch || local.countdown == 0 {
                reload(&mut local, epoch);
            }
            local.countdown -= 1;
            local.telemetry.clone()
        })
        .ok()
        .flatten()
        .map(|installed| {
            if installed.inner.context_override {
                Context::map_current(|cx| cx.get::<ScopedTelemetry>().map(|s| s.0.clone()))
                    .unwrap_or(installed)
            } else {
                installed
            }
        })
}

/// Calls `f` with the default telemetry for this thread (as [`current`] finds it),
/// without cloning it: the per-event path of `logs::layer`. `None` when there is none,
/// or when called from inside `f` on the same thread (an event emitted while emitting).
#[cfg(feature = "logs")]
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Telemetry) -> R) -> Option<R> {
    LOCAL
        .try_with(|local| {
            {
                let mut guard = local.try_borrow_mut().ok()?;
                let epoch = EPOCH.load(Ordering::Acquire);
                if guard.epoch != epoch || guard.countdown == 0 {
                    reload(&mut guard, epoch);
                }
                guard.countdown -= 1;
            }
            // Shared from here on: a nested call fails its `try_borrow_mut` above.
            let guard = local.try_borrow().ok()?;
            let installed = guard.telemetry.as_ref()?;
            if installed.inner.context_override {
                Some(Context::map_current(|cx| {
                    match cx.get::<ScopedTelemetry>() {
                        Some(scoped) => f(&scoped.0),
                        None => f(installed),
                    }
                }))
            } else {
                Some(f(installed))
            }
        })
        .ok()
        .flatten()
}

#[cold]
#[inline(never)]
fn reload(local: &mut Local, epoch: u64) {
    let installed = INSTALLED.read().ok().and_then(|slot| slot.clone());
    local.telemetry = installed.or_else(Telemetry::from_global);
    local.epoch = epoch;
    local.countdown = RECHECK_INTERVAL;
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::noop::NoopTracerProvider;

    #[test]
    fn probe_tells_sdk_from_noop_without_exporting() {
        use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let boxed = BoxedTracer::new(Box::new(provider.tracer("t")));
        assert!(!is_noop(&boxed));
        assert!(exporter.get_finished_spans().unwrap().is_empty());
    }

    #[test]
    fn noop_provider_is_detected() {
        let provider = NoopTracerProvider::new();
        let tracer = provider.tracer("t");
        let boxed = BoxedTracer::new(Box::new(tracer));
        assert!(is_noop(&boxed));
    }
}
