//! `#[booking_step(..)]`, stage 3: generate the instrumented function.
//!
//! The expansion is one `Step` builder chain plus one call into
//! `booking_otel::__private_X_Y_Z` (the runtime module of the same release):
//!
//! ```text
//! fn f(args) -> R {
//!     let __booking_step = Step::new("booking.f").kind(..).attributes(|a| ..).start();
//!     __private::run(__booking_step, move || -> R { body }, |r| classify(r))
//! }
//! // async fn f(args) -> R becomes:
//! fn f(args) -> impl Future<Output = R> {
//!     let __booking_call_site = __private::call_site();      // the caller's context
//!     async move {
//!         let args = args;                                    // at the first poll:
//!         let __booking_step = __private::start_at(__booking_call_site, || ...start());
//!         __private::instrument(__booking_step, async move { body }, |r| classify(r)).await
//!     }
//! }
//! ```
//!
//! The body becomes a closure (or an async block) so that `return` and `?` end the
//! step, not skip it. Fields are recorded by reference inside the attributes closure,
//! which runs only when the span is recording and before the body takes the arguments.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Block, Expr, FnArg, Pat, PatIdent, ReturnType, Signature, Stmt};

use crate::attr::FieldValue;
use crate::valid::{Step, StepName};

pub(crate) fn expand(step: Step) -> TokenStream {
    let private = private_path(&step);
    let start = start_step(&step, &private);
    let classify = classify(&private);
    let function = &step.function;
    let body = function.body();
    if function.sig.asyncness.is_some() {
        return expand_async(&step, &start, &classify, &private);
    }
    if let Some(async_trait_body) = function
        .parsed_body()
        .and_then(|block| async_trait_body(&block, &start, &classify, &private))
    {
        return function.emit(&function.sig, async_trait_body);
    }
    let annotation = match &function.sig.output {
        ReturnType::Type(arrow, ty) if !contains_impl_trait(ty.to_token_stream()) => {
            quote!(#arrow #ty)
        }
        _ => TokenStream::new(),
    };
    function.emit(
        &function.sig,
        quote! {
            let __booking_step = #start;
            #private::run(__booking_step, move || #annotation #body, #classify)
        },
    )
}

/// `async fn f(args) -> R { body }` becomes
///
/// ```text
/// fn f(args) -> impl Future<Output = R> {
///     let __booking_call_site = call_site();          // the caller's context
///     async move {
///         let args = args;                            // every argument moves in, as in `async fn`
///         let __booking_step = start_at(__booking_call_site, || Step::new(..).start());
///         instrument(__booking_step, async move { body }, classify).await
///     }
/// }
/// ```
///
/// The step's parent is the context current where the function is called, whichever
/// task or thread polls the future; the span starts at the first poll, so a future
/// that is never polled records nothing. Fields are evaluated there too, where every
/// argument (and every binding of an argument pattern) is in scope.
fn expand_async(
    step: &Step,
    start: &TokenStream,
    classify: &TokenStream,
    private: &TokenStream,
) -> TokenStream {
    let function = &step.function;
    let mut sig: Signature = function.sig.clone();
    sig.asyncness = None;
    let output = match &function.sig.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote!(()),
    };
    // A mixed-site span gives the opaque type this crate's edition (2024), whose
    // `impl Trait` captures every lifetime in scope, as `async fn` does; with the
    // caller's span an edition-2021 crate would reject a step that borrows an argument
    // (tests/edition-2021 proves it compiles).
    let future_span = Span::mixed_site();
    sig.output = syn::parse_quote_spanned! {future_span=>
        -> impl ::core::future::Future<Output = #output>
    };
    let mut moves = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                if receiver.reference.is_none() {
                    moves.push(quote!(let _ = &self;));
                }
            }
            FnArg::Typed(typed) => {
                // `#[cfg]` on a parameter applies to its move too.
                let cfgs: Vec<_> = typed
                    .attrs
                    .iter()
                    .filter(|attr| attr.path().is_ident("cfg"))
                    .collect();
                match &mut *typed.pat {
                    // `mut x` stays `x` in the signature and becomes `let mut x = x;`.
                    Pat::Ident(PatIdent {
                        by_ref: None,
                        mutability,
                        ident,
                        subpat: None,
                        ..
                    }) => {
                        let mutability = mutability.take();
                        moves.push(quote!(#(#cfgs)* let #mutability #ident = #ident;));
                    }
                    // A pattern (`_`, `(a, _)`, `Json(req)`) takes a named argument; the
                    // whole value moves into the future first, then is destructured, so
                    // what `_` binds lives until the step ends, as in `async fn`.
                    pattern => {
                        let arg =
                            format_ident!("__booking_arg{}", index, span = Span::mixed_site());
                        let pattern = std::mem::replace(
                            pattern,
                            Pat::Ident(PatIdent {
                                attrs: Vec::new(),
                                by_ref: None,
                                mutability: None,
                                ident: arg.clone(),
                                subpat: None,
                            }),
                        );
                        moves.push(quote! {
                            #(#cfgs)* let #arg = #arg;
                            #(#cfgs)* let #pattern = #arg;
                        });
                    }
                }
            }
        }
    }
    let fake_return = fake_return(&function.sig.output);
    let body = function.body();
    function.emit(
        &sig,
        quote! {
            let __booking_call_site = #private::call_site();
            async move {
                #(#moves)*
                let __booking_step = #private::start_at(__booking_call_site, || #start);
                #private::instrument(
                    __booking_step,
                    async move {
                        #fake_return
                        #body
                    },
                    #classify,
                )
                .await
            }
        },
    )
}

/// `booking_otel::__private_X_Y_Z`, the runtime module of the release this macro crate
/// belongs to (both crates share one version, and the runtime pins this crate with `=`).
fn private_path(step: &Step) -> TokenStream {
    let krate = step
        .krate
        .as_ref()
        .map(|p| quote!(#p))
        .unwrap_or_else(|| quote!(::booking_otel));
    let module = format_ident!("__private_{}", env!("CARGO_PKG_VERSION").replace('.', "_"));
    quote!(#krate::#module)
}

/// `Step::new(name).kind(..).rollback().attributes(..).start()`
fn start_step(step: &Step, private: &TokenStream) -> TokenStream {
    let name = match &step.name {
        StepName::Literal(name) => quote!(#name),
        StepName::Path(path) => quote!(#path),
    };
    let kind = step
        .kind
        .as_ref()
        .map(|variant| quote_spanned!(variant.span()=> .kind(#private::SpanKind::#variant)));
    let rollback = step.rollback.then(|| quote!(.rollback()));
    let attributes = (!step.fields.is_empty()).then(|| {
        let sets = step.fields.iter().map(|field| {
            let key = &field.key;
            match &field.value {
                // A string literal is recorded without a copy.
                FieldValue::Literal(literal) => quote_spanned! {literal.span()=>
                    __booking_attributes.set_static(#key, #literal);
                },
                // Recorded by reference: a field never moves out of an argument.
                FieldValue::Value(value) => quote_spanned! {value.span()=>
                    #[allow(clippy::needless_borrows_for_generic_args)]
                    __booking_attributes.set(#key, &(#value));
                },
                FieldValue::Display(value) => quote_spanned! {value.span()=>
                    __booking_attributes.set(#key, #private::display(&(#value)));
                },
            }
        });
        quote! {
            .attributes(|__booking_attributes: &mut #private::StepAttributes<'_>| {
                #(#sets)*
            })
        }
    });
    quote! {
        #private::Step::new(#name) #kind #rollback #attributes .start()
    }
}

/// The closure that classifies the returned value; see `booking_otel::__private`.
fn classify(private: &TokenStream) -> TokenStream {
    quote! {
        |__booking_result| {
            #[allow(unused_imports)]
            use #private::{
                ViaAnyErr as _, ViaAnything as _, ViaDisplay as _, ViaDynError as _,
                ViaDynSendError as _, ViaError as _, ViaStepResult as _,
            };
            (&&&&&&&#private::Classify(__booking_result)).booking_outcome()
        }
    }
}

/// Pins an async block's output type to the function's return type, so that `?` and
/// `return` inside it infer as they did in the undecorated function (the same device
/// tracing-attributes uses). Never runs.
fn fake_return(output: &ReturnType) -> TokenStream {
    match output {
        ReturnType::Type(_, ty) if !contains_impl_trait(ty.to_token_stream()) => quote! {
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::needless_return,
                clippy::unreachable
            )]
            if false {
                let __booking_fake_return: #ty = loop {};
                return __booking_fake_return;
            }
        },
        _ => TokenStream::new(),
    }
}

/// `#[async_trait]` has already turned `async fn f() -> R { body }` into
/// `fn f() -> Pin<Box<dyn Future<Output = R> + Send + '_>> { Box::pin(async move { body }) }`.
/// The step goes around that async block, with the same call-site parent and
/// first-poll start as an `async fn`.
fn async_trait_body(
    body: &Block,
    start: &TokenStream,
    classify: &TokenStream,
    private: &TokenStream,
) -> Option<TokenStream> {
    let (last, before) = body.stmts.split_last()?;
    let Stmt::Expr(Expr::Call(call), None) = last else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let mut segments = func.path.segments.iter().rev();
    let is_box_pin = matches!(
        (segments.next(), segments.next()),
        (Some(pin), Some(boxed)) if pin.ident == "pin" && boxed.ident == "Box"
    );
    if !is_box_pin || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Async(block)) = call.args.first() else {
        return None;
    };
    let func = &call.func;
    Some(quote! {{
        #(#before)*
        let __booking_call_site = #private::call_site();
        #func(async move {
            let __booking_step = #private::start_at(__booking_call_site, || #start);
            #private::instrument(__booking_step, #block, #classify).await
        })
    }})
}

/// Whether a return type mentions `impl Trait`, which a closure cannot name.
fn contains_impl_trait(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => contains_impl_trait(group.stream()),
        _ => false,
    })
}
