//! Booking metric instruments: the ones a booking team puts on its dashboard and alerts on.
//!
//! [`BookingMetrics`] creates every instrument once, from a [`Meter`], and is cheap to
//! clone; keep one in your application state. Every attribute value is one of a fixed
//! set ([`BookingStatus`], [`BookingSource`], [`PaymentStatus`], …): no ids and no user
//! input ever become metric attributes, so cardinality stays bounded whatever a client
//! sends.
//!
//! | instrument | kind, unit | attributes |
//! |---|---|---|
//! | `booking.attempts` | counter | `booking.status`, `booking.source` |
//! | `booking.duration` | histogram, s | `booking.status` |
//! | `booking.active` | up-down counter | — |
//! | `booking.lock.contention` | counter | `booking.contention_reason` |
//! | `payment.attempts` | counter | `payment.status`, `payment.method`, `payment.currency` |
//! | `payment.gateway.duration` | histogram, s | `payment.status` |
//! | `booking.rollbacks` | counter | `booking.rollback.step`, `booking.outcome` |
//! | `booking.step.duration` | histogram, s | `booking.step`, `booking.outcome`, `error.type` (recorded by every step) |
//!
//! Histograms use [`DURATION_BUCKETS_SECONDS`] (5 ms to 30 s).
//!
//! `booking.step.duration` is the difference of the step span's own start and end
//! timestamps (one clock read each, shared by the span and the metric, which saves two
//! reads per step). Those are wall-clock times, as every span's are: a clock stepped
//! while a step runs (a VM resumed, a manual change; NTP slews instead of stepping)
//! shows in that step's duration, and a step backwards records zero.
//!
//! ```
//! use std::time::Duration;
//! use booking_otel::metrics::{BookingMetrics, BookingStatus};
//!
//! let metrics = BookingMetrics::global();
//!
//! // One call per booking, as in the guide:
//! metrics.record_booking(BookingStatus::Success, Duration::from_millis(840), "web");
//!
//! // Or a guard that records attempts, duration and the in-flight count whatever path
//! // the code takes (a `?`, a panic, a dropped future):
//! let booking = metrics.start_booking("mobile");
//! let result: Result<&str, std::io::Error> = Ok("K7Q2ZP");
//! booking.finish_with(&result);
//! ```

use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{
    BoundCounter, BoundHistogram, BoundUpDownCounter, Counter, Histogram, Meter, MeterProvider,
    UpDownCounter,
};

use crate::conventions::{attribute, metric, standard};
use crate::outcome::{Outcome, StepResult};

mod series;
use series::{SeriesTable, StaticStr};

/// Explicit histogram bucket boundaries, in seconds, for booking latencies from 5 ms to
/// 30 s: fine-grained where step latencies live, coarse where only timeouts do.
pub const DURATION_BUCKETS_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 30.0,
];

/// The most attribute combinations of one instrument kept bound (pre-resolved). Steps
/// × outcomes × error types is small and bounded by the code; past this many, a
/// combination is recorded through the unbound path, with the same result.
pub const MAX_BOUND_SERIES: usize = 512;

/// The step-level instruments every step records into (`booking.step.duration`, and
/// `booking.rollbacks` for rollback steps), with their bound series. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct StepInstruments {
    duration: Histogram<f64>,
    rollbacks: Counter<u64>,
    /// `booking_otel.propagation.rejected_headers`, counted by `propagation` on the
    /// telemetry current where headers are extracted.
    rejected_headers: Counter<u64>,
    bound: Arc<BoundStepSeries>,
}

/// (step, outcome, error type) and (rollback step, outcome).
type StepKey = (StaticStr, StaticStr, Option<StaticStr>);
type RollbackKey = (StaticStr, StaticStr);

#[derive(Debug, Default)]
struct BoundStepSeries {
    durations: SeriesTable<StepKey, BoundHistogram<f64>>,
    rollbacks: SeriesTable<RollbackKey, BoundCounter<u64>>,
}

impl StepInstruments {
    pub(crate) fn new(meter: &Meter) -> Self {
        StepInstruments {
            duration: step_duration(meter),
            rollbacks: rollbacks(meter),
            rejected_headers: crate::propagation::rejected_headers_counter(meter),
            bound: Arc::default(),
        }
    }

    /// `booking_otel.propagation.rejected_headers`.
    pub(crate) fn rejected_headers(&self) -> &Counter<u64> {
        &self.rejected_headers
    }

    /// Records one finished step: `booking.step.duration` with `booking.step`,
    /// `booking.outcome` and (when there is one) `error.type`, and for a rollback step
    /// `booking.rollbacks`. Inlined into the step's ending: the bound series is found
    /// and recorded there, everything else is out of line.
    #[inline]
    pub(crate) fn record_step(
        &self,
        step: &'static str,
        outcome: &'static str,
        error_type: Option<&'static str>,
        seconds: f64,
        rollback: bool,
    ) {
        let key = (
            StaticStr(step),
            StaticStr(outcome),
            error_type.map(StaticStr),
        );
        match self.bound.durations.get(key) {
            Some(series) => series.record(seconds),
            None => self.record_duration_first(key, seconds),
        }
        if rollback {
            self.record_rollback(step, outcome);
        }
    }

    /// The first recording of a combination (binding it), or one past the bind cap
    /// (recorded unbound: the SDK resolves the attribute set on each call).
    #[cold]
    #[inline(never)]
    fn record_duration_first(&self, key: StepKey, seconds: f64) {
        let (step, outcome, error_type) = (key.0.0, key.1.0, key.2.map(|e| e.0));
        let mut attributes = vec![
            KeyValue::new(attribute::BOOKING_STEP, step),
            KeyValue::new(attribute::BOOKING_OUTCOME, outcome),
        ];
        if let Some(error_type) = error_type {
            attributes.push(KeyValue::new(standard::ERROR_TYPE, error_type));
        }
        match self
            .bound
            .durations
            .bind(key, || self.duration.bind(&attributes))
        {
            Some(series) => series.record(seconds),
            None => self.duration.record(seconds, &attributes),
        }
    }

    /// `booking.rollbacks` for a rollback step.
    #[inline(never)]
    fn record_rollback(&self, step: &'static str, outcome: &'static str) {
        let attributes = [
            KeyValue::new(attribute::BOOKING_ROLLBACK_STEP, step),
            KeyValue::new(attribute::BOOKING_OUTCOME, outcome),
        ];
        let recorded = self.bound.rollbacks.with(
            (StaticStr(step), StaticStr(outcome)),
            || self.rollbacks.bind(&attributes),
            |bound| bound.add(1),
        );
        if !recorded {
            self.rollbacks.add(1, &attributes);
        }
    }
}

/// Instruments made from the global meter provider, made again only when another
/// provider is installed.
///
/// Why: making instruments resolves each one in the SDK, and a new set binds its
/// series again on first use. The step runtime looks at the global providers again
/// every [`RECHECK_INTERVAL`](crate::telemetry::RECHECK_INTERVAL) steps per thread,
/// and [`BookingMetrics::global`] is easily called per request.
pub(crate) struct GlobalCache<T>(Mutex<Option<(Weak<dyn MeterProvider + Send + Sync>, T)>>);

impl<T: Clone> GlobalCache<T> {
    pub(crate) const fn new() -> Self {
        GlobalCache(Mutex::new(None))
    }

    /// The instruments made for the installed global meter provider, made with `make`
    /// on this crate's meter the first time.
    pub(crate) fn get_or_make(&self, make: impl FnOnce(&Meter) -> T) -> T {
        let mut cached = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Read under the lock, so a thread that read an older provider cannot put its
        // instruments back after a newer one was cached.
        let provider = opentelemetry::global::meter_provider();
        if let Some((made_for, made)) = cached.as_ref() {
            // The weak reference keeps the provider's allocation, so while it is
            // cached no other provider can have its address. (Addresses compared
            // without `Arc::downgrade`, which would write the weak count.)
            if std::ptr::addr_eq(made_for.as_ptr(), Arc::as_ptr(&provider)) {
                return made.clone();
            }
        }
        let made = make(&provider.meter_with_scope(crate::instrumentation_scope()));
        *cached = Some((Arc::downgrade(&provider), made.clone()));
        made
    }

    /// Forgets the cached instruments (and with them the provider's pipelines).
    #[cfg(any(feature = "sdk", test))]
    pub(crate) fn clear(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The step instruments of [`Telemetry::from_global`](crate::Telemetry::from_global),
/// also where header extractions with no telemetry count their rejections.
pub(crate) static GLOBAL_STEP_INSTRUMENTS: GlobalCache<StepInstruments> = GlobalCache::new();

/// The instruments of [`BookingMetrics::global`].
static GLOBAL_BOOKING_METRICS: GlobalCache<BookingMetrics> = GlobalCache::new();

/// Forgets every instrument made from the global meter provider: called when the
/// providers are shut down, which leaves the shut-down meter provider installed (its
/// meters are no-ops from then on, but instruments made before would keep recording
/// into it, and keep it alive).
#[cfg(feature = "sdk")]
pub(crate) fn forget_global_instruments() {
    GLOBAL_STEP_INSTRUMENTS.clear();
    GLOBAL_BOOKING_METRICS.clear();
}

/// `booking.step.duration`, shared by every step.
fn step_duration(meter: &Meter) -> Histogram<f64> {
    meter
        .f64_histogram(metric::BOOKING_STEP_DURATION)
        .with_unit("s")
        .with_description("Duration of each booking step, by step and outcome.")
        .with_boundaries(DURATION_BUCKETS_SECONDS.to_vec())
        .build()
}

/// `booking.rollbacks`, shared by rollback steps and [`BookingMetrics::record_rollback`].
fn rollbacks(meter: &Meter) -> Counter<u64> {
    meter
        .u64_counter(metric::BOOKING_ROLLBACKS)
        .with_unit("{rollback}")
        .with_description("Compensating steps run, by step and outcome.")
        .build()
}

/// The booking instruments, created once. Cheap to clone (one `Arc`).
///
/// Build it from your meter with [`new`](BookingMetrics::new), or from the global meter
/// provider (the one [`setup`](crate::setup) installs) with
/// [`global`](BookingMetrics::global). With no meter provider installed every call is
/// a no-op.
#[derive(Clone, Debug)]
pub struct BookingMetrics {
    instruments: Arc<Instruments>,
}

#[derive(Debug)]
struct Instruments {
    attempts: Counter<u64>,
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    /// Bound on first use, per status × source (attempts) and status (duration); the
    /// statuses and sources are small enums, so a lookup is an array index.
    bound_attempts:
        [[OnceLock<BoundCounter<u64>>; BookingSource::ALL.len()]; BookingStatus::ALL.len()],
    bound_duration: [OnceLock<BoundHistogram<f64>>; BookingStatus::ALL.len()],
    bound_active: OnceLock<BoundUpDownCounter<i64>>,
    lock_contention: Counter<u64>,
    payment_attempts: Counter<u64>,
    gateway_duration: Histogram<f64>,
    rollbacks: Counter<u64>,
}

impl BookingMetrics {
    /// Creates the instruments on `meter`.
    ///
    /// Not cached: this resolves seven instruments in the SDK (~33,000 instructions),
    /// and their series are bound again on first use. Make it once (at start-up, in
    /// your application state) and clone it; a clone is one `Arc`.
    pub fn new(meter: &Meter) -> Self {
        let instruments = Instruments {
            attempts: meter
                .u64_counter(metric::BOOKING_ATTEMPTS)
                .with_unit("{attempt}")
                .with_description("Booking attempts, by final status and source.")
                .build(),
            duration: meter
                .f64_histogram(metric::BOOKING_DURATION)
                .with_unit("s")
                .with_description("Time from the start of a booking to its final status.")
                .with_boundaries(DURATION_BUCKETS_SECONDS.to_vec())
                .build(),
            active: meter
                .i64_up_down_counter(metric::BOOKING_ACTIVE)
                .with_unit("{booking}")
                .with_description("Bookings in flight.")
                .build(),
            lock_contention: meter
                .u64_counter(metric::BOOKING_LOCK_CONTENTION)
                .with_unit("{contention}")
                .with_description("Reservation locks not acquired, by reason.")
                .build(),
            payment_attempts: meter
                .u64_counter(metric::PAYMENT_ATTEMPTS)
                .with_unit("{attempt}")
                .with_description("Payment attempts, by gateway status, method and currency.")
                .build(),
            gateway_duration: meter
                .f64_histogram(metric::PAYMENT_GATEWAY_DURATION)
                .with_unit("s")
                .with_description("Round-trip time of payment gateway calls.")
                .with_boundaries(DURATION_BUCKETS_SECONDS.to_vec())
                .build(),
            rollbacks: rollbacks(meter),
            bound_attempts: Default::default(),
            bound_duration: Default::default(),
            bound_active: OnceLock::new(),
        };
        BookingMetrics {
            instruments: Arc::new(instruments),
        }
    }

    /// Creates the instruments on the global meter provider, under this crate's
    /// instrumentation scope.
    ///
    /// Cheap after the first call: the instruments are made once per installed
    /// provider and cloned after that, so calling it per request costs two locks and
    /// a clone (~110 instructions more than a kept instance), not seven instruments and
    /// their bound series. A provider installed later (`set_meter_provider`) is used
    /// from the next call; an instance kept from before goes on recording into the
    /// provider it was made from.
    pub fn global() -> Self {
        GLOBAL_BOOKING_METRICS.get_or_make(BookingMetrics::new)
    }

    /// Records one finished booking: `booking.attempts` and `booking.duration`.
    ///
    /// `source` is a [`BookingSource`] or a string; a string other than `web`, `mobile`
    /// or `api` is recorded as `other`, so a client cannot create new series.
    #[inline]
    pub fn record_booking(
        &self,
        status: BookingStatus,
        duration: Duration,
        source: impl Into<BookingSource>,
    ) {
        let source = source.into();
        let instruments = &*self.instruments;
        let status_kv = || KeyValue::new(attribute::BOOKING_STATUS, status.as_str());
        // A fieldless enum's discriminant is its position in `ALL`.
        instruments.bound_duration[status as usize]
            .get_or_init(|| instruments.duration.bind(&[status_kv()]))
            .record(duration.as_secs_f64());
        instruments.bound_attempts[status as usize][source as usize]
            .get_or_init(|| {
                instruments.attempts.bind(&[
                    status_kv(),
                    KeyValue::new(attribute::BOOKING_SOURCE, source.as_str()),
                ])
            })
            .add(1);
    }

    /// `booking.active`, bound on first use.
    fn active(&self) -> &BoundUpDownCounter<i64> {
        let instruments = &*self.instruments;
        instruments
            .bound_active
            .get_or_init(|| instruments.active.bind(&[]))
    }

    /// Starts a booking: `booking.active` goes up now, and the returned guard records
    /// `booking.attempts`, `booking.duration` and `booking.active` going down when it
    /// is finished — or dropped, whatever path the code took: a booking abandoned by a
    /// `?`, a panic or a cancelled future counts as `failed`.
    ///
    /// ```
    /// use booking_otel::metrics::{BookingMetrics, BookingStatus};
    ///
    /// fn book(metrics: &BookingMetrics) -> Result<String, std::io::Error> {
    ///     let booking = metrics.start_booking("api");
    ///     let code = confirm()?; // an early return records `failed`
    ///     booking.finish(BookingStatus::Success);
    ///     Ok(code)
    /// }
    /// # fn confirm() -> Result<String, std::io::Error> { Ok("K7Q2ZP".into()) }
    /// # book(&BookingMetrics::global()).unwrap();
    /// ```
    pub fn start_booking(&self, source: impl Into<BookingSource>) -> BookingGuard {
        self.active().add(1);
        BookingGuard {
            metrics: self.clone(),
            source: source.into(),
            started_at: Instant::now(),
            finished: false,
        }
    }

    /// Counts a reservation lock that could not be acquired (`booking.lock.contention`).
    /// The span side is [`events::lock_contention`](crate::events::lock_contention).
    #[inline]
    pub fn record_lock_contention(&self, reason: ContentionReason) {
        self.instruments.lock_contention.add(
            1,
            &[KeyValue::new(
                attribute::BOOKING_CONTENTION_REASON,
                reason.as_str(),
            )],
        );
    }

    /// Records one payment gateway call: `payment.attempts` and
    /// `payment.gateway.duration`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use booking_otel::metrics::{BookingMetrics, Currency, PaymentMethod, PaymentStatus};
    ///
    /// BookingMetrics::global().record_payment(
    ///     PaymentStatus::Declined,
    ///     PaymentMethod::Card,
    ///     Currency::parse("eur"),
    ///     Duration::from_millis(410),
    /// );
    /// ```
    #[inline]
    pub fn record_payment(
        &self,
        status: PaymentStatus,
        method: PaymentMethod,
        currency: Currency,
        duration: Duration,
    ) {
        let status = KeyValue::new(attribute::PAYMENT_STATUS, status.as_str());
        self.instruments
            .gateway_duration
            .record(duration.as_secs_f64(), std::slice::from_ref(&status));
        self.instruments.payment_attempts.add(
            1,
            &[
                status,
                KeyValue::new(attribute::PAYMENT_METHOD, method.as_str()),
                KeyValue::new(attribute::PAYMENT_CURRENCY, currency.as_str()),
            ],
        );
    }

    /// Counts a compensation done outside a rollback step (a step marked `rollback`
    /// counts itself). `step` is a fixed name such as
    /// [`span::ROLLBACK_REFUND_PAYMENT`](crate::conventions::span::ROLLBACK_REFUND_PAYMENT).
    #[inline]
    pub fn record_rollback(&self, step: &'static str, outcome: &Outcome<'_>) {
        self.instruments.rollbacks.add(
            1,
            &[
                KeyValue::new(attribute::BOOKING_ROLLBACK_STEP, step),
                KeyValue::new(attribute::BOOKING_OUTCOME, outcome.as_str()),
            ],
        );
    }
}

/// A booking in flight, from [`BookingMetrics::start_booking`]. Finish it with its
/// final status; dropped unfinished (a `?`, a panic, a cancelled future) it records
/// `failed`. Either way `booking.active` goes back down exactly once.
#[must_use = "a booking guard dropped at once records a failed booking"]
#[derive(Debug)]
pub struct BookingGuard {
    metrics: BookingMetrics,
    source: BookingSource,
    started_at: Instant,
    finished: bool,
}

impl BookingGuard {
    /// Records the booking with its final `status`.
    pub fn finish(mut self, status: BookingStatus) {
        self.record(status);
    }

    /// Records the booking with the status a step result implies: success, `rejected`
    /// for a business rejection, `failed` for an error.
    pub fn finish_with<R: StepResult>(self, result: &R) {
        let status = match result.outcome() {
            Outcome::Ok => BookingStatus::Success,
            Outcome::Rejected { .. } => BookingStatus::Rejected,
            Outcome::Failed { .. } => BookingStatus::Failed,
        };
        self.finish(status);
    }

    fn record(&mut self, status: BookingStatus) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.metrics
            .record_booking(status, self.started_at.elapsed(), self.source);
        self.metrics.active().add(-1);
    }
}

impl Drop for BookingGuard {
    fn drop(&mut self) {
        self.record(BookingStatus::Failed);
    }
}

/// Defines a bounded attribute value: an enum, its strings, and a lenient parser that
/// maps anything unexpected to `Other` (or the listed fallback).
macro_rules! bounded_value {
    (
        $(#[$meta:meta])*
        $name:ident, fallback: $fallback:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The recorded attribute value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }

            /// Parses a value case-insensitively; anything unexpected becomes
            #[doc = concat!("`", stringify!($fallback), "`, never a new attribute value.")]
            pub fn parse(value: &str) -> Self {
                // The exact spelling first: compared as bytes, without case folding.
                match value {
                    $( $text => return $name::$variant, )*
                    _ => {}
                }
                $(
                    if value.eq_ignore_ascii_case($text) {
                        return $name::$variant;
                    }
                )*
                $name::$fallback
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::parse(value)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

bounded_value! {
    /// `booking.status`: how a booking ended.
    BookingStatus, fallback: Failed {
        /// The booking was confirmed.
        Success = "success",
        /// The booking failed (an error, a panic, or abandoned unfinished).
        Failed = "failed",
        /// A business rejection: sold out, payment declined, lock contention.
        Rejected = "rejected",
        /// The booking ran out of time.
        Timeout = "timeout",
    }
}

bounded_value! {
    /// `booking.source`: the channel a booking came from.
    ///
    /// ```
    /// use booking_otel::metrics::BookingSource;
    /// assert_eq!(BookingSource::parse("Mobile"), BookingSource::Mobile);
    /// assert_eq!(BookingSource::parse("'; DROP TABLE bookings"), BookingSource::Other);
    /// ```
    BookingSource, fallback: Other {
        /// The website.
        Web = "web",
        /// A mobile app.
        Mobile = "mobile",
        /// The public API or a partner integration.
        Api = "api",
        /// Anything else.
        Other = "other",
    }
}

bounded_value! {
    /// `booking.contention_reason`: why a reservation lock was not acquired.
    ContentionReason, fallback: Other {
        /// Another reservation holds the lock.
        Held = "held",
        /// The lock expired while another reservation raced for it.
        ExpiredRace = "expired_race",
        /// Waiting for the lock timed out.
        Timeout = "timeout",
        /// Anything else.
        Other = "other",
    }
}

bounded_value! {
    /// `payment.status`: what the payment gateway answered.
    PaymentStatus, fallback: Error {
        /// The charge was approved.
        Approved = "approved",
        /// The charge was declined (a business outcome, not a failure).
        Declined = "declined",
        /// The gateway call failed.
        Error = "error",
    }
}

bounded_value! {
    /// `payment.method`: how the guest paid.
    PaymentMethod, fallback: Other {
        /// A payment card.
        Card = "card",
        /// A wallet (Apple Pay, Google Pay, PayPal).
        Wallet = "wallet",
        /// A bank transfer.
        BankTransfer = "bank_transfer",
        /// Anything else.
        Other = "other",
    }
}

/// `payment.currency`: an ISO 4217 code, or `other`.
///
/// Only codes on the ISO 4217 list are recorded, so a client cannot create new series
/// by sending made-up currencies.
///
/// ```
/// use booking_otel::metrics::Currency;
/// assert_eq!(Currency::parse("eur").as_str(), "EUR");
/// assert_eq!(Currency::parse("ZZZ").as_str(), "other");
/// assert_eq!(Currency::parse("euro").as_str(), "other");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(&'static str);

/// Active ISO 4217 codes, space-separated, sorted.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB \
BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR \
FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES \
KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR \
MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR \
SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH \
UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

impl Currency {
    /// Any currency not on the ISO 4217 list.
    pub const OTHER: Currency = Currency("other");

    /// Parses an ISO 4217 code case-insensitively; anything else is
    /// [`Currency::OTHER`].
    pub fn parse(code: &str) -> Self {
        let code = code.trim().as_bytes();
        let [a, b, c] = code else {
            return Currency::OTHER;
        };
        let wanted = [
            a.to_ascii_uppercase(),
            b.to_ascii_uppercase(),
            c.to_ascii_uppercase(),
        ];
        // Entries are 3 letters plus a space: entry `i` starts at byte `4 * i`.
        let count = ISO_4217.len().div_ceil(4);
        let entry = |i: usize| &ISO_4217[4 * i..4 * i + 3];
        let (mut low, mut high) = (0, count);
        while low < high {
            let mid = (low + high) / 2;
            match entry(mid).as_bytes().cmp(&wanted[..]) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Currency(entry(mid)),
            }
        }
        Currency::OTHER
    }

    /// The recorded attribute value: the upper-case code, or `other`.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl From<&str> for Currency {
    fn from(code: &str) -> Self {
        Currency::parse(code)
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only unit test that installs a global meter provider (others would make
    /// this count racy).
    #[test]
    fn the_global_cache_makes_instruments_once_per_installed_provider() {
        let cache: GlobalCache<u32> = GlobalCache::new();
        let made = std::cell::Cell::new(0);
        let make = |_: &Meter| {
            made.set(made.get() + 1);
            made.get()
        };
        assert_eq!(cache.get_or_make(make), 1);
        assert_eq!(cache.get_or_make(make), 1, "a hit: not made again");
        opentelemetry::global::set_meter_provider(
            opentelemetry_sdk::metrics::SdkMeterProvider::builder().build(),
        );
        assert_eq!(cache.get_or_make(make), 2, "another provider: made again");
        assert_eq!(cache.get_or_make(make), 2);
        cache.clear();
        assert_eq!(cache.get_or_make(make), 3, "cleared: made again");
    }

    #[test]
    fn unexpected_values_never_become_attribute_values() {
        assert_eq!(BookingSource::parse("WEB"), BookingSource::Web);
        assert_eq!(BookingSource::parse("mobile"), BookingSource::Mobile);
        assert_eq!(BookingSource::parse("Api"), BookingSource::Api);
        assert_eq!(BookingSource::parse(""), BookingSource::Other);
        assert_eq!(BookingSource::parse("kiosk"), BookingSource::Other);
        assert_eq!(BookingSource::parse("user-4711"), BookingSource::Other);
        assert_eq!(PaymentStatus::parse("pending"), PaymentStatus::Error);
        assert_eq!(
            PaymentMethod::parse("bank_transfer"),
            PaymentMethod::BankTransfer
        );
        assert_eq!(
            ContentionReason::parse("expired_race"),
            ContentionReason::ExpiredRace
        );
        assert_eq!(BookingStatus::parse("weird"), BookingStatus::Failed);
    }

    #[test]
    fn iso_list_is_sorted_codes_of_three_upper_case_letters() {
        let codes: Vec<&str> = ISO_4217.split(' ').collect();
        assert!(codes.len() > 150);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert_eq!(Currency::parse(" usd ").as_str(), "USD");
        assert_eq!(Currency::parse("U$D"), Currency::OTHER);
    }
}
