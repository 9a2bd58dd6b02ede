//! The benchmark workloads, shared by the criterion bench (`benches/overhead.rs`) and
//! the fixed-iteration driver for callgrind (`examples/overhead_driver.rs`).
//!
//! - W1: one step `booking.process_payment` with 4 attributes (2 strings, 1 i64, 1 bool).
//! - W2: `booking.create` with 4 sequential child steps (check_availability,
//!   acquire_lock, process_payment, confirm), 3 attributes each; the payment step ends
//!   in an error, which `booking.create` handles. Every span is active while its body
//!   runs.
//!
//! - W2v: W2 with the values a request handler really has: user id, property id,
//!   dates, reservation id, card last four, transaction id and confirmation code are
//!   formatted per booking (`w2v/none` builds them and runs the uninstrumented code, so
//!   it can be subtracted).
//!
//! Each is written five ways: no instrumentation, hand-written OpenTelemetry SDK code,
//! hand-written `tracing` + tracing-opentelemetry, the `Step` runtime, `#[booking_step]`.
//! A sixth, hand-written fastrace, lives in `baselines/fastrace.rs`, built into its own
//! driver: fastrace's clock calibrates itself in a static constructor whose length
//! varies from run to run, which would blur every instruction count it is linked into.
//!
//! Pipelines: `SimpleSpanProcessor` into a discarding exporter (the historical
//! baseline), or the production shape, `BatchSpanProcessor` (its own export thread) into
//! a discarding exporter (`+batch`) or into an exporter that encodes each batch as an
//! OTLP protobuf request and drops the bytes (`+batch+otlp`). `+guard` adds redaction
//! where the library puts it.

#![allow(dead_code)]

use std::hint::black_box;
use std::time::Duration;

use booking_otel::batch::BatchProcessor;
use booking_otel::metrics::{BookingMetrics, BookingStatus};
use booking_otel::{RedactingExporter, RedactionPolicy, Step, StepError, Telemetry, booking_step};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    Sampler, SdkTracer, SdkTracerProvider, SimpleSpanProcessor, SpanData, SpanExporter,
};
use tracing_subscriber::layer::SubscriberExt;

// ---------------------------------------------------------------------------------------
// Environments
// ---------------------------------------------------------------------------------------

/// An exporter that drops every span: we measure span cost, not export.
#[derive(Debug, Default)]
pub struct DiscardExporter;

impl SpanExporter for DiscardExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

/// An exporter that encodes each batch as the OTLP/gRPC exporter does (spans grouped by
/// resource and scope, protobuf-encoded) and drops the bytes: export-thread work
/// without a network.
#[derive(Debug)]
pub struct OtlpEncodeExporter {
    resource: opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema,
}

impl Default for OtlpEncodeExporter {
    fn default() -> Self {
        OtlpEncodeExporter {
            resource: (&Resource::builder_empty().build()).into(),
        }
    }
}

impl SpanExporter for OtlpEncodeExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        use prost::Message;
        let resource_spans =
            opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope(
                batch,
                &self.resource,
            );
        let request = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
            resource_spans,
        };
        black_box(request.encode_to_vec());
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// Where spans go after `Span::end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// `SimpleSpanProcessor` → discarding exporter, on the booking thread.
    Simple,
    /// `BatchSpanProcessor` → discarding exporter, on the export thread.
    Batch,
    /// `BatchSpanProcessor` → OTLP protobuf encoding → dropped, on the export thread.
    BatchOtlp,
    /// `BatchSpanProcessor` → tail sampling (default rules) → the rest as `Batch`.
    BatchTail,
    /// The SDK's own `BatchSpanProcessor` → discarding exporter: what `Batch` (our
    /// counting processor, which setup installs) replaced.
    SdkBatch,
}

/// A batch processor whose queue holds every span of a measured run (12,000 W2
/// bookings), so the export thread's work is measured, not lost to a full queue.
fn batch<E: SpanExporter + 'static>(exporter: E) -> BatchProcessor {
    BatchProcessor::builder(exporter)
        .queue_size(1 << 17)
        .interval(Duration::from_secs(5))
        .build()
}

/// How spans are sampled in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// An SDK with `AlwaysOn`.
    Sampled,
    /// An SDK with `AlwaysOff`.
    NotSampled,
    /// No SDK: OpenTelemetry's global no-op tracer.
    NoSdk,
}

/// One configured run: the SDK tracer for hand-written code, the `Step` default
/// installed, and a `tracing` dispatcher.
pub struct Env {
    pub sampling: Sampling,
    pub provider: Option<SdkTracerProvider>,
    pub tracer: Option<SdkTracer>,
    pub dispatch: tracing::Dispatch,
    pub metrics: Option<BookingMetrics>,
    /// The global tracer: OpenTelemetry's no-op one, as nothing here sets a global tracer
    /// provider.
    pub global_tracer: opentelemetry::global::BoxedTracer,
    _meter_provider: Option<SdkMeterProvider>,
}

impl Env {
    /// A plain SimpleSpanProcessor over a discarding exporter (the baseline).
    pub fn new(sampling: Sampling) -> Env {
        Self::build(sampling, false)
    }

    /// The redaction guard around the exporting processor, and with `metrics` booking
    /// metrics (step durations and `BookingMetrics`) on: the production shape.
    pub fn with_guard(sampling: Sampling, metrics: bool) -> Env {
        Self::build_with(sampling, true, metrics)
    }

    /// The production pipeline: a batch processor, with or without the guard.
    pub fn production(sampling: Sampling, pipeline: Pipeline, guard: bool, metrics: bool) -> Env {
        Self::build_pipeline(sampling, pipeline, guard, metrics)
    }

    /// Hands every span of the run to its exporter: the batch processor's export
    /// thread finishes its work inside the measured run.
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
    }

    /// Runs `f` with this run's `tracing` dispatcher as the thread's default.
    pub fn in_dispatch<R>(&self, f: impl FnOnce() -> R) -> R {
        tracing::dispatcher::with_default(&self.dispatch, f)
    }

    fn build(sampling: Sampling, guard: bool) -> Env {
        Self::build_with(sampling, guard, guard)
    }

    fn build_with(sampling: Sampling, guard: bool, metrics: bool) -> Env {
        Self::build_pipeline(sampling, Pipeline::Simple, guard, metrics)
    }

    fn build_pipeline(sampling: Sampling, pipeline: Pipeline, guard: bool, metrics: bool) -> Env {
        let sampler = match sampling {
            Sampling::NotSampled => Sampler::AlwaysOff,
            _ => Sampler::AlwaysOn,
        };
        if sampling == Sampling::NoSdk {
            Telemetry::uninstall();
            return Env {
                sampling,
                provider: None,
                tracer: None,
                dispatch: tracing::Dispatch::none(),
                metrics: None,
                global_tracer: opentelemetry::global::tracer("bench"),
                _meter_provider: None,
            };
        }
        let builder = SdkTracerProvider::builder().with_sampler(sampler);
        let provider = match (pipeline, guard) {
            (Pipeline::Simple, false) => {
                builder.with_span_processor(SimpleSpanProcessor::new(DiscardExporter))
            }
            (Pipeline::Simple, true) => builder.with_span_processor(SimpleSpanProcessor::new(
                RedactingExporter::new(DiscardExporter, RedactionPolicy::default()),
            )),
            (Pipeline::Batch, false) => builder.with_span_processor(batch(DiscardExporter)),
            (Pipeline::SdkBatch, _) => builder.with_span_processor(
                opentelemetry_sdk::trace::BatchSpanProcessor::builder(DiscardExporter)
                    .with_batch_config(
                        opentelemetry_sdk::trace::BatchConfigBuilder::default()
                            .with_max_queue_size(1 << 17)
                            .build(),
                    )
                    .build(),
            ),
            (Pipeline::Batch, true) => builder.with_span_processor(batch(RedactingExporter::new(
                DiscardExporter,
                RedactionPolicy::default(),
            ))),
            (Pipeline::BatchTail, guard) => {
                let redacting = RedactingExporter::new(DiscardExporter, RedactionPolicy::default());
                let tail = booking_otel::tail_sampling::TailSampling::default();
                if guard {
                    builder.with_span_processor(batch(
                        booking_otel::tail_sampling::TailSamplingExporter::new(redacting, tail),
                    ))
                } else {
                    builder.with_span_processor(batch(
                        booking_otel::tail_sampling::TailSamplingExporter::new(
                            DiscardExporter,
                            tail,
                        ),
                    ))
                }
            }
            (Pipeline::BatchOtlp, false) => {
                builder.with_span_processor(batch(OtlpEncodeExporter::default()))
            }
            (Pipeline::BatchOtlp, true) => builder.with_span_processor(batch(
                RedactingExporter::new(OtlpEncodeExporter::default(), RedactionPolicy::default()),
            )),
        }
        .build();
        let (telemetry, metrics, meter_provider) = if metrics {
            let meter_provider = SdkMeterProvider::builder()
                .with_reader(
                    PeriodicReader::builder(InMemoryMetricExporter::default())
                        .with_interval(Duration::from_secs(3600))
                        .build(),
                )
                .build();
            let meter = opentelemetry::metrics::MeterProvider::meter(&meter_provider, "bench");
            (
                Telemetry::from_tracer_provider(&provider).with_meter(&meter),
                Some(BookingMetrics::new(&meter)),
                Some(meter_provider),
            )
        } else {
            (Telemetry::from_tracer_provider(&provider), None, None)
        };
        telemetry.install();
        let tracer = provider.tracer("bench");
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("tracing")));
        Env {
            sampling,
            tracer: Some(tracer),
            provider: Some(provider),
            dispatch: tracing::Dispatch::new(subscriber),
            metrics,
            global_tracer: opentelemetry::global::tracer("bench"),
            _meter_provider: meter_provider,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The business logic (identical in every variant)
// ---------------------------------------------------------------------------------------

#[derive(Debug, thiserror::Error, StepError)]
pub enum PaymentError {
    #[error("payment gateway timed out")]
    GatewayTimeout,
}

#[inline(never)]
pub fn charge(amount_cents: i64, fail: bool) -> Result<i64, PaymentError> {
    if black_box(fail) {
        Err(PaymentError::GatewayTimeout)
    } else {
        Ok(black_box(amount_cents) * 3)
    }
}

#[inline(never)]
pub fn work(x: i64) -> i64 {
    black_box(x) + 1
}

// ---------------------------------------------------------------------------------------
// W1: one step, 4 attributes
// ---------------------------------------------------------------------------------------

pub fn w1_plain(amount: i64) -> Result<i64, PaymentError> {
    charge(amount, false)
}

/// Hand-written against the OpenTelemetry API, as most code does it: start the span
/// as current, then set each attribute on the active span.
pub fn w1_sdk<T>(tracer: &T, amount: i64) -> Result<i64, PaymentError>
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    tracer.in_span("booking.process_payment", |cx| {
        let span = cx.span();
        span.set_attribute(KeyValue::new("payment.method", "card"));
        span.set_attribute(KeyValue::new("payment.currency", "EUR"));
        span.set_attribute(KeyValue::new("payment.amount_cents", amount));
        span.set_attribute(KeyValue::new("payment.retry", false));
        let result = charge(amount, false);
        if let Err(e) = &result {
            span.set_attribute(KeyValue::new("error.type", e.error_type()));
            span.set_status(Status::error(e.to_string()));
        }
        result
    })
}

pub fn w1_tracing(amount: i64) -> Result<i64, PaymentError> {
    let span = tracing::info_span!(
        "booking.process_payment",
        payment.method = "card",
        payment.currency = "EUR",
        payment.amount_cents = amount,
        payment.retry = false,
    );
    let _entered = span.enter();
    charge(amount, false)
}

pub fn w1_step(amount: i64) -> Result<i64, PaymentError> {
    Step::new("booking.process_payment")
        .attributes(|a| {
            a.set_static("payment.method", "card");
            a.set_static("payment.currency", "EUR");
            a.set("payment.amount_cents", amount);
            a.set("payment.retry", false);
        })
        .run(|| charge(amount, false))
}

#[booking_step(
    name = "booking.process_payment",
    fields(
        payment.method = "card",
        payment.currency = "EUR",
        payment.amount_cents = amount,
        payment.retry = false,
    )
)]
pub fn w1_macro(amount: i64) -> Result<i64, PaymentError> {
    charge(amount, false)
}

// ---------------------------------------------------------------------------------------
// W2: a booking of 4 child steps, the payment failing
// ---------------------------------------------------------------------------------------

pub fn w2_plain(guests: i64) -> i64 {
    let available = work(guests);
    let lock = work(available);
    let paid = charge(lock, true).unwrap_or(-1);
    work(paid)
}

fn sdk_child<T, R>(
    tracer: &T,
    name: &'static str,
    attributes: [KeyValue; 3],
    body: impl FnOnce() -> R,
) -> R
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    tracer.in_span(name, |cx| {
        let span = cx.span();
        for attribute in attributes {
            span.set_attribute(attribute);
        }
        body()
    })
}

pub fn w2_sdk<T>(tracer: &T, guests: i64) -> i64
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    tracer.in_span("booking.create", |cx| {
        let span = cx.span();
        span.set_attribute(KeyValue::new("booking.property_id", "prop-1042"));
        span.set_attribute(KeyValue::new("booking.guests", guests));
        span.set_attribute(KeyValue::new("booking.source", "web"));
        let available = sdk_child(
            tracer,
            "booking.check_availability",
            [
                KeyValue::new("booking.property_id", "prop-1042"),
                KeyValue::new("booking.guests", guests),
                KeyValue::new("booking.nights", 3_i64),
            ],
            || work(guests),
        );
        let lock = sdk_child(
            tracer,
            "booking.acquire_lock",
            [
                KeyValue::new("booking.lock_type", "pessimistic"),
                KeyValue::new("booking.lock_ttl_ms", 600_000_i64),
                KeyValue::new("booking.lock_acquired", true),
            ],
            || work(available),
        );
        let paid = tracer.in_span("booking.process_payment", |cx| {
            let span = cx.span();
            span.set_attribute(KeyValue::new("payment.method", "card"));
            span.set_attribute(KeyValue::new("payment.currency", "EUR"));
            span.set_attribute(KeyValue::new("payment.amount_cents", lock));
            let result = charge(lock, true);
            if let Err(e) = &result {
                let message = e.to_string();
                span.set_attribute(KeyValue::new("booking.outcome", "error"));
                span.set_attribute(KeyValue::new("error.type", e.error_type()));
                span.add_event(
                    "exception",
                    vec![
                        KeyValue::new("exception.type", std::any::type_name::<PaymentError>()),
                        KeyValue::new("exception.message", message.clone()),
                    ],
                );
                span.set_status(Status::error(message));
            }
            result.unwrap_or(-1)
        });
        sdk_child(
            tracer,
            "booking.confirm",
            [
                KeyValue::new("booking.confirmation_code", "K7Q2ZP"),
                KeyValue::new("booking.reservation_id", "res-81"),
                KeyValue::new("booking.guests", guests),
            ],
            || work(paid),
        )
    })
}

pub fn w2_tracing(guests: i64) -> i64 {
    let create = tracing::info_span!(
        "booking.create",
        booking.property_id = "prop-1042",
        booking.guests = guests,
        booking.source = "web",
    );
    let _create = create.enter();
    let available = {
        let span = tracing::info_span!(
            "booking.check_availability",
            booking.property_id = "prop-1042",
            booking.guests = guests,
            booking.nights = 3_i64,
        );
        let _e = span.enter();
        work(guests)
    };
    let lock = {
        let span = tracing::info_span!(
            "booking.acquire_lock",
            booking.lock_type = "pessimistic",
            booking.lock_ttl_ms = 600_000_i64,
            booking.lock_acquired = true,
        );
        let _e = span.enter();
        work(available)
    };
    let paid = {
        let span = tracing::info_span!(
            "booking.process_payment",
            payment.method = "card",
            payment.currency = "EUR",
            payment.amount_cents = lock,
            booking.outcome = tracing::field::Empty,
            error.r#type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let _e = span.enter();
        let result = charge(lock, true);
        if let Err(e) = &result {
            let message = e.to_string();
            span.record("booking.outcome", "error");
            span.record("error.type", e.error_type());
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_description", message.as_str());
            tracing::error!(
                exception.r#type = std::any::type_name::<PaymentError>(),
                exception.message = message.as_str(),
                "exception"
            );
        }
        result.unwrap_or(-1)
    };
    let span = tracing::info_span!(
        "booking.confirm",
        booking.confirmation_code = "K7Q2ZP",
        booking.reservation_id = "res-81",
        booking.guests = guests,
    );
    let _e = span.enter();
    work(paid)
}

pub fn w2_step(guests: i64) -> i64 {
    Step::new("booking.create")
        .attributes(|a| {
            a.set_static("booking.property_id", "prop-1042");
            a.set("booking.guests", guests);
            a.set_static("booking.source", "web");
        })
        .run_classified(
            || {
                let available = Step::new("booking.check_availability")
                    .attributes(|a| {
                        a.set_static("booking.property_id", "prop-1042");
                        a.set("booking.guests", guests);
                        a.set("booking.nights", 3_i64);
                    })
                    .run_classified(|| work(guests), |_| booking_otel::Outcome::Ok);
                let lock = Step::new("booking.acquire_lock")
                    .attributes(|a| {
                        a.set_static("booking.lock_type", "pessimistic");
                        a.set("booking.lock_ttl_ms", 600_000_i64);
                        a.set("booking.lock_acquired", true);
                    })
                    .run_classified(|| work(available), |_| booking_otel::Outcome::Ok);
                let paid = Step::new("booking.process_payment")
                    .attributes(|a| {
                        a.set_static("payment.method", "card");
                        a.set_static("payment.currency", "EUR");
                        a.set("payment.amount_cents", lock);
                    })
                    .run(|| charge(lock, true))
                    .unwrap_or(-1);
                Step::new("booking.confirm")
                    .attributes(|a| {
                        a.set_static("booking.confirmation_code", "K7Q2ZP");
                        a.set_static("booking.reservation_id", "res-81");
                        a.set("booking.guests", guests);
                    })
                    .run_classified(|| work(paid), |_| booking_otel::Outcome::Ok)
            },
            |_| booking_otel::Outcome::Ok,
        )
}

#[booking_step(fields(
    booking.property_id = "prop-1042",
    booking.guests = guests,
    booking.nights = 3_i64,
))]
fn check_availability(guests: i64) -> i64 {
    work(guests)
}

#[booking_step(fields(
    booking.lock_type = "pessimistic",
    booking.lock_ttl_ms = 600_000_i64,
    booking.lock_acquired = true,
))]
fn acquire_lock(available: i64) -> i64 {
    work(available)
}

#[booking_step(fields(payment.method = "card", payment.currency = "EUR", payment.amount_cents = lock))]
fn process_payment(lock: i64) -> Result<i64, PaymentError> {
    charge(lock, true)
}

#[booking_step(fields(
    booking.confirmation_code = "K7Q2ZP",
    booking.reservation_id = "res-81",
    booking.guests = guests,
))]
fn confirm(paid: i64, guests: i64) -> i64 {
    work(paid)
}

#[booking_step(
    name = "booking.create",
    fields(booking.property_id = "prop-1042", booking.guests = guests, booking.source = "web")
)]
pub fn w2_macro(guests: i64) -> i64 {
    let available = check_availability(guests);
    let lock = acquire_lock(available);
    let paid = process_payment(lock).unwrap_or(-1);
    confirm(paid, guests)
}

/// W2 written with `#[booking_step]` plus `BookingMetrics` for the booking as a whole
/// (run it in an [`Env::with_guard`] with metrics).
pub fn w2_macro_with_booking_metrics(metrics: &BookingMetrics, guests: i64) -> i64 {
    let booking = metrics.start_booking("web");
    let result = w2_macro(guests);
    booking.finish(BookingStatus::Success);
    result
}

// ---------------------------------------------------------------------------------------
// W2v: W2 with values built per booking
// ---------------------------------------------------------------------------------------

/// What a booking handler receives: strings formatted per request.
pub struct Request {
    pub user_id: String,
    pub property_id: String,
    pub check_in: String,
    pub check_out: String,
    pub reservation_id: String,
    pub card_last_four: String,
    pub transaction_id: String,
    pub confirmation_code: String,
    pub guests: i64,
}

impl Request {
    /// Formats the request for booking number `n`, as a handler would receive it.
    pub fn new(n: u64) -> Request {
        Request {
            user_id: format!("user-{}", 70_000 + n % 5_000),
            property_id: format!("prop-{}", 1_000 + n % 97),
            check_in: format!("2026-12-{:02}", 1 + n % 28),
            check_out: format!("2026-12-{:02}", 2 + n % 28),
            reservation_id: format!("res-{n:08}"),
            card_last_four: format!("{:04}", n % 10_000),
            transaction_id: format!("txn_{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            confirmation_code: format!("K{:05X}", n % 0x10_0000),
            guests: 2,
        }
    }
}

pub fn w2v_plain(req: &Request) -> i64 {
    black_box((
        &req.user_id,
        &req.property_id,
        &req.check_in,
        &req.check_out,
        &req.reservation_id,
        &req.card_last_four,
        &req.transaction_id,
        &req.confirmation_code,
    ));
    w2_plain(req.guests)
}

#[booking_step(fields(
    booking.property_id = req.property_id,
    booking.check_in = req.check_in,
    booking.check_out = req.check_out,
))]
fn check_availability_v(req: &Request) -> i64 {
    work(req.guests)
}

#[booking_step(fields(
    booking.lock_type = "pessimistic",
    booking.reservation_id = req.reservation_id,
    booking.lock_acquired = true,
))]
fn acquire_lock_v(req: &Request, available: i64) -> i64 {
    work(available)
}

#[booking_step(fields(
    payment.card_last_four = req.card_last_four,
    payment.transaction_id = req.transaction_id,
    payment.amount_cents = lock,
))]
fn process_payment_v(req: &Request, lock: i64) -> Result<i64, PaymentError> {
    charge(lock, false)
}

#[booking_step(fields(
    booking.confirmation_code = req.confirmation_code,
    booking.reservation_id = req.reservation_id,
    booking.guests = req.guests,
))]
fn confirm_v(req: &Request, paid: i64) -> i64 {
    work(paid)
}

#[booking_step(
    name = "booking.create",
    fields(booking.user_id = req.user_id, booking.property_id = req.property_id, booking.source = "web")
)]
pub fn w2v_macro(req: &Request) -> i64 {
    let available = check_availability_v(req);
    let lock = acquire_lock_v(req, available);
    let paid = process_payment_v(req, lock).unwrap_or(-1);
    confirm_v(req, paid)
}

/// W2v written by hand against the OpenTelemetry API, as `w2_sdk` is: borrowed values
/// are cloned into the attributes, as they must be.
pub fn w2v_sdk<T>(tracer: &T, req: &Request) -> i64
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    tracer.in_span("booking.create", |cx| {
        let span = cx.span();
        span.set_attribute(KeyValue::new("booking.user_id", req.user_id.clone()));
        span.set_attribute(KeyValue::new(
            "booking.property_id",
            req.property_id.clone(),
        ));
        span.set_attribute(KeyValue::new("booking.source", "web"));
        let available = sdk_child(
            tracer,
            "booking.check_availability",
            [
                KeyValue::new("booking.property_id", req.property_id.clone()),
                KeyValue::new("booking.check_in", req.check_in.clone()),
                KeyValue::new("booking.check_out", req.check_out.clone()),
            ],
            || work(req.guests),
        );
        let lock = sdk_child(
            tracer,
            "booking.acquire_lock",
            [
                KeyValue::new("booking.lock_type", "pessimistic"),
                KeyValue::new("booking.reservation_id", req.reservation_id.clone()),
                KeyValue::new("booking.lock_acquired", true),
            ],
            || work(available),
        );
        let paid = sdk_child(
            tracer,
            "booking.process_payment",
            [
                KeyValue::new("payment.card_last_four", req.card_last_four.clone()),
                KeyValue::new("payment.transaction_id", req.transaction_id.clone()),
                KeyValue::new("payment.amount_cents", lock),
            ],
            || charge(lock, false).unwrap_or(-1),
        );
        sdk_child(
            tracer,
            "booking.confirm",
            [
                KeyValue::new("booking.confirmation_code", req.confirmation_code.clone()),
                KeyValue::new("booking.reservation_id", req.reservation_id.clone()),
                KeyValue::new("booking.guests", req.guests),
            ],
            || work(paid),
        )
    })
}

/// W2v with `BookingMetrics` for the booking as a whole.
pub fn w2v_macro_with_booking_metrics(metrics: &BookingMetrics, req: &Request) -> i64 {
    let booking = metrics.start_booking("web");
    let result = w2v_macro(req);
    booking.finish(BookingStatus::Success);
    result
}

static BOOKING_NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn next_request() -> Request {
    Request::new(BOOKING_NUMBER.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// The function that runs one variant once; the names are the rows of the benchmark
/// table. Resolved once per case, outside the measured loop: matching the name on
/// every iteration cost up to ~50 instructions, more for the variants listed last.
///
/// The `tracing` variants need `env.dispatch` as the default dispatcher: set it once
/// around the measured loop (see [`Env::in_dispatch`]).
pub fn runner(variant: &str) -> fn(&Env) -> i64 {
    match variant {
        "w1/none" => |_| w1_plain(black_box(1200)).unwrap_or(0),
        "w1/sdk" | "w1/sdk+batch" | "w1/sdk+sdkbatch" => |env| match &env.tracer {
            Some(t) => w1_sdk(t, black_box(1200)).unwrap_or(0),
            None => w1_sdk(&env.global_tracer, black_box(1200)).unwrap_or(0),
        },
        "w1/tracing" | "w1/tracing+batch" => |_| w1_tracing(black_box(1200)).unwrap_or(0),
        "w1/step" => |_| w1_step(black_box(1200)).unwrap_or(0),
        "w1/macro" | "w1/macro+batch" => |_| w1_macro(black_box(1200)).unwrap_or(0),
        "w2/none" => |_| w2_plain(black_box(2)),
        "w2/sdk" | "w2/sdk+batch" | "w2/sdk+sdkbatch" => |env| match &env.tracer {
            Some(t) => w2_sdk(t, black_box(2)),
            None => w2_sdk(&env.global_tracer, black_box(2)),
        },
        "w2/tracing" | "w2/tracing+batch" => |_| w2_tracing(black_box(2)),
        "w2/step" => |_| w2_step(black_box(2)),
        "w2/macro"
        | "w2/macro+guard"
        | "w2/macro+batch"
        | "w2/macro+batch+guard"
        | "w2/macro+batch+otlp"
        | "w2/macro+batch+otlp+guard"
        | "w2/macro+batch+tail"
        | "w2/macro+batch+guard+tail" => |_| w2_macro(black_box(2)),
        "w2/macro+guard+metrics" | "w2/macro+batch+guard+metrics" => |env| match &env.metrics {
            Some(metrics) => w2_macro_with_booking_metrics(metrics, black_box(2)),
            None => w2_macro(black_box(2)),
        },
        "w2v/none" => |_| w2v_plain(&next_request()),
        "w2v/sdk+batch" => |env| match &env.tracer {
            Some(t) => w2v_sdk(t, &next_request()),
            None => w2v_sdk(&env.global_tracer, &next_request()),
        },
        "w2v/macro+batch"
        | "w2v/macro+batch+guard"
        | "w2v/macro+batch+otlp"
        | "w2v/macro+batch+otlp+guard" => |_| w2v_macro(&next_request()),
        "w2v/macro+batch+guard+metrics" => |env| match &env.metrics {
            Some(metrics) => w2v_macro_with_booking_metrics(metrics, &next_request()),
            None => w2v_macro(&next_request()),
        },
        other => panic!("unknown variant {other}"),
    }
}

/// One row of the benchmark table: a workload variant under a sampling mode.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub variant: &'static str,
    pub sampling: Sampling,
    /// Run with the redaction guard on.
    pub guard: bool,
    /// Run with booking metrics on.
    pub metrics: bool,
    /// Where spans go.
    pub pipeline: Pipeline,
}

impl Case {
    /// `w1/step/sampled`, `w2/macro+guard+metrics/sampled`, …
    pub fn id(&self) -> String {
        let sampling = match self.sampling {
            Sampling::Sampled => "sampled",
            Sampling::NotSampled => "not_sampled",
            Sampling::NoSdk => "no_sdk",
        };
        format!("{}/{sampling}", self.variant)
    }

    pub fn env(&self) -> Env {
        if self.pipeline != Pipeline::Simple {
            return Env::production(self.sampling, self.pipeline, self.guard, self.metrics);
        }
        if self.guard {
            Env::with_guard(self.sampling, self.metrics)
        } else {
            Env::new(self.sampling)
        }
    }
}

/// Every case the benchmark measures, in table order.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for workload in ["w1", "w2"] {
        cases.push(Case {
            variant: if workload == "w1" {
                "w1/none"
            } else {
                "w2/none"
            },
            sampling: Sampling::NoSdk,
            guard: false,
            metrics: false,
            pipeline: Pipeline::Simple,
        });
        for sampling in [Sampling::Sampled, Sampling::NotSampled, Sampling::NoSdk] {
            for kind in ["sdk", "tracing", "step", "macro"] {
                if kind == "tracing" && sampling == Sampling::NoSdk {
                    continue;
                }
                let variant: &'static str = match (workload, kind) {
                    ("w1", "sdk") => "w1/sdk",
                    ("w1", "tracing") => "w1/tracing",
                    ("w1", "step") => "w1/step",
                    ("w1", "macro") => "w1/macro",
                    ("w2", "sdk") => "w2/sdk",
                    ("w2", "tracing") => "w2/tracing",
                    ("w2", "step") => "w2/step",
                    _ => "w2/macro",
                };
                cases.push(Case {
                    variant,
                    sampling,
                    guard: false,
                    metrics: false,
                    pipeline: Pipeline::Simple,
                });
            }
        }
    }
    cases.push(Case {
        variant: "w2/macro+guard",
        sampling: Sampling::Sampled,
        guard: true,
        metrics: false,
        pipeline: Pipeline::Simple,
    });
    cases.push(Case {
        variant: "w2/macro+guard+metrics",
        sampling: Sampling::Sampled,
        guard: true,
        metrics: true,
        pipeline: Pipeline::Simple,
    });
    cases.push(Case {
        variant: "w2v/none",
        sampling: Sampling::NoSdk,
        guard: false,
        metrics: false,
        pipeline: Pipeline::Simple,
    });
    // The production pipeline: measured per thread (booking thread vs export thread).
    for (variant, sampling, guard, metrics) in [
        ("w1/sdk+batch", Sampling::Sampled, false, false),
        ("w1/tracing+batch", Sampling::Sampled, false, false),
        ("w1/macro+batch", Sampling::Sampled, false, false),
        ("w1/sdk+batch", Sampling::NotSampled, false, false),
        ("w1/macro+batch", Sampling::NotSampled, false, false),
        ("w2/sdk+batch", Sampling::Sampled, false, false),
        ("w2/tracing+batch", Sampling::Sampled, false, false),
        ("w2/sdk+batch", Sampling::NotSampled, false, false),
        ("w2/macro+batch", Sampling::NotSampled, false, false),
        ("w2v/sdk+batch", Sampling::Sampled, false, false),
        ("w2v/sdk+batch", Sampling::NotSampled, false, false),
        ("w2v/macro+batch", Sampling::NotSampled, false, false),
        (
            "w2/macro+batch+guard+metrics",
            Sampling::Sampled,
            true,
            true,
        ),
        (
            "w2v/macro+batch+guard+metrics",
            Sampling::Sampled,
            true,
            true,
        ),
    ] {
        cases.push(Case {
            variant,
            sampling,
            guard,
            metrics,
            pipeline: Pipeline::Batch,
        });
    }
    for (variant, pipeline, guard) in [
        ("w1/sdk+sdkbatch", Pipeline::SdkBatch, false),
        ("w2/sdk+sdkbatch", Pipeline::SdkBatch, false),
        ("w2/macro+batch+tail", Pipeline::BatchTail, false),
        ("w2/macro+batch+guard+tail", Pipeline::BatchTail, true),
        ("w2/macro+batch", Pipeline::Batch, false),
        ("w2/macro+batch+guard", Pipeline::Batch, true),
        ("w2/macro+batch+otlp", Pipeline::BatchOtlp, false),
        ("w2/macro+batch+otlp+guard", Pipeline::BatchOtlp, true),
        ("w2v/macro+batch", Pipeline::Batch, false),
        ("w2v/macro+batch+guard", Pipeline::Batch, true),
        ("w2v/macro+batch+otlp", Pipeline::BatchOtlp, false),
        ("w2v/macro+batch+otlp+guard", Pipeline::BatchOtlp, true),
    ] {
        cases.push(Case {
            variant,
            sampling: Sampling::Sampled,
            guard,
            metrics: false,
            pipeline,
        });
    }
    cases
}

/// Micro-benchmarks of single operations: the scanner and the booking metrics.
pub mod micro {
    use std::hint::black_box;
    use std::time::Duration;

    use booking_otel::RedactionPolicy;
    use booking_otel::metrics::{BookingMetrics, BookingStatus};
    use opentelemetry::Value;

    pub const CLEAN: &str = "https://api.example.com/v1/properties/prop-1042/rooms?guests=2";
    pub const WITH_PAN: &str = "gateway said: card 4242-4242-4242-4242 declined for booking res-81";

    /// Scans one string attribute value the way the guard does on export.
    pub fn scan(policy: &RedactionPolicy, text: &'static str) -> bool {
        let mut value = Value::from(black_box(text));
        policy.redact_value(black_box("http.url"), &mut value)
    }

    /// Records one booking's metrics (attempts + duration).
    pub fn record_booking(metrics: &BookingMetrics) {
        metrics.record_booking(
            BookingStatus::Success,
            black_box(Duration::from_millis(840)),
            black_box("web"),
        );
    }

    /// The guard form: active up, then attempts, duration, active down.
    pub fn booking_guard(metrics: &BookingMetrics) {
        let booking = metrics.start_booking(black_box("web"));
        booking.finish(BookingStatus::Success);
    }

    /// The SDK's own floor, for comparison with the booking metrics: one recording
    /// into a bound histogram, counter and up-down counter (`Histogram::bind`, …), and
    /// the two wall-clock reads and the subtraction a step's duration takes.
    pub struct SdkFloor {
        histogram: opentelemetry::metrics::BoundHistogram<f64>,
        counter: opentelemetry::metrics::BoundCounter<u64>,
        up_down: opentelemetry::metrics::BoundUpDownCounter<i64>,
    }

    impl SdkFloor {
        /// Bound instruments on `provider`, with one attribute each.
        pub fn new(provider: &opentelemetry_sdk::metrics::SdkMeterProvider) -> Self {
            use opentelemetry::KeyValue;
            use opentelemetry::metrics::MeterProvider as _;
            let meter = provider.meter("bench-floor");
            let attributes = [KeyValue::new("booking.step", "booking.confirm")];
            SdkFloor {
                histogram: meter
                    .f64_histogram("floor.histogram")
                    .with_boundaries(booking_otel::metrics::DURATION_BUCKETS_SECONDS.to_vec())
                    .build()
                    .bind(&attributes),
                counter: meter.u64_counter("floor.counter").build().bind(&attributes),
                up_down: meter
                    .i64_up_down_counter("floor.up_down")
                    .build()
                    .bind(&attributes),
            }
        }

        /// One bound histogram recording.
        pub fn histogram(&self) {
            self.histogram.record(black_box(0.042));
        }

        /// One bound counter increment.
        pub fn counter(&self) {
            self.counter.add(black_box(1));
        }

        /// One bound up-down counter change.
        pub fn up_down(&self) {
            self.up_down.add(black_box(1));
        }
    }

    /// What a booking guard takes from the clock: a monotonic read at the start, and
    /// the elapsed time in seconds at the finish (a second read and a subtraction).
    pub fn instant_elapsed() -> f64 {
        let started = std::time::Instant::now();
        black_box(started).elapsed().as_secs_f64()
    }

    /// What a step's duration metric adds to its span: the seconds between the two
    /// wall-clock timestamps the span already has (no clock read).
    pub fn system_time_sub(start: std::time::SystemTime, end: std::time::SystemTime) -> f64 {
        black_box(end)
            .duration_since(black_box(start))
            .unwrap_or_default()
            .as_secs_f64()
    }

    /// One micro case: its id and one iteration.
    pub type Case = (&'static str, Box<dyn Fn()>);

    /// Every micro case, each closing over the state it needs (built here, outside the
    /// measured loop), and the meter provider their instruments record into (keep it
    /// alive while they run). The criterion benchmark and the callgrind driver both run
    /// these.
    ///
    /// Installs that meter provider as the global one (for
    /// `metrics/global_record_booking`). No workload case reads the global meter
    /// provider (they install their own telemetry), but run them before this anyway.
    pub fn cases() -> (Vec<Case>, opentelemetry_sdk::metrics::SdkMeterProvider) {
        let policy = RedactionPolicy::default();
        let (metrics, provider) = metrics();
        let floor = std::rc::Rc::new(SdkFloor::new(&provider));
        let start = std::time::SystemTime::now();
        let end = start + Duration::from_millis(42);
        let (pan_policy, guard_metrics) = (policy.clone(), metrics.clone());
        let (counter_floor, up_down_floor) = (floor.clone(), floor.clone());
        let cases: Vec<Case> = vec![
            (
                "scanner/clean_string",
                Box::new(move || {
                    black_box(scan(&policy, CLEAN));
                }),
            ),
            (
                "scanner/pan_string",
                Box::new(move || {
                    black_box(scan(&pan_policy, WITH_PAN));
                }),
            ),
            (
                "metrics/record_booking",
                Box::new(move || record_booking(&metrics)),
            ),
            (
                "metrics/booking_guard",
                Box::new(move || booking_guard(&guard_metrics)),
            ),
            ("sdk/bound_histogram", Box::new(move || floor.histogram())),
            (
                "sdk/bound_counter",
                Box::new(move || counter_floor.counter()),
            ),
            (
                "sdk/bound_up_down",
                Box::new(move || up_down_floor.up_down()),
            ),
            (
                "sdk/instant_elapsed",
                Box::new(|| {
                    black_box(instant_elapsed());
                }),
            ),
            (
                "sdk/system_time_sub",
                Box::new(move || {
                    black_box(system_time_sub(start, end));
                }),
            ),
            (
                "metrics/global_record_booking",
                Box::new(|| record_booking(&BookingMetrics::global())),
            ),
        ];
        // For `metrics/global_record_booking`: `BookingMetrics::global()` called per
        // booking, as a handler might, with the micro cases' provider installed.
        opentelemetry::global::set_meter_provider(provider.clone());
        (cases, provider)
    }

    /// A meter provider with a reader that never exports during the run.
    pub fn metrics() -> (BookingMetrics, opentelemetry_sdk::metrics::SdkMeterProvider) {
        use opentelemetry::metrics::MeterProvider as _;
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_reader(
                opentelemetry_sdk::metrics::PeriodicReader::builder(
                    opentelemetry_sdk::metrics::InMemoryMetricExporter::default(),
                )
                .with_interval(Duration::from_secs(3600))
                .build(),
            )
            .build();
        (BookingMetrics::new(&provider.meter("bench")), provider)
    }
}
