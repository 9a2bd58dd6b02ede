//! Procedural macros for [`booking-otel`](https://docs.rs/booking-otel): `#[booking_step]`
//! and `#[derive(StepError)]`. Use them through the `booking-otel` crate, which
//! re-exports both and documents them.

extern crate proc_macro;

mod attr;
mod case;
mod errors;
mod expand;
mod item;
mod step_error;
mod valid;

use proc_macro::TokenStream;

/// Derives `booking_otel::StepError`: each enum variant gets a snake_case `error.type`
/// (`GatewayTimeout` → `gateway_timeout`), overridable with
/// `#[step_error(error_type = "...")]`; `#[step_error(rejection)]` marks a variant as an
/// expected business rejection. On a struct the options go on the struct itself.
/// `#[step_error(crate = path)]` names a re-export of `booking_otel`. On an error the
/// impl is still emitted, with the trait's default methods, next to the errors.
#[proc_macro_derive(StepError, attributes(step_error))]
pub fn derive_step_error(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    step_error::derive(input).into()
}

// Documented on the re-export, `booking_otel::booking_step`
// (booking-otel/src/booking_step.md), where its examples run as doctests.
//
// Stages: `attr` parses the options, `valid` checks them against the item, `expand`
// generates the code. On any error the function is still emitted unchanged next to the
// errors, so one typo does not bury the file in unrelated errors.
#[proc_macro_attribute]
pub fn booking_step(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let checked = attr::parse(args.into()).and_then(|args| valid::validate(args, item.clone()));
    match checked {
        Ok(step) => expand::expand(step).into(),
        Err(errors) => {
            let errors = errors.into_compile_error();
            quote::quote!(#item #errors).into()
        }
    }
}
