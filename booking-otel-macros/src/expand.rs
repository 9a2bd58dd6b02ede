//! `#[booking_step(..)]`, stage 3: generate the instrumented function.
//!
//! The expansion is one `Step` builder chain plus one call into
//! `booking_otel::__private`:
//!
//! ```text
//! fn f(args) -> R {
//!     let __booking_step = Step::new("booking.f").kind(..).attributes(|a| ..).start();
//!     __private::run(__booking_step, move || -> R { body }, |r| classify(r))
//! }
//! async fn f(args) -> R {
//!     let __booking_step = ...start();
//!     __private::instrument(__booking_step, async move { body }, |r| classify(r)).await
//! }
//! ```
//!
//! The body becomes a closure (or an async block) so that `return` and `?` end the
//! step, not skip it. Fields are recorded by reference inside the attributes closure,
//! which runs only when the span is recording and before the body takes the arguments.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Block, Expr, ReturnType, Stmt};

use crate::valid::{Step, StepName};

pub(crate) fn expand(step: Step) -> TokenStream {
    let krate = step
        .krate
        .as_ref()
        .map(|p| quote!(#p))
        .unwrap_or_else(|| quote!(::booking_otel));
    let start = start_step(&step, &krate);
    let classify = classify(&krate);
    let mut function = step.function;
    let body = &function.block;
    let new_body = if function.sig.asyncness.is_some() {
        let fake_return = fake_return(&function.sig.output);
        quote! {{
            let __booking_step = #start;
            #krate::__private::instrument(
                __booking_step,
                async move {
                    #fake_return
                    #body
                },
                #classify,
            )
            .await
        }}
    } else if let Some(async_trait_body) = async_trait_body(body, &start, &classify, &krate) {
        async_trait_body
    } else {
        let annotation = match &function.sig.output {
            ReturnType::Type(arrow, ty) if !contains_impl_trait(ty.to_token_stream()) => {
                quote!(#arrow #ty)
            }
            _ => TokenStream::new(),
        };
        quote! {{
            let __booking_step = #start;
            #krate::__private::run(__booking_step, move || #annotation #body, #classify)
        }}
    };
    function.block = Box::new(syn::parse_quote!(#new_body));
    function.into_token_stream()
}

/// `Step::new(name).kind(..).rollback().attributes(..).start()`
fn start_step(step: &Step, krate: &TokenStream) -> TokenStream {
    let name = match &step.name {
        StepName::Literal(name) => quote!(#name),
        StepName::Path(path) => quote!(#path),
    };
    let kind = step.kind.as_ref().map(
        |variant| quote_spanned!(variant.span()=> .kind(#krate::__private::SpanKind::#variant)),
    );
    let rollback = step.rollback.then(|| quote!(.rollback()));
    let attributes = (!step.fields.is_empty()).then(|| {
        let sets = step.fields.iter().map(|field| {
            let key = &field.key;
            let value = &field.value;
            quote_spanned!(value.span()=> #krate::__private::record(__booking_attributes, #key, &(#value));)
        });
        quote! {
            .attributes(|__booking_attributes: &mut #krate::__private::StepAttributes<'_>| {
                #(#sets)*
            })
        }
    });
    quote! {
        #krate::__private::Step::new(#name) #kind #rollback #attributes .start()
    }
}

/// The closure that classifies the returned value; see `booking_otel::__private`.
fn classify(krate: &TokenStream) -> TokenStream {
    quote! {
        |__booking_result| {
            #[allow(unused_imports)]
            use #krate::__private::{
                ViaAnything as _, ViaDisplay as _, ViaDynError as _, ViaDynSendError as _,
                ViaError as _, ViaStepResult as _,
            };
            (&&&&&&#krate::__private::Classify(__booking_result)).booking_outcome()
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
/// The step goes around that async block; it starts when the method is called.
fn async_trait_body(
    body: &Block,
    start: &TokenStream,
    classify: &TokenStream,
    krate: &TokenStream,
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
        let __booking_step = #start;
        #func(#krate::__private::instrument(__booking_step, #block, #classify))
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
