//! Procedural macros for `booking-otel`. Use them through the `booking-otel` crate.
extern crate proc_macro;
use proc_macro::TokenStream;

/// Derives `booking_otel::StepError`.
#[proc_macro_derive(StepError, attributes(step_error))]
pub fn derive_step_error(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
