//! Helpers shared by integration tests (not a test target itself).

pub mod pan;
