//! Async steps that borrow, written in an edition-2021 crate.

use booking_otel::booking_step;

/// A repository a step method borrows.
pub struct Inventory {
    /// Rooms left per property.
    pub rooms: Vec<(String, u32)>,
}

impl Inventory {
    /// Borrows `self` and a `&str` argument across an await.
    #[booking_step(fields(booking.property_id = property_id))]
    pub async fn rooms_left(&self, property_id: &str) -> Option<u32> {
        tokio_yield().await;
        self.rooms
            .iter()
            .find(|(id, _)| id == property_id)
            .map(|(_, n)| *n)
    }

    /// Borrows `&mut self` and returns a reference into it.
    #[booking_step]
    pub async fn first_property(&mut self) -> Option<&str> {
        tokio_yield().await;
        self.rooms.first().map(|(id, _)| id.as_str())
    }
}

/// Two borrowed arguments with elided lifetimes and a generic.
#[booking_step(fields(booking.guest = guest))]
pub async fn greet<T: std::fmt::Display>(
    guest: &str,
    suffix: &T,
) -> Result<String, std::fmt::Error> {
    tokio_yield().await;
    Ok(format!("{guest}{suffix}"))
}

async fn tokio_yield() {}

#[cfg(test)]
mod tests {
    use super::*;
    use booking_otel::testing::{SpanDataExt, TestTelemetry};
    use opentelemetry::Value;

    #[tokio::test]
    async fn borrowing_async_steps_record_their_fields() {
        let telemetry = TestTelemetry::install();
        let mut inventory = Inventory {
            rooms: vec![("prop-1".to_string(), 3)],
        };
        let id = String::from("prop-1");
        assert_eq!(inventory.rooms_left(&id).await, Some(3));
        assert_eq!(inventory.first_property().await, Some("prop-1"));
        assert_eq!(greet("Ada", &1).await.unwrap(), "Ada1");
        let span = telemetry.span("booking.rooms_left");
        assert_eq!(
            span.attribute("booking.property_id"),
            Some(&Value::from("prop-1"))
        );
        assert_eq!(
            telemetry.span("booking.greet").attribute("booking.guest"),
            Some(&Value::from("Ada"))
        );
        assert_eq!(telemetry.spans().len(), 3);
    }
}
