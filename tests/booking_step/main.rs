//! `#[booking_step]`, asserted on exported spans: one module per option, one for the
//! shapes of function it accepts, one for `Send` futures.
//!
//! The whole binary compiles under `deny(warnings, clippy::all)`, which proves the
//! expansion adds no warnings to user code (CI runs clippy with `-D warnings`).
#![deny(warnings, clippy::all)]

mod borrowed_fields;
mod call_site;
mod crate_option;
mod default;
mod every_err;
mod fields;
mod kind;
mod name;
mod rollback;
mod send;
mod shapes;
