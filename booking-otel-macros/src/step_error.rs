//! `#[derive(StepError)]`: parse the `#[step_error(..)]` attributes, check them, expand.
//!
//! Every problem is reported at once, each at its own token. On any error the derive
//! still emits `impl StepError for T {}` (the trait's methods have defaults), so that
//! one mistake is reported once and not again at every use of the type (the approach of
//! thiserror's fallback impl).

use proc_macro2::TokenStream;
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr, Path, spanned::Spanned};

use crate::case::snake_case;
use crate::errors::{Errors, path_name, skip_value};

/// Options of one `#[step_error(..)]` attribute list (container or variant).
#[derive(Default)]
struct Options {
    rejection: bool,
    error_type: Option<LitStr>,
    krate: Option<Path>,
}

const VARIANT_OPTIONS: &str = "`rejection`, `error_type = \"...\"`";
const CONTAINER_OPTIONS: &str = "`rejection`, `error_type = \"...\"`, `crate = path`";

/// The options of every `#[step_error(..)]` in `attrs`. A problem with one option is
/// pushed to `errors` and parsing goes on; a syntax error ends that attribute.
fn parse_options(attrs: &[Attribute], container: bool, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("step_error")) {
        let parsed = attr.parse_nested_meta(|meta| options.parse_option(meta, container, errors));
        if let Err(syntax_error) = parsed {
            errors.push(syntax_error);
        }
    }
    options
}

impl Options {
    fn parse_option(
        &mut self,
        meta: ParseNestedMeta<'_>,
        container: bool,
        errors: &mut Errors,
    ) -> syn::Result<()> {
        if meta.path.is_ident("rejection") {
            if self.rejection {
                errors.push(meta.error("duplicate option `rejection`"));
            }
            self.rejection = true;
        } else if meta.path.is_ident("error_type") {
            if self.error_type.is_some() {
                errors.push(meta.error("duplicate option `error_type`"));
            }
            let lit: LitStr = meta.value()?.parse()?;
            let value = lit.value();
            if value.is_empty() || value.chars().any(char::is_whitespace) {
                errors.push(syn::Error::new(
                    lit.span(),
                    "`error_type` must be a non-empty, low-cardinality identifier without spaces, e.g. \"payment_declined\"",
                ));
            } else {
                self.error_type = Some(lit);
            }
        } else if container && meta.path.is_ident("crate") {
            if self.krate.is_some() {
                errors.push(meta.error("duplicate option `crate`"));
            }
            self.krate = Some(meta.value()?.parse()?);
        } else {
            let valid = if container {
                CONTAINER_OPTIONS
            } else {
                VARIANT_OPTIONS
            };
            errors.push(meta.error(format!(
                "unknown option `{}`; expected one of {valid}",
                path_name(&meta.path)
            )));
            skip_value(meta.input)?;
        }
        Ok(())
    }
}

pub(crate) fn derive(input: DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let container = parse_options(&input.attrs, true, &mut errors);
    let krate = container
        .krate
        .as_ref()
        .map(|p| quote!(#p))
        .unwrap_or_else(|| quote!(::booking_otel));
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let methods = methods(&input, &container, &mut errors);

    if let Err(errors) = errors.finish() {
        let errors = errors.into_compile_error();
        return quote! {
            #errors
            #[automatically_derived]
            impl #impl_generics #krate::StepError for #name #ty_generics #where_clause {}
        };
    }
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::StepError for #name #ty_generics #where_clause {
            #methods
        }
    }
}

/// `error_type` and `is_rejection`; meaningless when an error was pushed.
fn methods(input: &DeriveInput, container: &Options, errors: &mut Errors) -> TokenStream {
    let (error_type_body, rejection_body) = match &input.data {
        Data::Enum(data) => {
            if container.rejection || container.error_type.is_some() {
                errors.push(syn::Error::new(
                    input.ident.span(),
                    "on an enum, put `rejection` and `error_type` on the variants",
                ));
            }
            let mut error_type_arms = Vec::new();
            let mut rejections = Vec::new();
            for variant in &data.variants {
                let options = parse_options(&variant.attrs, false, errors);
                let ident = &variant.ident;
                let pattern = match &variant.fields {
                    Fields::Named(_) => quote!(Self::#ident { .. }),
                    Fields::Unnamed(_) => quote!(Self::#ident(..)),
                    Fields::Unit => quote!(Self::#ident),
                };
                let value = options
                    .error_type
                    .map(|l| l.value())
                    .unwrap_or_else(|| snake_case(&ident.to_string()));
                error_type_arms.push(quote!(#pattern => #value,));
                if options.rejection {
                    rejections.push(pattern);
                }
            }
            let rejection_body = if rejections.is_empty() {
                quote!(false)
            } else {
                quote!(::core::matches!(self, #(#rejections)|*))
            };
            (quote!(match self { #(#error_type_arms)* }), rejection_body)
        }
        Data::Struct(_) => {
            let value = container
                .error_type
                .as_ref()
                .map(|l| l.value())
                .unwrap_or_else(|| snake_case(&input.ident.to_string()));
            let rejection = container.rejection;
            (quote!(#value), quote!(#rejection))
        }
        Data::Union(u) => {
            errors.push(syn::Error::new(
                u.union_token.span(),
                "StepError cannot be derived for a union; use an enum or a struct",
            ));
            return TokenStream::new();
        }
    };
    quote! {
        fn error_type(&self) -> &'static str {
            #error_type_body
        }
        fn is_rejection(&self) -> bool {
            #rejection_body
        }
    }
}
