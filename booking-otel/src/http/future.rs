//! The span of one request: started by a layer, current while the inner service runs,
//! ended by [`ResponseFuture`] however the request ends.

use std::borrow::Cow;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use ::http::header::{HeaderName, HeaderValue};
use ::http::{Method, Response, Version};
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;

use crate::telemetry::{StepTracer, Telemetry};

/// `error.type` for a future dropped before it completed (a client that went away, a
/// timeout layer outside this one).
pub(crate) const CANCELLED: &str = "cancelled";
/// `error.type` for a panic while the inner service was polled.
pub(crate) const PANIC: &str = "panic";

/// Which end of the request the span is: decides which status codes are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// 5xx are errors; 4xx are the client's fault and leave the status unset.
    Server,
    /// 4xx and 5xx are errors.
    Client,
}

/// The method as `http.request.method` records it, and whether it is one the semantic
/// conventions know (anything else, including a lower-case `get`, is `_OTHER`).
pub(crate) fn method_attribute(method: &Method) -> (&'static str, bool) {
    let known = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ if method.as_str() == "QUERY" => "QUERY",
        _ => return ("_OTHER", false),
    };
    (known, true)
}

/// Starts `builder`'s span with `telemetry`'s tracer, as steps do, and returns
/// `parent` with the span in it.
pub(crate) fn start_span(telemetry: &Telemetry, builder: SpanBuilder, parent: &Context) -> Context {
    match telemetry.tracer() {
        #[cfg(feature = "sdk")]
        StepTracer::Sdk(tracer) => parent.with_span(tracer.build_with_context(builder, parent)),
        StepTracer::Boxed(tracer) => parent.with_span(tracer.build_with_context(builder, parent)),
    }
}

/// The common start of a server or client span: name and method attributes.
pub(crate) fn builder(
    method: &Method,
    route: Option<&str>,
    kind: SpanKind,
    capacity: usize,
) -> SpanBuilder {
    let (method_name, known) = method_attribute(method);
    let name: Cow<'static, str> = match (route, known) {
        (Some(route), true) => format!("{method_name} {route}").into(),
        (Some(route), false) => format!("HTTP {route}").into(),
        (None, true) => method_name.into(),
        (None, false) => "HTTP".into(),
    };
    let mut attributes = Vec::with_capacity(capacity);
    attributes.push(KeyValue::new(semconv::HTTP_REQUEST_METHOD, method_name));
    if !known {
        attributes.push(KeyValue::new(
            semconv::HTTP_REQUEST_METHOD_ORIGINAL,
            method.as_str().to_owned(),
        ));
    }
    SpanBuilder::from_name(name)
        .with_kind(kind)
        .with_attributes(attributes)
}

/// `network.protocol.version` of a request or response.
pub(crate) fn protocol_version(version: Version) -> Option<&'static str> {
    Some(match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// `error.type` for an `Err` of type `E`: its short type name, or `_OTHER` for a
/// box or a pointer that hides the real type.
fn error_type_of<E>() -> &'static str {
    match crate::short_type_name::<E>() {
        "Box" | "Arc" | "Rc" | "" => crate::__private_0_1_0::OTHER_ERROR_TYPE,
        name => name,
    }
}

/// A request being served or sent: its context, made current at every poll, and its
/// span, ended once.
#[derive(Debug)]
pub(crate) struct Active {
    context: Context,
    span: Option<SpanState>,
}

#[derive(Debug)]
struct SpanState {
    side: Side,
    response_traceparent: bool,
    ended: bool,
}

impl Active {
    /// Only a context to make current (nothing traces, or an incoming context to keep).
    pub(crate) fn context_only(context: Context) -> Self {
        Active {
            context,
            span: None,
        }
    }

    /// A context holding a span that this request ends.
    pub(crate) fn span(context: Context, side: Side, response_traceparent: bool) -> Self {
        Active {
            context,
            span: Some(SpanState {
                side,
                response_traceparent,
                ended: false,
            }),
        }
    }

    /// The request's context: its span, or the incoming context.
    pub(crate) fn context(&self) -> &Context {
        &self.context
    }

    fn end_with_response<B>(&mut self, response: &mut Response<B>) {
        let Some(state) = self.span.as_mut().filter(|s| !s.ended) else {
            return;
        };
        state.ended = true;
        let span = self.context.span();
        if state.response_traceparent {
            let sc = span.span_context();
            if sc.is_valid() {
                let value = format!(
                    "00-{}-{}-{:02x}",
                    sc.trace_id(),
                    sc.span_id(),
                    sc.trace_flags().to_u8()
                );
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response
                        .headers_mut()
                        .insert(HeaderName::from_static("traceparent"), value);
                }
            }
        }
        if span.is_recording() {
            let status = response.status();
            span.set_attribute(KeyValue::new(
                semconv::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status.as_u16()),
            ));
            let failed = match state.side {
                Side::Server => status.is_server_error(),
                Side::Client => status.is_client_error() || status.is_server_error(),
            };
            // Outside 100..=599 (which `http` allows up to 999) is an error either way.
            if failed || status.as_u16() >= 600 {
                span.set_attribute(KeyValue::new(
                    semconv::ERROR_TYPE,
                    status.as_str().to_owned(),
                ));
                span.set_status(Status::error(""));
            }
        }
        span.end();
    }

    fn end_with_failure(&mut self, error_type: &'static str) {
        let Some(state) = self.span.as_mut().filter(|s| !s.ended) else {
            return;
        };
        state.ended = true;
        let span = self.context.span();
        if span.is_recording() {
            span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error_type));
            span.set_status(Status::error(error_type));
        }
        span.end();
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let error_type = if std::thread::panicking() {
            PANIC
        } else {
            CANCELLED
        };
        self.end_with_failure(error_type);
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ServerService`](super::ServerService) and
    /// [`ClientService`](super::ClientService): the request's context is current at
    /// every poll of the inner future, and the span ends when the response (or the
    /// error) arrives, when a poll panics (`error.type=panic`), or when the future is
    /// dropped first (`error.type=cancelled`).
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        // Declared first so that it drops first: spans it started end before this one.
        #[pin]
        inner: F,
        active: Option<Active>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl<F> ResponseFuture<F> {
    /// The inner future, untouched (an excluded route).
    pub(crate) fn passthrough(inner: F) -> Self {
        ResponseFuture {
            inner,
            active: None,
        }
    }

    pub(crate) fn new(inner: F, active: Active) -> Self {
        ResponseFuture {
            inner,
            active: Some(active),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(active) = this.active.as_mut() else {
            return this.inner.poll(cx);
        };
        let guard = active.context.clone().attach();
        let polled = catch_unwind(AssertUnwindSafe(|| this.inner.poll(cx)));
        drop(guard);
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(mut response))) => {
                active.end_with_response(&mut response);
                Poll::Ready(Ok(response))
            }
            Ok(Poll::Ready(Err(error))) => {
                active.end_with_failure(error_type_of::<E>());
                Poll::Ready(Err(error))
            }
            Err(payload) => {
                active.end_with_failure(PANIC);
                resume_unwind(payload)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert_eq!(method_attribute(&Method::GET), ("GET", true));
        assert_eq!(
            method_attribute(&Method::from_bytes(b"QUERY").unwrap()),
            ("QUERY", true)
        );
        assert_eq!(
            method_attribute(&Method::from_bytes(b"get").unwrap()),
            ("_OTHER", false)
        );
        assert_eq!(
            method_attribute(&Method::from_bytes(b"PURGE").unwrap()),
            ("_OTHER", false)
        );
    }

    #[test]
    fn error_types() {
        assert_eq!(error_type_of::<std::io::Error>(), "Error");
        assert_eq!(error_type_of::<std::fmt::Error>(), "Error");
        assert_eq!(
            error_type_of::<Box<dyn std::error::Error + Send + Sync>>(),
            "_OTHER"
        );
        assert_eq!(error_type_of::<std::convert::Infallible>(), "Infallible");
    }
}
