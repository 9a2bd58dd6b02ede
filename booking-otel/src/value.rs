//! [`StepValue`]: what may be recorded as a step attribute, and how.

use opentelemetry::{KeyValue, StringValue, Value};

/// A value that may be recorded as a step attribute.
///
/// Implemented for integers, floats, `bool`, strings, and the redaction types that have a
/// safe form ([`CardNumber`](crate::CardNumber) records only brand and last four,
/// [`Sensitive`](crate::Sensitive) only a mask). Secrets such as
/// [`Cvv`](crate::Cvv) deliberately do not implement it, so recording one does not
/// compile:
///
/// ```compile_fail
/// use booking_otel::{Cvv, StepValue};
/// let cvv = Cvv::parse("123").unwrap();
/// let _ = cvv.into_step_value(); // error: a `Cvv` can never be recorded
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a booking step attribute",
    label = "this value cannot be recorded",
    note = "record integers, floats, bools, strings, or a type from booking_otel's redaction module; secrets such as `Cvv` and `Pin` can never be recorded"
)]
pub trait StepValue {
    /// Converts `self` into the attribute value that is recorded.
    fn into_step_value(self) -> Value;
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl StepValue for $t {
            #[inline]
            fn into_step_value(self) -> Value {
                Value::I64(self as i64)
            }
        }
    )*};
}
int_values!(i8, i16, i32, i64, u8, u16, u32);

/// Values above `i64::MAX` are recorded as strings rather than wrapped.
macro_rules! wide_int_values {
    ($($t:ty),*) => {$(
        impl StepValue for $t {
            #[inline]
            fn into_step_value(self) -> Value {
                match i64::try_from(self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                }
            }
        }
    )*};
}
wide_int_values!(u64, usize, isize, u128, i128);

impl StepValue for f64 {
    #[inline]
    fn into_step_value(self) -> Value {
        Value::F64(self)
    }
}

impl StepValue for f32 {
    #[inline]
    fn into_step_value(self) -> Value {
        Value::F64(f64::from(self))
    }
}

impl StepValue for bool {
    #[inline]
    fn into_step_value(self) -> Value {
        Value::Bool(self)
    }
}

impl StepValue for &'static str {
    #[inline]
    fn into_step_value(self) -> Value {
        Value::String(StringValue::from(self))
    }
}

impl StepValue for String {
    #[inline]
    fn into_step_value(self) -> Value {
        Value::String(StringValue::from(self))
    }
}

impl StepValue for std::borrow::Cow<'static, str> {
    #[inline]
    fn into_step_value(self) -> Value {
        Value::String(StringValue::from(self))
    }
}

impl StepValue for Value {
    #[inline]
    fn into_step_value(self) -> Value {
        self
    }
}

/// A reference records what the value it points to records (`&u32`, `&String`,
/// `&CardNumber`, `&&'static str`). `#[booking_step(fields(..))]` records its
/// expressions by reference, so a field never moves out of an argument.
impl<T: RecordByRef + ?Sized> StepValue for &T {
    #[inline]
    fn into_step_value(self) -> Value {
        self.to_step_value()
    }
}

/// Values that may be recorded through a reference. Implemented next to each
/// [`StepValue`] type; an implementation detail of `StepValue for &T`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a booking step attribute",
    label = "this value cannot be recorded",
    note = "record integers, floats, bools, strings, or a type from booking_otel's redaction module; secrets such as `Cvv` and `Pin` can never be recorded"
)]
pub trait RecordByRef {
    /// The attribute value recorded for `&self`.
    fn to_step_value(&self) -> Value;
}

macro_rules! copy_by_ref {
    ($($t:ty),*) => {$(
        impl RecordByRef for $t {
            #[inline]
            fn to_step_value(&self) -> Value {
                (*self).into_step_value()
            }
        }
    )*};
}
copy_by_ref!(
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    usize,
    isize,
    u128,
    i128,
    f32,
    f64,
    bool,
    &'static str
);

impl<T: RecordByRef + ?Sized> RecordByRef for &T {
    #[inline]
    fn to_step_value(&self) -> Value {
        (**self).to_step_value()
    }
}

impl RecordByRef for String {
    #[inline]
    fn to_step_value(&self) -> Value {
        Value::String(StringValue::from(self.clone()))
    }
}

impl RecordByRef for std::borrow::Cow<'static, str> {
    #[inline]
    fn to_step_value(&self) -> Value {
        self.clone().into_step_value()
    }
}

impl RecordByRef for Value {
    #[inline]
    fn to_step_value(&self) -> Value {
        self.clone()
    }
}

/// Collects a step's attributes; handed to the closure given to
/// [`Step::attributes`](crate::Step::attributes), which runs only when the span is
/// recording. Values go straight into the span being built.
///
/// ```
/// use booking_otel::{Step, conventions::attribute};
/// let guests = 2_u8;
/// let step = Step::new("booking.check_availability")
///     .attributes(|a| {
///         a.set(attribute::BOOKING_GUESTS, guests);
///         a.set(attribute::BOOKING_PROPERTY_ID, "prop-1042");
///     })
///     .start();
/// step.finish_ok();
/// ```
pub struct StepAttributes<'s> {
    pub(crate) sink: &'s mut dyn AttributeSink,
}

impl std::fmt::Debug for StepAttributes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepAttributes")
    }
}

/// Where [`StepAttributes`] writes: the span under construction.
pub(crate) trait AttributeSink {
    fn push(&mut self, attribute: KeyValue);
}

impl<S: opentelemetry::trace::Span> AttributeSink for S {
    #[inline]
    fn push(&mut self, attribute: KeyValue) {
        self.set_attribute(attribute);
    }
}

impl StepAttributes<'_> {
    /// Records `key = value`.
    #[inline]
    pub fn set(&mut self, key: &'static str, value: impl StepValue) -> &mut Self {
        self.sink.push(KeyValue::new(key, value.into_step_value()));
        self
    }

    /// Records a ready-made key-value pair.
    #[inline]
    pub fn push(&mut self, attribute: KeyValue) -> &mut Self {
        self.sink.push(attribute);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_floats_bools_and_strings_convert() {
        assert_eq!(3_u8.into_step_value(), Value::I64(3));
        assert_eq!((-3_i32).into_step_value(), Value::I64(-3));
        assert_eq!(
            u64::MAX.into_step_value(),
            Value::String(u64::MAX.to_string().into())
        );
        assert_eq!(1.5_f32.into_step_value(), Value::F64(1.5));
        assert_eq!(true.into_step_value(), Value::Bool(true));
        assert_eq!("web".into_step_value(), Value::String("web".into()));
        let owned = String::from("api");
        assert_eq!((&owned).into_step_value(), Value::String("api".into()));
        assert_eq!((&7_u16).into_step_value(), Value::I64(7));
    }
}
