//! `#[booking_step(..)]`, stage 1: parse the attribute's arguments.
//!
//! Only syntax is checked here; what the values mean is checked in [`crate::valid`].

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

/// The options of `#[booking_step]`, as written.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<Name>,
    pub(crate) kind: Option<Ident>,
    pub(crate) fields: Vec<Field>,
    pub(crate) rollback: Option<Ident>,
    pub(crate) krate: Option<Path>,
    /// Semantic problems found while parsing (duplicates), reported with the rest.
    pub(crate) errors: Vec<syn::Error>,
}

/// The span name: a string literal, or a path to a `&'static str` constant.
pub(crate) enum Name {
    Literal(LitStr),
    Path(Path),
}

/// One `key = expr` of `fields(..)`.
pub(crate) struct Field {
    /// The dotted key, e.g. `booking.property_id`.
    pub(crate) key: String,
    /// Where the key was written, for errors.
    pub(crate) key_span: Span,
    pub(crate) value: FieldValue,
}

/// The value of a field, as written.
pub(crate) enum FieldValue {
    /// A string literal: recorded without a copy.
    Literal(LitStr),
    /// `%expr`: recorded through its `Display` text.
    Display(Expr),
    /// Any other expression: recorded by reference through `StepValue`.
    Value(Expr),
}

pub(crate) const OPTIONS: &str = "`name`, `kind`, `fields`, `rollback`, `crate`";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let option = Ident::parse_any(input)?;
            let option_name = option.to_string();
            if seen.contains(&option_name) {
                args.errors.push(syn::Error::new(
                    option.span(),
                    format!("duplicate option `{option_name}`; each option may be given once"),
                ));
            }
            seen.push(option_name.clone());
            match option_name.as_str() {
                "name" => {
                    input.parse::<Token![=]>()?;
                    args.name = Some(parse_name(input)?);
                }
                "kind" => {
                    input.parse::<Token![=]>()?;
                    args.kind = Some(parse_kind(input)?);
                }
                "fields" => {
                    let content;
                    syn::parenthesized!(content in input);
                    let fields = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
                    args.fields.extend(fields);
                }
                "rollback" => {
                    if input.peek(Token![=]) {
                        return Err(input.error(
                            "`rollback` takes no value: write `#[booking_step(rollback)]`",
                        ));
                    }
                    args.rollback = Some(option);
                }
                "crate" => {
                    input.parse::<Token![=]>()?;
                    args.krate = Some(Path::parse_mod_style(input)?);
                }
                _ => {
                    return Err(syn::Error::new(
                        option.span(),
                        format!("unknown option `{option_name}`; expected one of {OPTIONS}"),
                    ));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

fn parse_name(input: ParseStream<'_>) -> syn::Result<Name> {
    if input.peek(LitStr) {
        return Ok(Name::Literal(input.parse()?));
    }
    if input.peek(Ident::peek_any) || input.peek(Token![::]) {
        return Ok(Name::Path(Path::parse_mod_style(input)?));
    }
    Err(input.error(
        "`name` expects a string literal such as \"booking.process_payment\", or a path to a `&'static str` constant",
    ))
}

fn parse_kind(input: ParseStream<'_>) -> syn::Result<Ident> {
    if input.peek(Ident::peek_any) {
        return Ident::parse_any(input);
    }
    Err(input.error(
        "`kind` expects one of `internal`, `client`, `server`, `producer`, `consumer` (without quotes)",
    ))
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (key, key_span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.span())
        } else {
            let first = Ident::parse_any(input).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected an attribute key such as `booking.property_id = expr`",
                )
            })?;
            let span = first.span();
            let mut key = first.unraw().to_string();
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                let segment = Ident::parse_any(input)?;
                key.push('.');
                key.push_str(&segment.unraw().to_string());
            }
            (key, span)
        };
        if !input.peek(Token![=]) {
            return Err(input.error(format!(
                "expected `=` and a value after field `{key}`, e.g. `{key} = search.guests`"
            )));
        }
        input.parse::<Token![=]>()?;
        let value = if input.peek(Token![%]) {
            input.parse::<Token![%]>()?;
            FieldValue::Display(input.parse()?)
        } else {
            match input.parse()? {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(literal),
                    attrs,
                }) if attrs.is_empty() => FieldValue::Literal(literal),
                value => FieldValue::Value(value),
            }
        };
        Ok(Field {
            key,
            key_span,
            value,
        })
    }
}
