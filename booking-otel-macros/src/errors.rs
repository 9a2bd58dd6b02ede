//! Error collection shared by both macros: every problem found is reported at once,
//! each at its own token, instead of stopping at the first.

use proc_macro2::{Group, TokenTree};
use syn::parse::ParseStream;
use syn::token::Paren;
use syn::{Path, Token};

/// Collects errors so that all of them are reported together.
#[derive(Default)]
pub(crate) struct Errors(Vec<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    /// `Ok` when nothing was pushed; else every error pushed, combined in order.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.combined() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Every error pushed, then `last`, combined in order.
    pub(crate) fn ending_with(self, last: syn::Error) -> syn::Error {
        match self.combined() {
            Some(mut all) => {
                all.combine(last);
                all
            }
            None => last,
        }
    }

    fn combined(self) -> Option<syn::Error> {
        self.0.into_iter().reduce(|mut all, error| {
            all.combine(error);
            all
        })
    }
}

/// Skips the value of an option that was reported as an error (`= tokens` up to the
/// next `,`, or a parenthesized group), so that parsing goes on with the next option.
pub(crate) fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        while !input.is_empty() && !input.peek(Token![,]) {
            input.parse::<TokenTree>()?;
        }
    } else if input.peek(Paren) {
        input.parse::<Group>()?;
    }
    Ok(())
}

/// An option's name as written, for errors: `nme`, or `a::b` for a path.
pub(crate) fn path_name(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let leading = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{leading}{}", segments.join("::"))
}
