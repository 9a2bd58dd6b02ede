//! `#[derive(StepError)]`: parse the `#[step_error(..)]` attributes, check them, expand.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, Path, spanned::Spanned};

use crate::case::snake_case;

/// Options of one `#[step_error(..)]` attribute list (container or variant).
#[derive(Default)]
struct Options {
    rejection: bool,
    error_type: Option<LitStr>,
    krate: Option<Path>,
}

const VARIANT_OPTIONS: &str = "`rejection`, `error_type = \"...\"`";
const CONTAINER_OPTIONS: &str = "`rejection`, `error_type = \"...\"`, `crate = path`";

fn parse_options(attrs: &[syn::Attribute], container: bool) -> syn::Result<Options> {
    let mut options = Options::default();
    let mut errors: Option<syn::Error> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("step_error")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rejection") {
                if options.rejection {
                    return Err(meta.error("duplicate option `rejection`"));
                }
                options.rejection = true;
                Ok(())
            } else if meta.path.is_ident("error_type") {
                if options.error_type.is_some() {
                    return Err(meta.error("duplicate option `error_type`"));
                }
                let lit: LitStr = meta.value()?.parse()?;
                let value = lit.value();
                if value.is_empty() || value.chars().any(|c| c.is_whitespace()) {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`error_type` must be a non-empty, low-cardinality identifier without spaces, e.g. \"payment_declined\"",
                    ));
                }
                options.error_type = Some(lit);
                Ok(())
            } else if container && meta.path.is_ident("crate") {
                if options.krate.is_some() {
                    return Err(meta.error("duplicate option `crate`"));
                }
                options.krate = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                let name = meta
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "this".into());
                let valid = if container { CONTAINER_OPTIONS } else { VARIANT_OPTIONS };
                Err(meta.error(format!("unknown option `{name}`; expected one of {valid}")))
            }
        });
        if let Err(e) = result {
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(options),
    }
}

pub(crate) fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let container = parse_options(&input.attrs, true)?;
    let krate = container
        .krate
        .clone()
        .map(|p| quote!(#p))
        .unwrap_or_else(|| quote!(::booking_otel));
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();

    let (error_type_body, rejection_body) = match &input.data {
        Data::Enum(data) => {
            if container.rejection || container.error_type.is_some() {
                return Err(syn::Error::new(
                    input.ident.span(),
                    "on an enum, put `rejection` and `error_type` on the variants",
                ));
            }
            let mut error_type_arms = Vec::new();
            let mut rejections = Vec::new();
            let mut errors: Option<syn::Error> = None;
            for variant in &data.variants {
                let options = match parse_options(&variant.attrs, false) {
                    Ok(o) => o,
                    Err(e) => {
                        match &mut errors {
                            Some(all) => all.combine(e),
                            None => errors = Some(e),
                        }
                        continue;
                    }
                };
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
            if let Some(e) = errors {
                return Err(e);
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
                .map(|l| l.value())
                .unwrap_or_else(|| snake_case(&name.to_string()));
            let rejection = container.rejection;
            (quote!(#value), quote!(#rejection))
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span(),
                "StepError cannot be derived for a union; use an enum or a struct",
            ));
        }
    };

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::StepError for #name #ty_generics #where_clause {
            fn error_type(&self) -> &'static str {
                #error_type_body
            }
            fn is_rejection(&self) -> bool {
                #rejection_body
            }
        }
    })
}
