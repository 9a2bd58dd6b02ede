//! [`Step`]: one correctly-statused span around one step of a booking.
//!
//! This is the hand-written form of what `#[booking_step]` generates, for code that
//! cannot take an attribute (closures, trait objects, a step that spans two functions).
//!
//! ```
//! use booking_otel::{Step, StepError, conventions::{attribute, span}};
//! use opentelemetry::trace::SpanKind;
//!
//! #[derive(Debug, thiserror::Error, StepError)]
//! enum PaymentError {
//!     #[error("declined: {0}")]
//!     #[step_error(rejection)]
//!     Declined(String),
//! }
//!
//! fn charge(amount_cents: u64) -> Result<String, PaymentError> {
//!     Step::new(span::PROCESS_PAYMENT)
//!         .kind(SpanKind::Client)
//!         .attributes(|a| {
//!             a.set(attribute::PAYMENT_CURRENCY, "EUR");
//!             a.set(attribute::PAYMENT_METHOD, "card");
//!         })
//!         .run(|| {
//!             if amount_cents > 1_000_000 {
//!                 return Err(PaymentError::Declined("limit exceeded".into()));
//!             }
//!             Ok("txn_1".to_string())
//!         })
//! }
//! assert!(charge(2_000_000).is_err());
//! ```
//!
//! # What is recorded
//!
//! | the step… | span status | attributes | event | `booking.step.duration` outcome |
//! |---|---|---|---|---|
//! | succeeds | `Unset` (`Ok` with [`Telemetry::ok_on_success`]) | | | `ok` |
//! | is rejected ([`StepError::is_rejection`](crate::StepError::is_rejection)) | `Unset` | `booking.outcome = rejected`, `booking.rejection.type` | `booking.rejection` | `rejected` |
//! | fails | `Error`, description = the error's `Display` (cut at [`MAX_ERROR_MESSAGE_LEN`](crate::outcome::MAX_ERROR_MESSAGE_LEN) bytes) | `booking.outcome = error`, `error.type` | `exception` with `exception.type`, `exception.message`, `booking.error.causes` | `error` |
//! | panics | `Error`, description = `panicked: <message>` | `booking.outcome = error`, `error.type = panic` | `exception` | `error` |
//! | is dropped unfinished (cancelled future) | `Error`, description = `cancelled` | `booking.outcome = cancelled`, `error.type = cancelled` | | `cancelled` |
//!
//! A panic is recorded and then keeps unwinding: instrumentation never swallows it.
//!
//! With `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN=logs` (or `logs/dup`) and a logger
//! installed (feature `logs`), the `exception` goes out as a log record correlated with
//! the step's span instead of (or as well as) the span event; see
//! [`ExceptionSignal`](crate::logs::ExceptionSignal).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::SystemTime;

use opentelemetry::trace::{Link, SpanBuilder, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, ContextGuard, KeyValue};

use crate::conventions::attribute;
use crate::outcome::{Ending, Outcome, StepResult};
use crate::telemetry::{self, StepTracer, Telemetry};
use crate::value::StepAttributes;

/// A step to start: name, kind, attributes. See the [module docs](self).
#[must_use = "a Step does nothing until it is run or started"]
pub struct Step<'t, A = fn(&mut StepAttributes<'_>)> {
    name: &'static str,
    kind: SpanKind,
    rollback: bool,
    telemetry: Option<&'t Telemetry>,
    /// Links and an explicit parent, which few steps have: boxed, so that a step without
    /// them carries (and moves, and drops) one null pointer.
    extras: Option<Box<Extras>>,
    attributes: A,
}

/// The rarely set parts of a [`Step`].
#[derive(Default)]
struct Extras {
    links: Option<Vec<Link>>,
    parent: Option<Context>,
}

impl std::fmt::Debug for Step<'_, fn(&mut StepAttributes<'_>)> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Step")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("rollback", &self.rollback)
            .finish_non_exhaustive()
    }
}

fn no_attributes(_: &mut StepAttributes<'_>) {}

impl Step<'static> {
    /// A step named `name` (use a [`conventions::span`](crate::conventions::span) constant
    /// or another low-cardinality `booking.*` name), kind `Internal`, no attributes.
    #[inline]
    pub fn new(name: &'static str) -> Self {
        Step {
            name,
            kind: SpanKind::Internal,
            rollback: false,
            telemetry: None,
            extras: None,
            attributes: no_attributes,
        }
    }
}

impl<'t, A: FnOnce(&mut StepAttributes<'_>)> Step<'t, A> {
    /// The span kind: `Client` for calls to a payment gateway or another service,
    /// `Producer` for messages, `Server` for the booking endpoint itself.
    #[inline]
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Marks a compensating step (lock release, refund, inventory restore): the span gets
    /// `booking.rollback = true` and, with a meter, the step is counted in
    /// `booking.rollbacks`.
    #[inline]
    pub fn rollback(mut self) -> Self {
        self.rollback = true;
        self
    }

    /// Sends this step to `telemetry` instead of the installed default.
    #[inline]
    pub fn telemetry<'u>(self, telemetry: &'u Telemetry) -> Step<'u, A> {
        Step {
            name: self.name,
            kind: self.kind,
            rollback: self.rollback,
            telemetry: Some(telemetry),
            extras: self.extras,
            attributes: self.attributes,
        }
    }

    /// Attributes to record, computed only if the span is recording (sampled), so
    /// formatting or cloning them costs nothing otherwise. Samplers do not see them.
    #[inline]
    pub fn attributes<B: FnOnce(&mut StepAttributes<'_>)>(self, attributes: B) -> Step<'t, B> {
        Step {
            name: self.name,
            kind: self.kind,
            rollback: self.rollback,
            telemetry: self.telemetry,
            extras: self.extras,
            attributes,
        }
    }

    /// Links to other traces, e.g. one per message of a batch a consumer handles
    /// (see [`propagation::batch_links`](crate::propagation::batch_links)).
    #[inline]
    pub fn links(mut self, links: Vec<Link>) -> Self {
        self.extras.get_or_insert_default().links = Some(links);
        self
    }

    /// Starts the step as a child of `parent` instead of the current context: the
    /// context extracted from a message a consumer handles
    /// ([`propagation::extract_from`](crate::propagation::extract_from)), or a context
    /// captured elsewhere. While the step runs, its context (which carries `parent`'s
    /// baggage) is current; the caller's context is not.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use booking_otel::{Step, propagation::extract_from};
    /// use opentelemetry::trace::SpanKind;
    ///
    /// let message_headers: HashMap<String, String> = HashMap::new(); // from the broker
    /// Step::new("booking.notify")
    ///     .kind(SpanKind::Consumer)
    ///     .parent(extract_from(&message_headers))
    ///     .run(|| ());
    /// ```
    ///
    /// `#[booking_step]` functions take their parent from the context current where
    /// they are called: make the extracted context current around the call instead
    /// (`let _remote = extract_from(&headers).attach();`).
    #[inline]
    pub fn parent(mut self, parent: Context) -> Self {
        self.extras.get_or_insert_default().parent = Some(parent);
        self
    }

    /// Starts the span now, as a child of the current context (or of the
    /// [`parent`](Step::parent) given), and returns the running step. Finish it with
    /// [`StartedStep::finish`]; a step dropped unfinished is recorded as cancelled (or as
    /// a panic while unwinding).
    #[inline]
    pub fn start(self) -> StartedStep {
        if self.extras.is_some() {
            return self.start_with_extras();
        }
        self.start_here()
    }

    /// Starts the span as a child of the current context.
    #[inline]
    fn start_here(self) -> StartedStep {
        match self.resolve_telemetry() {
            Some(telemetry) => self.start_traced(telemetry),
            None => StartedStep(State::Untraced),
        }
    }

    /// A step with links or an explicit parent: off the common path.
    #[cold]
    #[inline(never)]
    fn start_with_extras(mut self) -> StartedStep {
        match self.extras.as_mut().and_then(|extras| extras.parent.take()) {
            Some(parent) => self.start_in(parent),
            None => self.start_here(),
        }
    }

    /// Starts the step with `parent` current, so that the telemetry found from the
    /// context and the span's parent both come from it. A step that makes no span still
    /// runs its body in `parent`, so that its baggage and remote parent reach what the
    /// body propagates.
    fn start_in(self, parent: Context) -> StartedStep {
        let started = {
            let _parent = parent.clone().attach();
            self.start_here()
        };
        match started.0 {
            State::Untraced => StartedStep(State::SampledOut(parent)),
            State::Traced(mut traced) => {
                traced.context.get_or_insert(parent);
                StartedStep(State::Traced(traced))
            }
            state => StartedStep(state),
        }
    }

    /// The explicit telemetry, else the installed default; `None` when nothing traces.
    #[inline]
    fn resolve_telemetry(&self) -> Option<Telemetry> {
        match self.telemetry {
            Some(t) => Some(t.clone()),
            None => telemetry::current(),
        }
    }

    #[inline(never)]
    fn start_traced(self, telemetry: Telemetry) -> StartedStep {
        // With metrics, one clock read serves the span's start time and the duration;
        // the SDK reads the clock itself otherwise.
        let started_at = telemetry.instruments().map(|_| SystemTime::now());
        let (name, rollback) = (self.name, self.rollback);
        let (context, recording) = match telemetry.tracer() {
            #[cfg(feature = "sdk")]
            StepTracer::Sdk(tracer) => self.build(tracer, started_at),
            StepTracer::Boxed(tracer) => self.build(&**tracer, started_at),
        };
        if !recording && started_at.is_none() {
            // Nothing to record at the end: keep only the context to make current.
            return StartedStep(match context {
                Some(context) => State::SampledOut(context),
                None => State::Untraced,
            });
        }
        StartedStep(State::Traced(Traced {
            context,
            recording,
            name,
            rollback,
            started_at,
            telemetry,
            ended: false,
        }))
    }

    /// Builds the span from the borrowed current context; attributes go into the span
    /// before it is shared through a `Context`, so no lock is taken per attribute.
    #[inline]
    fn build<T>(self, tracer: &T, start_time: Option<SystemTime>) -> (Option<Context>, bool)
    where
        T: Tracer,
        T::Span: Send + Sync + 'static,
    {
        use opentelemetry::trace::Span as _;
        let Step {
            name,
            kind,
            rollback,
            attributes,
            extras,
            ..
        } = self;
        let links = extras.and_then(|extras| extras.links);
        Context::map_current(|parent| {
            let mut builder = SpanBuilder::from_name(name).with_kind(kind);
            builder.links = links;
            builder.start_time = start_time;
            let mut span = tracer.build_with_context(builder, parent);
            if span.is_recording() {
                let mut sink = StepAttributes { sink: &mut span };
                if rollback {
                    sink.set(attribute::BOOKING_ROLLBACK, true);
                }
                attributes(&mut sink);
                (Some(parent.with_span(span)), true)
            } else {
                // A sampled-out span needs only its SpanContext made current, so that
                // children see the sampling decision. A no-op span echoing its parent's
                // context (or an invalid one) is not activated at all.
                let sc = span.span_context();
                if !sc.is_valid() || sc == parent.span().span_context() {
                    (None, false)
                } else {
                    (Some(parent.with_remote_span_context(sc.clone())), false)
                }
            }
        })
    }

    /// Runs `body` inside the step and finishes it from what `body` returns.
    ///
    /// ```
    /// use booking_otel::Step;
    /// let rooms: Option<u32> = Step::new("booking.check_availability").run(|| Some(3));
    /// assert_eq!(rooms, Some(3));
    /// ```
    #[inline]
    pub fn run<R: StepResult>(self, body: impl FnOnce() -> R) -> R {
        self.run_classified(body, |r| r.outcome())
    }

    /// Like [`run`](Step::run), with a custom classification of the returned value.
    ///
    /// ```
    /// use booking_otel::{Outcome, Step};
    /// let price = Step::new("booking.price").run_classified(|| 129_u32, |_| Outcome::Ok);
    /// assert_eq!(price, 129);
    /// ```
    #[inline]
    pub fn run_classified<R, B, C>(self, body: B, classify: C) -> R
    where
        B: FnOnce() -> R,
        C: for<'r> FnOnce(&'r R) -> Outcome<'r>,
    {
        run_started(self.start(), body, classify)
    }

    /// Wraps `future` in the step: the step's context is current during every poll, and
    /// the step finishes from the output. Dropping the future before it completes
    /// records the step as cancelled.
    ///
    /// ```
    /// use booking_otel::Step;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let code: Result<&str, std::io::Error> =
    ///     Step::new("booking.confirm").instrument(async { Ok("K7Q2ZP") }).await;
    /// assert_eq!(code.unwrap(), "K7Q2ZP");
    /// # });
    /// ```
    #[inline]
    pub fn instrument<F>(self, future: F) -> StepFuture<F, fn(&F::Output) -> Outcome<'_>>
    where
        F: Future,
        F::Output: StepResult,
    {
        let classify: fn(&F::Output) -> Outcome<'_> = |r| r.outcome();
        self.instrument_classified(future, classify)
    }

    /// Like [`instrument`](Step::instrument), with a custom classification of the output.
    #[inline]
    pub fn instrument_classified<F, C>(self, future: F, classify: C) -> StepFuture<F, C>
    where
        F: Future,
        C: for<'r> FnOnce(&'r F::Output) -> Outcome<'r>,
    {
        instrument_started(self.start(), future, classify)
    }
}

/// Runs `body` inside an already started step; shared by [`Step::run_classified`] and
/// `#[booking_step]`, so both cost the same.
#[inline]
pub(crate) fn run_started<R, B, C>(step: StartedStep, body: B, classify: C) -> R
where
    B: FnOnce() -> R,
    C: for<'r> FnOnce(&'r R) -> Outcome<'r>,
{
    match step.0 {
        State::Untraced => body(),
        State::SampledOut(context) => {
            let _active = context.attach();
            body()
        }
        State::Traced(traced) => run_traced(traced, body, classify),
    }
}

/// Wraps `future` in an already started step; shared by [`Step::instrument_classified`]
/// and `#[booking_step]`.
#[inline]
pub(crate) fn instrument_started<F, C>(
    step: StartedStep,
    future: F,
    classify: C,
) -> StepFuture<F, C>
where
    F: Future,
    C: for<'r> FnOnce(&'r F::Output) -> Outcome<'r>,
{
    StepFuture {
        inner: future,
        step,
        classify: Some(classify),
    }
}

#[inline(never)]
fn run_traced<R, B, C>(mut traced: Traced, body: B, classify: C) -> R
where
    B: FnOnce() -> R,
    C: for<'r> FnOnce(&'r R) -> Outcome<'r>,
{
    let guard = traced.enter();
    let result = catch_unwind(AssertUnwindSafe(body));
    drop(guard);
    // Ended in place (not moved into `end`): its drop then finds it ended.
    match result {
        Ok(value) => {
            traced.record_end(Ending::Returned(classify(&value)));
            value
        }
        Err(payload) => {
            traced.record_end(Ending::Panicked(&*payload));
            resume_unwind(payload)
        }
    }
}

/// What a started step is: nothing to do, only a context to make current, or a span
/// (and metrics) to finish.
enum State {
    /// No telemetry: the body runs with no span.
    Untraced,
    /// Sampled out, with no metrics to record: only the context that carries the
    /// sampling decision to children.
    SampledOut(Context),
    /// A span to end and metrics to record; ends itself as cancelled if dropped.
    Traced(Traced),
}

/// The state of a traced step. Kept inline, not boxed: an allocation per step costs more
/// than moving the larger `StartedStep` (measured in `benches/`).
struct Traced {
    /// The step's context (its span, or the span context of a sampled-out span);
    /// `None` when there is nothing to make current.
    context: Option<Context>,
    recording: bool,
    name: &'static str,
    rollback: bool,
    /// When the step started, read once for the span and the duration metric (only
    /// with metrics). Wall-clock time, as the SDK's span timestamps: a clock stepped
    /// backwards mid-step records a zero duration.
    started_at: Option<SystemTime>,
    telemetry: Telemetry,
    /// Set by [`Traced::end`], so that the drop that follows records nothing more.
    ended: bool,
}

/// A running step, from [`Step::start`]. Finish it with [`finish`](StartedStep::finish)
/// (or one of its shorthands); dropped unfinished it records itself as cancelled, or as
/// a panic when dropped during unwinding.
///
/// ```
/// use booking_otel::{Outcome, Step};
/// let step = Step::new("booking.acquire_lock").start();
/// {
///     let _active = step.enter(); // spans started here are children of the step
/// }
/// step.finish(Outcome::Ok);
/// ```
#[must_use = "a step dropped unfinished is recorded as cancelled"]
pub struct StartedStep(State);

impl std::fmt::Debug for StartedStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            State::Untraced => f.write_str("StartedStep(untraced)"),
            State::SampledOut(_) => f.write_str("StartedStep(sampled out)"),
            State::Traced(t) => f
                .debug_struct("StartedStep")
                .field("name", &t.name)
                .field("recording", &t.recording)
                .finish_non_exhaustive(),
        }
    }
}

impl StartedStep {
    fn own_context(&self) -> Option<&Context> {
        match &self.0 {
            State::Untraced => None,
            State::SampledOut(context) => Some(context),
            State::Traced(traced) => traced.context.as_ref(),
        }
    }

    /// Makes the step's context current until the guard is dropped.
    #[inline]
    pub fn enter(&self) -> Option<ContextGuard> {
        self.own_context().map(|cx| cx.clone().attach())
    }

    /// The step's context, to pass to spawned work or to propagate; the current
    /// context when the step is not traced.
    pub fn context(&self) -> Context {
        match self.own_context() {
            Some(cx) => cx.clone(),
            None => Context::current(),
        }
    }

    /// Whether the step's span is recording (sampled); use it to skip work that only
    /// feeds the span.
    pub fn is_recording(&self) -> bool {
        self.recording_context().is_some()
    }

    /// Adds an event to the step's span (no-op when it is not recording).
    pub fn add_event(&self, name: &'static str, attributes: Vec<KeyValue>) {
        if let Some(cx) = self.recording_context() {
            cx.span().add_event(name, attributes);
        }
    }

    /// Sets an attribute on the step's span (no-op when it is not recording).
    pub fn set_attribute(&self, attribute: KeyValue) {
        if let Some(cx) = self.recording_context() {
            cx.span().set_attribute(attribute);
        }
    }

    fn recording_context(&self) -> Option<&Context> {
        match &self.0 {
            State::Traced(traced) if traced.recording => traced.context.as_ref(),
            _ => None,
        }
    }

    /// Finishes the step with `outcome`.
    #[inline]
    pub fn finish(self, outcome: Outcome<'_>) {
        if let State::Traced(traced) = self.0 {
            traced.end(Ending::Returned(outcome));
        }
    }

    /// Finishes the step from a returned value's [`StepResult`] classification.
    #[inline]
    pub fn finish_with<R: StepResult>(self, result: &R) {
        self.finish(result.outcome());
    }

    /// Finishes the step as a success.
    #[inline]
    pub fn finish_ok(self) {
        self.finish(Outcome::Ok);
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.record_end(Ending::Panicked(&"unwinding"));
        } else {
            self.record_end(Ending::Cancelled);
        }
    }
}

impl Traced {
    fn enter(&self) -> Option<ContextGuard> {
        self.context.as_ref().map(|cx| cx.clone().attach())
    }

    /// Ends the step: records `ending` on the span and in the step metrics, once.
    fn end(mut self, ending: Ending<'_>) {
        self.record_end(ending);
    }

    /// Records `ending` unless the step already ended (a drop after `end`, a poll after
    /// completion).
    fn record_end(&mut self, ending: Ending<'_>) {
        if self.ended {
            return;
        }
        self.ended = true;
        // As at the start: one clock read for the span's end and the duration.
        let ended_at = self.started_at.map(|_| SystemTime::now());
        if let Some(cx) = self.context.as_ref().filter(|_| self.recording) {
            let span = cx.span();
            let ok_on_success = self.telemetry.sets_ok_on_success();
            // A success writes nothing on the span unless an Ok status is asked for.
            if ok_on_success || !matches!(ending, Ending::Returned(Outcome::Ok)) {
                ending.record(&span, ok_on_success, &self.telemetry.exception_sink());
            }
            match ended_at {
                Some(ended_at) => span.end_with_timestamp(ended_at),
                None => span.end(),
            }
        }
        if let (Some(instruments), Some(started_at), Some(ended_at)) =
            (self.telemetry.instruments(), self.started_at, ended_at)
        {
            let seconds = ended_at
                .duration_since(started_at)
                .unwrap_or_default()
                .as_secs_f64();
            let (outcome, error_type) = ending.labels();
            instruments.record_step(self.name, outcome, error_type, seconds, self.rollback);
        }
    }
}

pin_project_lite::pin_project! {
    /// A future wrapped in a step, from [`Step::instrument`].
    ///
    /// The step's context is current during every poll of the inner future. A panic
    /// while polling is recorded and resumed; dropping the future before it completes
    /// records the step as cancelled.
    #[must_use = "futures do nothing unless polled"]
    pub struct StepFuture<F, C> {
        // Declared first so that it drops first: its own child steps end before this one.
        #[pin]
        inner: F,
        step: StartedStep,
        classify: Option<C>,
    }
}

impl<F, C> std::fmt::Debug for StepFuture<F, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepFuture")
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl<F, C> Future for StepFuture<F, C>
where
    F: Future,
    C: for<'r> FnOnce(&'r F::Output) -> Outcome<'r>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let State::Traced(traced) = &mut this.step.0 else {
            let _active = this.step.enter();
            return this.inner.poll(cx);
        };
        let guard = traced.enter();
        let polled = catch_unwind(AssertUnwindSafe(|| this.inner.poll(cx)));
        drop(guard);
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                if let Some(classify) = this.classify.take() {
                    traced.record_end(Ending::Returned(classify(&output)));
                }
                Poll::Ready(output)
            }
            Err(payload) => {
                traced.record_end(Ending::Panicked(&*payload));
                resume_unwind(payload)
            }
        }
    }
}
