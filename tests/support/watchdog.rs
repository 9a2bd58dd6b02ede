//! A hang fails the test binary instead of blocking CI.

#![allow(dead_code)]

use std::time::Duration;

/// Aborts the process, naming `what` hung, if it still runs after `limit`.
pub fn abort_after(limit: Duration, what: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("watchdog: {what} hung for {} s", limit.as_secs());
        std::process::abort();
    });
}
