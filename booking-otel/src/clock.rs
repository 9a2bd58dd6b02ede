//! Clock readings for step and booking durations.
//!
//! A step with metrics on reads the wall clock once at its start and once at its end:
//! the two readings are the span's timestamps and give the `booking.step.duration`
//! recording. A booking guard reads the monotonic clock at the start and the finish.
//!
//! A reading is nanoseconds since the clock's epoch, so a duration is a subtraction and
//! a multiplication. `std`'s `SystemTime::duration_since` and
//! `Instant::elapsed` cost ~90 instructions per duration more (a normalised `Duration`
//! through a `Result`), which is ~20% of all the booking metrics of a five-step booking
//! (`sdk/system_time_sub` and `sdk/instant_elapsed` in BENCHMARKS.md). So on Unix the
//! clocks are read with `clock_gettime`: the one `unsafe` call in this crate. Elsewhere
//! the readings are `std`'s.

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
impl Reading {
    #[inline]
    fn wall() -> Self {
        Self::read(libc::CLOCK_REALTIME).unwrap_or_else(Self::wall_from_std)
    }

    #[inline]
    fn monotonic() -> Self {
        // `Instant` reads the same clock; it keeps its reading private.
        Self::read(libc::CLOCK_MONOTONIC).unwrap_or(Reading(0))
    }

    /// `clock_gettime`, or `None` if it fails (it cannot for these clocks, which every
    /// Unix has).
    #[inline]
    #[allow(unsafe_code)]
    fn read(clock: libc::clockid_t) -> Option<Self> {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable `timespec` for the length of the call, and
        // `clock_gettime` writes nothing else.
        let status = unsafe { libc::clock_gettime(clock, &mut now) };
        #[allow(clippy::useless_conversion)] // `time_t` and `c_long` are `i32` on some targets.
        let nanos = i64::from(now.tv_sec)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(i64::from(now.tv_nsec));
        (status == 0).then_some(Reading(nanos))
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

    #[inline]
    fn seconds_since(self, earlier: Reading) -> f64 {
        (self.0.saturating_sub(earlier.0)).max(0) as f64 * 1e-9
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
        assert!((wall - from_std).abs() < 1e-9, "{wall} vs {from_std}");
    }

    #[test]
    fn a_clock_stepped_backwards_gives_zero_not_a_negative_duration() {
        let start = WallTime::now();
        std::thread::sleep(Duration::from_millis(2));
        let end = WallTime::now();
        assert_eq!(start.seconds_since(end), 0.0);
        assert!(end.seconds_since(start) > 0.0);
    }

    #[cfg(unix)]
    #[test]
    fn readings_across_a_second_boundary() {
        let earlier = WallTime(Reading(1_700_000_000_999_000_000));
        let later = WallTime(Reading(1_700_000_001_001_000_000));
        assert!((later.seconds_since(earlier) - 0.002).abs() < 1e-12);
        assert_eq!(
            later.to_system_time(),
            std::time::UNIX_EPOCH + Duration::new(1_700_000_001, 1_000_000)
        );
    }
}
