//! Procedural macros for [`booking-otel`](https://docs.rs/booking-otel): `#[booking_step]`
//! and `#[derive(StepError)]`. Use them through the `booking-otel` crate, which
//! re-exports both and documents them.

extern crate proc_macro;

mod case;
mod step_error;

use proc_macro::TokenStream;

/// Derives `booking_otel::StepError`: each enum variant gets a snake_case `error.type`
/// (`GatewayTimeout` → `gateway_timeout`), overridable with
/// `#[step_error(error_type = "...")]`; `#[step_error(rejection)]` marks a variant as an
/// expected business rejection. On a struct the options go on the struct itself.
/// `#[step_error(crate = path)]` names a re-export of `booking_otel`.
#[proc_macro_derive(StepError, attributes(step_error))]
pub fn derive_step_error(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    step_error::derive(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
