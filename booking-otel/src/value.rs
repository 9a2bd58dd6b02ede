//! What may be recorded as a step attribute, and how: [`StepValue`], [`StepAttributes`]
//! and [`display`].
//!
//! | the value | recorded as |
//! |---|---|
//! | integers (`i8`…`i64`, `u8`…`u32`) | `i64` |
//! | `u64`, `usize`, `i128`, `u128`, `isize` | `i64`, or a string when it does not fit |
//! | `f32`, `f64` | `f64` |
//! | `bool` | `bool` |
//! | `str`, `String`, `Cow<str>`, `Box<str>`, `Arc<str>` (borrowed or owned) | a string, copied only when the span records |
//! | `Option<T>` | `T`'s value; `None` records nothing |
//! | slices, arrays and `Vec`s of the scalars above | an OpenTelemetry array |
//! | [`CardNumber`](crate::CardNumber) | brand + last four: `visa ****4242` |
//! | [`Sensitive<T>`](crate::Sensitive) | `[REDACTED]` |
//! | [`Fingerprint`](crate::Fingerprint) | `fp:` and 32 hex digits |
//! | any `T: Display` (a `Uuid`, an id newtype), through [`display`] or `%value` in `fields(..)` | its `Display` text |
//! | `opentelemetry::Value` | itself |
//!
//! `Debug` is deliberately not a way in: it is where secrets leak (a struct's derived
//! `Debug` prints every field). Secrets ([`Cvv`](crate::Cvv), [`Pin`](crate::Pin))
//! implement neither `StepValue` nor `Display`, so recording one does not compile.

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use opentelemetry::{Array, KeyValue, StringValue, Value};

/// A value that may be recorded as a step attribute.
///
/// Values are recorded by reference, so recording never moves a value out of the code
/// that uses it, and a borrowed `&str` records as well as an owned `String`. See the
/// [module docs](self) for every implementation. Implement it for your own types to
/// record them (an id newtype, an enum recorded as a fixed string):
///
/// ```
/// use booking_otel::StepValue;
/// use opentelemetry::Value;
///
/// enum RoomType { Standard, Suite }
///
/// impl StepValue for RoomType {
///     fn to_step_value(&self) -> Option<Value> {
///         Some(match self {
///             RoomType::Standard => "standard".into(),
///             RoomType::Suite => "suite".into(),
///         })
///     }
/// }
/// assert_eq!(RoomType::Suite.to_step_value(), Some(Value::from("suite")));
/// ```
///
/// Secrets such as [`Cvv`](crate::Cvv) deliberately do not implement it, so recording
/// one does not compile:
///
/// ```compile_fail
/// use booking_otel::{Cvv, StepValue};
/// let cvv = Cvv::parse("123").unwrap();
/// let _ = cvv.to_step_value(); // error: a `Cvv` can never be recorded
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a booking step attribute",
    label = "`{Self}` does not implement `booking_otel::StepValue`",
    note = "recordable: integers, floats, bools, strings, `Option`s and slices of them, and booking_otel's redaction types (`CardNumber`, `Sensitive`, `Fingerprint`)",
    note = "for a type that implements `Display` (an id, a `Uuid`), write `%value` in `fields(..)`, or `booking_otel::value::display(&value)`; or implement `booking_otel::StepValue` for your type",
    note = "secrets such as `Cvv` and `Pin` can never be recorded"
)]
pub trait StepValue {
    /// The attribute value to record for `self`, or `None` to record nothing (an absent
    /// `Option`).
    fn to_step_value(&self) -> Option<Value>;

    /// Like [`to_step_value`](StepValue::to_step_value), consuming `self`: an owned
    /// `String` moves into the attribute instead of being copied.
    #[inline]
    fn into_step_value(self) -> Option<Value>
    where
        Self: Sized,
    {
        self.to_step_value()
    }
}

/// A reference records what the value it points to records.
impl<T: StepValue + ?Sized> StepValue for &T {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        (**self).to_step_value()
    }
}

macro_rules! small_ints {
    ($($t:ty),*) => {$(
        impl StepValue for $t {
            #[inline]
            fn to_step_value(&self) -> Option<Value> {
                Some(Value::I64(i64::from(*self)))
            }
        }
    )*};
}
small_ints!(i8, i16, i32, i64, u8, u16, u32);

/// Values above `i64::MAX` are recorded as strings rather than wrapped.
macro_rules! wide_ints {
    ($($t:ty),*) => {$(
        impl StepValue for $t {
            #[inline]
            fn to_step_value(&self) -> Option<Value> {
                Some(match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                })
            }
        }
    )*};
}
wide_ints!(u64, usize, isize, u128, i128);

impl StepValue for f64 {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}

impl StepValue for f32 {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}

impl StepValue for bool {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

/// Copied: the span outlives the borrow. For a `&'static str` that should not be copied,
/// use [`StepAttributes::set_static`] (`#[booking_step]` does so for string literals).
impl StepValue for str {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::String(StringValue::from(self.to_owned())))
    }
}

impl StepValue for String {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        self.as_str().to_step_value()
    }

    #[inline]
    fn into_step_value(self) -> Option<Value> {
        Some(Value::String(StringValue::from(self)))
    }
}

impl StepValue for Cow<'_, str> {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        self.as_ref().to_step_value()
    }
}

macro_rules! smart_strings {
    ($($t:ty),*) => {$(
        impl StepValue for $t {
            #[inline]
            fn to_step_value(&self) -> Option<Value> {
                (**self).to_step_value()
            }
        }
    )*};
}
smart_strings!(Box<str>, Arc<str>, Rc<str>);

impl StepValue for StringValue {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::String(self.clone()))
    }
}

impl StepValue for Value {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        Some(self.clone())
    }

    #[inline]
    fn into_step_value(self) -> Option<Value> {
        Some(self)
    }
}

/// `None` records nothing: the attribute is left out, not recorded as empty.
impl<T: StepValue> StepValue for Option<T> {
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        self.as_ref().and_then(T::to_step_value)
    }

    #[inline]
    fn into_step_value(self) -> Option<Value> {
        self.and_then(T::into_step_value)
    }
}

// Slices of scalars become OpenTelemetry arrays, which hold one type each.
macro_rules! int_slices {
    ($($t:ty),*) => {$(
        impl StepValue for [$t] {
            fn to_step_value(&self) -> Option<Value> {
                Some(Value::Array(Array::I64(self.iter().map(|v| i64::from(*v)).collect())))
            }
        }
    )*};
}
int_slices!(i8, i16, i32, i64, u8, u16, u32);

/// Like the scalars: an `i64` array when every element fits, else a string array.
macro_rules! wide_int_slices {
    ($($t:ty),*) => {$(
        impl StepValue for [$t] {
            fn to_step_value(&self) -> Option<Value> {
                let ints: Result<Vec<i64>, _> = self.iter().map(|v| i64::try_from(*v)).collect();
                Some(Value::Array(match ints {
                    Ok(ints) => Array::I64(ints),
                    Err(_) => Array::String(self.iter().map(|v| v.to_string().into()).collect()),
                }))
            }
        }
    )*};
}
wide_int_slices!(u64, usize, isize, u128, i128);

impl StepValue for [f64] {
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::Array(Array::F64(self.to_vec())))
    }
}

impl StepValue for [f32] {
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::Array(Array::F64(
            self.iter().map(|v| f64::from(*v)).collect(),
        )))
    }
}

impl StepValue for [bool] {
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::Array(Array::Bool(self.to_vec())))
    }
}

macro_rules! string_slices {
    ($($t:ty),*) => {$(
        impl StepValue for [$t] {
            fn to_step_value(&self) -> Option<Value> {
                Some(Value::Array(Array::String(
                    self.iter().map(|v| StringValue::from(str::to_owned(v))).collect(),
                )))
            }
        }
    )*};
}
string_slices!(&str, String, Cow<'_, str>, Box<str>, Arc<str>);

impl<T> StepValue for Vec<T>
where
    [T]: StepValue,
{
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        self.as_slice().to_step_value()
    }
}

impl<T, const N: usize> StepValue for [T; N]
where
    [T]: StepValue,
{
    #[inline]
    fn to_step_value(&self) -> Option<Value> {
        self.as_slice().to_step_value()
    }
}

/// Records a value through its `Display` text: for ids, `Uuid`s and other types that
/// print well but do not implement [`StepValue`]. In `#[booking_step(fields(..))]`,
/// `%value` means `display(&value)`, as in `tracing`.
///
/// The text is formatted only when the span records. Check that the type's `Display`
/// shows nothing secret; `Debug` is not offered for that reason.
///
/// ```
/// use booking_otel::{Step, value::display};
///
/// struct BookingId(u64);
/// impl std::fmt::Display for BookingId {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "BK-{:06}", self.0)
///     }
/// }
///
/// let id = BookingId(42);
/// Step::new("booking.confirm")
///     .attributes(|a| {
///         a.set("booking.id", display(&id));
///     })
///     .run(|| ());
/// assert_eq!(display(&id).to_string(), "BK-000042");
/// ```
#[inline]
pub fn display<T: fmt::Display>(value: T) -> DisplayValue<T> {
    DisplayValue(value)
}

/// A value recorded through its `Display` text; see [`display`].
#[derive(Clone, Copy)]
pub struct DisplayValue<T>(T);

impl<T: fmt::Display> StepValue for DisplayValue<T> {
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::String(self.0.to_string().into()))
    }
}

impl<T: fmt::Display> fmt::Display for DisplayValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: fmt::Display> fmt::Debug for DisplayValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisplayValue({})", self.0)
    }
}

/// Collects a step's attributes; handed to the closure given to
/// [`Step::attributes`](crate::Step::attributes), which runs only when the span is
/// recording. Values go straight into the span being built.
///
/// ```
/// use booking_otel::{Step, conventions::attribute};
/// let guests = 2_u8;
/// let property_id: &str = &format!("prop-{}", 1042);
/// let step = Step::new("booking.check_availability")
///     .attributes(|a| {
///         a.set(attribute::BOOKING_GUESTS, guests);
///         a.set(attribute::BOOKING_PROPERTY_ID, property_id);
///         a.set_static(attribute::BOOKING_SOURCE, "web");
///     })
///     .start();
/// step.finish_ok();
/// ```
pub struct StepAttributes<'s> {
    pub(crate) sink: &'s mut dyn AttributeSink,
}

impl fmt::Debug for StepAttributes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    /// Records `key = value`; records nothing when `value` is `None`. Borrowed strings
    /// are copied (the span outlives the borrow); an owned `String` moves in.
    #[inline]
    pub fn set(&mut self, key: &'static str, value: impl StepValue) -> &mut Self {
        if let Some(value) = value.into_step_value() {
            self.sink.push(KeyValue::new(key, value));
        }
        self
    }

    /// Records `key = value` for a `&'static str` (a literal, a constant) without copying it.
    #[inline]
    pub fn set_static(&mut self, key: &'static str, value: &'static str) -> &mut Self {
        self.sink.push(KeyValue::new(key, value));
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
// References are what these tests record.
#[allow(clippy::needless_borrows_for_generic_args)]
mod tests {
    use super::*;

    fn v(value: impl StepValue) -> Option<Value> {
        value.into_step_value()
    }

    #[test]
    fn scalars_convert() {
        assert_eq!(v(3_u8), Some(Value::I64(3)));
        assert_eq!(v(-3_i32), Some(Value::I64(-3)));
        assert_eq!(
            v(u64::MAX),
            Some(Value::String(u64::MAX.to_string().into()))
        );
        assert_eq!(v(1.5_f32), Some(Value::F64(1.5)));
        assert_eq!(v(true), Some(Value::Bool(true)));
        assert_eq!(v(&7_u16), Some(Value::I64(7)));
    }

    #[test]
    fn borrowed_and_owned_strings_convert() {
        let owned = String::from("api");
        let borrowed: &str = &owned;
        assert_eq!(v(&owned), Some(Value::from("api")));
        assert_eq!(v(borrowed), Some(Value::from("api")));
        assert_eq!(v(&&borrowed), Some(Value::from("api")));
        assert_eq!(v(Cow::Borrowed(borrowed)), Some(Value::from("api")));
        assert_eq!(v(Arc::<str>::from("api")), Some(Value::from("api")));
        assert_eq!(v(owned), Some(Value::from("api")));
    }

    #[test]
    fn none_records_nothing_and_some_records_the_value() {
        assert_eq!(v(None::<&str>), None);
        assert_eq!(v(Some("gold")), Some(Value::from("gold")));
        assert_eq!(v(&Some(2_u8)), Some(Value::I64(2)));
    }

    #[test]
    fn slices_become_arrays_of_one_type() {
        assert_eq!(
            v(vec![1_u32, 2]),
            Some(Value::Array(Array::I64(vec![1, 2])))
        );
        assert_eq!(
            v(&[u64::MAX, 1][..]),
            Some(Value::Array(Array::String(vec![
                u64::MAX.to_string().into(),
                "1".into()
            ])))
        );
        assert_eq!(
            v(["a", "b"]),
            Some(Value::Array(Array::String(vec!["a".into(), "b".into()])))
        );
        assert_eq!(v(vec![true]), Some(Value::Array(Array::Bool(vec![true]))));
        assert_eq!(v(vec![0.5_f32]), Some(Value::Array(Array::F64(vec![0.5]))));
    }

    #[test]
    fn display_records_the_text() {
        assert_eq!(v(display(42_u32)), Some(Value::from("42")));
        assert_eq!(v(display(&"x")), Some(Value::from("x")));
    }
}
