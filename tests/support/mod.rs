//! Helpers shared by integration tests (not a test target itself).

pub mod bookings;
pub mod example_binary;
pub mod failing_step;
pub mod faulty_receiver;
pub mod logs_e2e;
pub mod metrics;
pub mod pan;
pub mod receiver;
pub mod watchdog;
