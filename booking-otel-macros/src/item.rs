//! The decorated function, parsed only as far as the macro needs: attributes,
//! visibility and signature are parsed; the body is kept as raw tokens.
//!
//! A body with a syntax error (half-typed code in an editor) therefore still expands:
//! its tokens go through unchanged, rustc reports the real error at the real place, and
//! the function still exists for every caller and for the editor's completion (the
//! approach of tokio-macros' `ItemFn`).

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Block, Signature, Visibility, braced, token};

pub(crate) struct MaybeItemFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    brace: token::Brace,
    /// The body's tokens, without the braces; possibly not valid Rust.
    body: TokenStream,
}

impl Parse for MaybeItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let body: TokenStream = content.parse()?;
        Ok(MaybeItemFn {
            attrs,
            vis,
            sig,
            brace,
            body,
        })
    }
}

impl MaybeItemFn {
    /// The body with its braces, as written.
    pub(crate) fn body(&self) -> Group {
        let mut group = Group::new(Delimiter::Brace, self.body.clone());
        group.set_span(self.brace.span.join());
        group
    }

    /// The body as a parsed block, when it parses.
    pub(crate) fn parsed_body(&self) -> Option<Block> {
        syn::parse2(self.body().into_token_stream()).ok()
    }

    /// The function with `sig` and a new body.
    pub(crate) fn emit(&self, sig: &Signature, body: TokenStream) -> TokenStream {
        let MaybeItemFn { attrs, vis, .. } = self;
        quote! {
            #(#attrs)*
            #vis #sig {
                #body
            }
        }
    }
}
