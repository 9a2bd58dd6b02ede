//! `#[booking_step(..)]`, stage 1: parse the attribute's arguments.
//!
//! Only syntax is checked here; what the values mean is checked in [`crate::valid`].

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::errors::{Errors, path_name, skip_value};

/// The options of `#[booking_step]`, as written.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<Name>,
    pub(crate) kind: Option<Ident>,
    pub(crate) fields: Vec<Field>,
    pub(crate) rollback: Option<Ident>,
    pub(crate) krate: Option<Path>,
    /// Problems with options found while parsing (unknown, duplicate, `rollback = ..`),
    /// reported with the rest by [`crate::valid`].
    pub(crate) errors: Errors,
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

/// Parses the attribute's arguments in the `syn::meta` style.
///
/// A problem with one option (unknown, given twice, `rollback = ..`) is collected in
/// [`Args::errors`] and parsing goes on with the next option, so that every such problem
/// is reported at once. A syntax error stops parsing: it is returned together with the
/// problems found before it, and the incomplete options are not validated.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let mut args = Args::default();
    let mut seen: Vec<String> = Vec::new();
    let parsed = syn::meta::parser(|meta| args.parse_option(meta, &mut seen)).parse2(tokens);
    match parsed {
        Ok(()) => Ok(args),
        Err(syntax_error) => Err(args.errors.ending_with(syntax_error)),
    }
}

impl Args {
    fn parse_option(
        &mut self,
        meta: ParseNestedMeta<'_>,
        seen: &mut Vec<String>,
    ) -> syn::Result<()> {
        let option = path_name(&meta.path);
        if seen.contains(&option) {
            self.errors.push(syn::Error::new_spanned(
                &meta.path,
                format!("duplicate option `{option}`; each option may be given once"),
            ));
        }
        match option.as_str() {
            "name" => self.name = Some(parse_name(meta.value()?)?),
            "kind" => self.kind = Some(parse_kind(meta.value()?)?),
            "fields" => {
                let content;
                syn::parenthesized!(content in meta.input);
                let fields = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
                self.fields.extend(fields);
            }
            "rollback" => {
                if meta.input.peek(Token![=]) {
                    self.errors.push(
                        meta.input
                            .error("`rollback` takes no value: write `#[booking_step(rollback)]`"),
                    );
                    skip_value(meta.input)?;
                } else {
                    self.rollback = meta.path.get_ident().cloned();
                }
            }
            "crate" => self.krate = Some(Path::parse_mod_style(meta.value()?)?),
            _ => {
                self.errors.push(syn::Error::new_spanned(
                    &meta.path,
                    format!("unknown option `{option}`; expected one of {OPTIONS}"),
                ));
                return skip_value(meta.input);
            }
        }
        seen.push(option);
        Ok(())
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
