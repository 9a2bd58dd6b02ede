//! Clock readings for step and booking durations.
//!
//! A step with metrics on reads the wall clock once at its start and once at its end:
//! the two readings are the span's timestamps and give the `booking.step.duration`
//! recording. A booking guard reads the monotonic clock at the start and the finish.
//!
//! A reading is nanoseconds since the clock's epoch, so a duration is a subtraction and
//! a multiplication. `std` keeps its readings private: a duration from two
//! `SystemTime`s is `duration_since` (a normalised `Duration` through a `Result`, ~90
//! instructions: `sdk/system_time_sub` in BENCHMARKS.md), and `Instant::elapsed` is a
//! read plus the same. Measured on a five-step booking with every booking metric on,
//! reading the clocks here took the metrics from 1,969 to 1,831 instructions (a step's
//! reading still becomes a `SystemTime` for its span, through `std`'s out-of-line
//! addition, which takes back part of the saving). So on Unix the clocks are read with
//! `clock_gettime`: the one `unsafe` call in this crate. Elsewhere the readings are
//! `std`'s.

use std::time::SystemTime;

/// A wall-clock reading (`CLOCK_REALTIME`), for a span's timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WallTime(Reading);

/// A monotonic reading (`CLOCK_MONOTONIC`), for a duration only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MonotonicTime(Reading);

impl WallTime {
    /// Reads the wall clock.
    #[inline]
    pub(crate) fn now() -> Self {
        WallTime(Reading::wall())
    }

    /// The same instant as a `SystemTime` (the span's timestamp).
    #[inline]
    pub(crate) fn to_system_time(self) -> SystemTime {
        self.0.to_system_time()
    }

    /// Seconds from `earlier` to `self`; zero if the clock went backwards in between
    /// (the wall clock can be stepped).
    #[inline]
    pub(crate) fn seconds_since(self, earlier: WallTime) -> f64 {
        self.0.seconds_since(earlier.0)
    }
}

impl MonotonicTime {
    /// Reads the monotonic clock.
    #[inline]
    pub(crate) fn now() -> Self {
        MonotonicTime(Reading::monotonic())
    }

    /// Seconds from `self` to now.
    #[inline]
    pub(crate) fn seconds_elapsed(self) -> f64 {
        Reading::monotonic().seconds_since(self.0)
    }
}

/// Nanoseconds since the clock's epoch: one `i64`, so that an `Option` of a reading is
/// as small as an `Option<SystemTime>` (it reaches the year 2262).
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reading(i64);

#[cfg(unix)]
const NANOS_PER_SECOND: i64 = 1_000_000_000;

#[cfg(unix)]
impl Reading {
    #[inline]
    fn wall() -> Self {
        Self::read(libc::CLOCK_REALTIME).unwrap_or_else(Self::wall_from_std)
    }

    #[inline]
    fn monotonic() -> Self {
        // The clock `Instant` reads (macOS's `CLOCK_MONOTONIC` counts sleep; `Instant`
        // there does not).
        #[cfg(target_vendor = "apple")]
        const MONOTONIC: libc::clockid_t = libc::CLOCK_UPTIME_RAW;
        #[cfg(not(target_vendor = "apple"))]
        const MONOTONIC: libc::clockid_t = libc::CLOCK_MONOTONIC;
        Self::read(MONOTONIC).unwrap_or(Reading(0))
    }

    /// `clock_gettime`, or `None` if it fails (it cannot for these clocks, which every
    /// Unix has, until a 32-bit `time_t` overflows in 2038) or the reading is past what
    /// an `i64` of nanoseconds holds (the year 2262).
    #[inline]
    #[allow(unsafe_code)]
    fn read(clock: libc::clockid_t) -> Option<Self> {
        // Uninitialised, not a struct literal: `timespec` has private padding fields on
        // some 32-bit targets.
        let mut now = std::mem::MaybeUninit::<libc::timespec>::uninit();
        // SAFETY: `now` is valid for writes of one `timespec` for the length of the
        // call, and `clock_gettime` writes nothing else.
        if unsafe { libc::clock_gettime(clock, now.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: `clock_gettime` succeeded, so it wrote the whole `timespec`.
        let now = unsafe { now.assume_init() };
        #[allow(clippy::useless_conversion)] // `time_t` and `c_long` are `i32` on some targets.
        let (seconds, nanos) = (i64::from(now.tv_sec), i64::from(now.tv_nsec));
        seconds
            .checked_mul(NANOS_PER_SECOND)
            .and_then(|n| n.checked_add(nanos))
            .map(Reading)
    }

    #[cold]
    fn wall_from_std() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Reading(i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX))
    }

    #[inline]
    fn to_system_time(self) -> SystemTime {
        // A reading before 1970 is not from a clock a booking system runs on.
        let since_epoch = std::time::Duration::from_nanos(self.0.max(0) as u64);
        SystemTime::UNIX_EPOCH
            .checked_add(since_epoch)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// As `Duration::as_secs_f64` computes it (whole seconds plus nanoseconds / 1e9),
    /// so a duration on a bucket boundary (75 ms) lands in the same bucket as before.
    #[inline]
    fn seconds_since(self, earlier: Reading) -> f64 {
        let nanos = self.0.saturating_sub(earlier.0).max(0);
        (nanos / NANOS_PER_SECOND) as f64 + (nanos % NANOS_PER_SECOND) as f64 / 1e9
    }
}

/// `std`'s readings, where `clock_gettime` is not available.
#[cfg(not(unix))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Wall(SystemTime),
    Monotonic(std::time::Instant),
}

#[cfg(not(unix))]
impl Reading {
    fn wall() -> Self {
        Reading::Wall(SystemTime::now())
    }

    fn monotonic() -> Self {
        Reading::Monotonic(std::time::Instant::now())
    }

    fn to_system_time(self) -> SystemTime {
        match self {
            Reading::Wall(time) => time,
            Reading::Monotonic(_) => SystemTime::now(),
        }
    }

    fn seconds_since(self, earlier: Reading) -> f64 {
        match (self, earlier) {
            (Reading::Wall(now), Reading::Wall(earlier)) => now
                .duration_since(earlier)
                .unwrap_or_default()
                .as_secs_f64(),
            (Reading::Monotonic(now), Reading::Monotonic(earlier)) => {
                now.saturating_duration_since(earlier).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_wall_reading_is_the_system_time_of_its_moment() {
        let before = SystemTime::now();
        let reading = WallTime::now().to_system_time();
        let after = SystemTime::now();
        assert!(
            before <= reading && reading <= after,
            "{before:?} {reading:?} {after:?}"
        );
    }

    #[test]
    fn durations_are_the_seconds_between_readings() {
        let start = WallTime::now();
        let monotonic = MonotonicTime::now();
        std::thread::sleep(Duration::from_millis(20));
        let end = WallTime::now();
        let elapsed = monotonic.seconds_elapsed();
        let wall = end.seconds_since(start);
        assert!((0.019..5.0).contains(&wall), "{wall}");
        assert!((0.019..5.0).contains(&elapsed), "{elapsed}");
        let from_std = end
            .to_system_time()
            .duration_since(start.to_system_time())
            .unwrap()
            .as_secs_f64();
        assert_eq!(wall, from_std);
    }

    #[test]
    fn a_clock_stepped_backwards_gives_zero_not_a_negative_duration() {
        let start = WallTime::now();
        std::thread::sleep(Duration::from_millis(2));
        let end = WallTime::now();
        assert_eq!(start.seconds_since(end), 0.0);
        assert!(end.seconds_since(start) > 0.0);
    }

    /// The values std gives, to the bit: a duration on a bucket boundary stays in its
    /// bucket.
    #[cfg(unix)]
    #[test]
    fn durations_are_bit_for_bit_what_std_computes() {
        let start = 1_700_000_000_123_456_789_i64;
        for nanos in [
            0,
            1,
            75_000_000,
            7_500_000_000,
            999_999_999,
            1_000_000_000,
            2_500_000_001,
            86_400_123_456_789,
        ] {
            let ours = WallTime(Reading(start + nanos)).seconds_since(WallTime(Reading(start)));
            let std = Duration::from_nanos(nanos as u64).as_secs_f64();
            assert_eq!(ours.to_bits(), std.to_bits(), "{nanos} ns");
        }
    }

    #[cfg(unix)]
    #[test]
    fn readings_across_a_second_boundary() {
        let earlier = WallTime(Reading(1_700_000_000_999_000_000));
        let later = WallTime(Reading(1_700_000_001_001_000_000));
        assert_eq!(
            later.seconds_since(earlier),
            Duration::from_millis(2).as_secs_f64()
        );
        assert_eq!(
            later.to_system_time(),
            std::time::UNIX_EPOCH + Duration::new(1_700_000_001, 1_000_000)
        );
    }
}
