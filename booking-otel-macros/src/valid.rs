//! `#[booking_step(..)]`, stage 2: check what the options mean and what they decorate.
//! Every error points at the user's token; all errors found are reported together.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Ident, Item, Path};

use crate::attr::{Args, Field, Name};
use crate::item::MaybeItemFn;

/// A checked `#[booking_step]`: everything [`crate::expand`] needs.
pub(crate) struct Step {
    pub(crate) name: StepName,
    /// The `SpanKind` variant, when `kind` was given.
    pub(crate) kind: Option<Ident>,
    pub(crate) fields: Vec<Field>,
    pub(crate) rollback: bool,
    pub(crate) krate: Option<Path>,
    pub(crate) function: MaybeItemFn,
}

/// The span name the step will have.
pub(crate) enum StepName {
    /// A literal, given or derived from the function's name.
    Literal(String),
    /// A path to a constant.
    Path(Path),
}

const KINDS: [(&str, &str); 5] = [
    ("internal", "Internal"),
    ("client", "Client"),
    ("server", "Server"),
    ("producer", "Producer"),
    ("consumer", "Consumer"),
];

const ROLLBACK_PREFIX: &str = "booking.rollback.";

/// Checks `args` against the decorated `item`. On error the caller still emits `item`.
pub(crate) fn validate(args: Args, item: TokenStream) -> syn::Result<Step> {
    let mut errors = args.errors;
    let function = match syn::parse2::<MaybeItemFn>(item.clone()) {
        Ok(function) => Some(function),
        Err(not_a_function) => {
            errors.push(not_a_function_error(&item, not_a_function));
            None
        }
    };

    if let Some(constness) = function.as_ref().and_then(|f| f.sig.constness) {
        errors.push(syn::Error::new_spanned(
            constness,
            "#[booking_step] cannot instrument a `const fn`: spans exist only at run time; remove `const` or the attribute",
        ));
    }

    let kind = args.kind.and_then(|kind| {
        let written = kind.to_string();
        match KINDS.iter().find(|(k, _)| *k == written) {
            Some((_, variant)) => Some(Ident::new(variant, kind.span())),
            None => {
                errors.push(syn::Error::new(
                    kind.span(),
                    format!(
                        "unknown span kind `{written}`; expected one of `internal`, `client`, `server`, `producer`, `consumer`"
                    ),
                ));
                None
            }
        }
    });

    let rollback = args.rollback.is_some();
    let name = match args.name {
        Some(Name::Literal(lit)) => {
            let value = lit.value();
            if value.is_empty() || value.chars().any(char::is_whitespace) {
                errors.push(syn::Error::new(
                    lit.span(),
                    "a step name must be a non-empty, low-cardinality name without spaces, e.g. \"booking.process_payment\"",
                ));
            } else if rollback && !value.starts_with(ROLLBACK_PREFIX) {
                errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "a `rollback` step's name must start with `{ROLLBACK_PREFIX}`, e.g. \"{ROLLBACK_PREFIX}release_lock\"; or leave `name` out to get `{ROLLBACK_PREFIX}<fn name>`"
                    ),
                ));
            }
            StepName::Literal(value)
        }
        Some(Name::Path(path)) => StepName::Path(path),
        None => {
            let fn_name = function
                .as_ref()
                .map(|f| f.sig.ident.to_string().trim_start_matches("r#").to_string())
                .unwrap_or_default();
            let prefix = if rollback {
                ROLLBACK_PREFIX
            } else {
                "booking."
            };
            StepName::Literal(format!("{prefix}{fn_name}"))
        }
    };

    let mut keys: Vec<&str> = Vec::new();
    for field in &args.fields {
        if keys.contains(&field.key.as_str()) {
            errors.push(syn::Error::new(
                field.key_span,
                format!(
                    "duplicate field `{}`; each key may be recorded once",
                    field.key
                ),
            ));
        }
        keys.push(&field.key);
    }

    errors.finish()?;
    Ok(Step {
        name,
        kind,
        fields: args.fields,
        rollback,
        krate: args.krate,
        // `errors.finish()` failed if the item was not a function.
        function: function.ok_or_else(|| syn::Error::new_spanned(&item, "expected a function"))?,
    })
}

/// What to say when the item is not a function with a body: which item it is, when it
/// parses as one; else syn's own error, at its own place.
fn not_a_function_error(item: &TokenStream, parse_error: syn::Error) -> syn::Error {
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(_)) | Err(_) => parse_error,
        Ok(other) => syn::Error::new_spanned(
            item_token(&other),
            format!(
                "#[booking_step] goes on a function with a body, not on {}",
                item_description(&other)
            ),
        ),
    }
}

/// The token that names what a non-function item is (`struct`, `impl`, …).
fn item_token(item: &Item) -> TokenStream {
    match item {
        Item::Struct(i) => i.struct_token.to_token_stream(),
        Item::Enum(i) => i.enum_token.to_token_stream(),
        Item::Impl(i) => i.impl_token.to_token_stream(),
        Item::Trait(i) => i.trait_token.to_token_stream(),
        Item::Mod(i) => i.mod_token.to_token_stream(),
        Item::Const(i) => i.const_token.to_token_stream(),
        Item::Static(i) => i.static_token.to_token_stream(),
        Item::Type(i) => i.type_token.to_token_stream(),
        Item::Use(i) => i.use_token.to_token_stream(),
        other => other.to_token_stream(),
    }
}

fn item_description(item: &Item) -> &'static str {
    match item {
        Item::Struct(_) => "a struct",
        Item::Enum(_) => "an enum",
        Item::Impl(_) => "an impl block (put it on the methods inside)",
        Item::Trait(_) => "a trait",
        Item::Mod(_) => "a module",
        Item::Const(_) => "a const",
        Item::Static(_) => "a static",
        Item::Type(_) => "a type alias",
        Item::Use(_) => "a use declaration",
        _ => "this item",
    }
}
