//! The services a booking calls (inventory, pricing engine, lock service, payment
//! gateway, confirmation, notification), simulated: each call waits a realistic,
//! seeded latency and answers what the booking's [`Faults`] say.
//!
//! Nothing here knows about telemetry: these stand for your HTTP and database clients.
//! The steps in `flow.rs` call them and record what they answer.

use std::time::Duration;

use booking_otel::metrics::BookingSource;
use booking_otel::{CardNumber, StepError};

use crate::flow::BookingRequest;

/// A tiny seeded random number generator (xorshift64*): the same seed gives the same
/// bookings, latencies and faults on every run, with no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`; any seed works, 0 included.
    pub fn new(seed: u64) -> Self {
        // splitmix64 spreads nearby seeds (1, 2, 3…) over the whole state space.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// One element of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next_u64() % items.len() as u64) as usize]
    }

    /// `n` random lowercase hex digits, for ids.
    pub fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit((self.next_u64() % 16) as u32, 16).unwrap_or('0'))
            .collect()
    }
}

/// The steps that `--fail` can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailAt {
    /// The inventory service is down.
    Availability,
    /// The pricing engine is down.
    Price,
    /// The lock service times out.
    Lock,
    /// The payment gateway times out.
    Payment,
    /// The confirmation service fails after the payment went through.
    Confirm,
    /// The notification service fails after the booking is confirmed.
    Notify,
}

impl FailAt {
    /// Every value, as `--fail` spells it.
    pub const ALL: [(&'static str, FailAt); 6] = [
        ("availability", FailAt::Availability),
        ("price", FailAt::Price),
        ("lock", FailAt::Lock),
        ("payment", FailAt::Payment),
        ("confirm", FailAt::Confirm),
        ("notify", FailAt::Notify),
    ];

    /// Parses a `--fail` value.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, step)| *step)
    }
}

/// What the command line asked for: forced outcomes, or (with `random`) a realistic mix
/// drawn per booking.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scenario {
    /// `--fail STEP`: that step fails.
    pub fail: Option<FailAt>,
    /// `--decline`: the card is declined (a business rejection).
    pub decline: bool,
    /// `--contention`: another reservation holds the room's lock (a rejection).
    pub contention: bool,
    /// `--sold-out`: no room is left (a rejection).
    pub sold_out: bool,
    /// Draw faults at realistic rates (the default of `--bookings`).
    pub random: bool,
}

impl Scenario {
    /// The faults of one booking.
    pub fn faults(&self, rng: &mut Rng) -> Faults {
        let mut faults = if self.random {
            Faults::realistic(rng)
        } else {
            Faults::default()
        };
        match self.fail {
            Some(FailAt::Availability) => faults.inventory_down = true,
            Some(FailAt::Price) => faults.pricing_down = true,
            Some(FailAt::Lock) => faults.lock_timeout = true,
            Some(FailAt::Payment) => faults.gateway_timeout = true,
            Some(FailAt::Confirm) => faults.confirmation_down = true,
            Some(FailAt::Notify) => faults.notification_down = true,
            None => {}
        }
        faults.card_declined |= self.decline;
        faults.lock_held |= self.contention;
        faults.sold_out |= self.sold_out;
        faults
    }
}

/// What goes wrong during one booking, decided before it starts, so that a seed replays
/// the same bookings whatever order concurrent tasks run in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// No room left: a rejection.
    pub sold_out: bool,
    /// The inventory service is down: a failure.
    pub inventory_down: bool,
    /// The pricing engine is down: a failure.
    pub pricing_down: bool,
    /// Another reservation holds the lock: a rejection.
    pub lock_held: bool,
    /// The lock service does not answer: a failure.
    pub lock_timeout: bool,
    /// The card is declined: a rejection.
    pub card_declined: bool,
    /// The payment gateway does not answer: a failure.
    pub gateway_timeout: bool,
    /// The confirmation service fails: a failure, after the charge.
    pub confirmation_down: bool,
    /// The notification service fails: the booking stands all the same.
    pub notification_down: bool,
}

impl Faults {
    /// Roughly what a busy booking service sees: most bookings succeed, rejections are
    /// common, failures rare.
    pub fn realistic(rng: &mut Rng) -> Self {
        Faults {
            sold_out: rng.chance(0.03),
            inventory_down: rng.chance(0.005),
            pricing_down: rng.chance(0.005),
            lock_held: rng.chance(0.04),
            lock_timeout: rng.chance(0.005),
            card_declined: rng.chance(0.05),
            gateway_timeout: rng.chance(0.01),
            confirmation_down: rng.chance(0.005),
            notification_down: rng.chance(0.01),
        }
    }
}

/// Why a service call failed: the `source` of a failure in `flow::BookingError`, and the
/// error of a compensation (`error.type` `unavailable` or `timed_out`).
#[derive(Debug, Clone, thiserror::Error, StepError)]
pub enum ServiceError {
    /// The service answered with an error.
    #[error("{service} answered 503 Service Unavailable")]
    Unavailable {
        /// Which service.
        service: &'static str,
    },
    /// The service did not answer in time.
    #[error("{service} did not answer within {after:?}")]
    TimedOut {
        /// Which service.
        service: &'static str,
        /// The client's timeout.
        after: Duration,
    },
}

/// How long the booking service waits for the payment gateway.
pub const GATEWAY_TIMEOUT: Duration = Duration::from_millis(1_000);
/// How long it waits for the lock service.
pub const LOCK_TIMEOUT: Duration = Duration::from_millis(250);

/// A bookable room, held by the inventory service once availability returns it.
#[derive(Debug, Clone)]
pub struct Room {
    /// `room-204`.
    pub room_id: String,
    /// Nightly rate, in cents.
    pub nightly_cents: u64,
}

/// A price quote.
#[derive(Debug, Clone)]
pub struct Price {
    /// Total for the stay, in cents.
    pub total_cents: u64,
    /// ISO 4217.
    pub currency: &'static str,
}

/// What the lock service answers.
#[derive(Debug)]
pub enum LockReply {
    /// The lock is ours.
    Acquired,
    /// Another reservation holds it.
    Held {
        /// The reservation holding it.
        by: String,
    },
}

/// What the payment gateway answers.
#[derive(Debug)]
pub enum ChargeReply {
    /// Charged.
    Approved {
        /// The gateway's transaction id.
        transaction_id: String,
        /// The processing time the gateway reports.
        gateway_latency_ms: u64,
    },
    /// Declined, with the gateway's decline code.
    Declined {
        /// `insufficient_funds`, `do_not_honor`…
        code: &'static str,
    },
}

/// The simulated services, as one booking sees them: their latencies and answers come
/// from the booking's own seeded generator and [`Faults`].
#[derive(Debug)]
pub struct Backend {
    rng: Rng,
    faults: Faults,
}

impl Backend {
    /// The services for one booking.
    pub fn new(rng: Rng, faults: Faults) -> Self {
        Backend { rng, faults }
    }

    /// A new reservation id.
    pub fn reservation_id(&mut self) -> String {
        format!("res-{}", self.rng.hex(6))
    }

    /// Waits like a network call: usually `typical_ms`, now and then (5 %) up to
    /// `slow_ms`, the long tail every real service has.
    async fn latency(&mut self, typical_ms: (u64, u64), slow_ms: u64) -> Duration {
        let ms = if self.rng.chance(0.05) {
            self.rng.between(typical_ms.1, slow_ms)
        } else {
            self.rng.between(typical_ms.0, typical_ms.1)
        };
        let latency = Duration::from_millis(ms);
        tokio::time::sleep(latency).await;
        latency
    }

    /// Inventory: the rooms free for the stay; the first one is held for this booking.
    pub async fn search_inventory(
        &mut self,
        request: &BookingRequest,
    ) -> Result<Vec<Room>, ServiceError> {
        self.latency((12, 40), 150).await;
        if self.faults.inventory_down {
            return Err(ServiceError::Unavailable {
                service: "inventory service",
            });
        }
        if self.faults.sold_out {
            return Ok(Vec::new());
        }
        let count = self.rng.between(1, 12) as usize;
        let base = 9_000 + 1_000 * u64::from(request.guests);
        Ok((0..count)
            .map(|_| Room {
                room_id: format!("room-{}", self.rng.between(101, 420)),
                nightly_cents: base + self.rng.between(0, 60) * 100,
            })
            .collect())
    }

    /// Inventory: gives a held room back.
    pub async fn restore_inventory(&mut self, _room: &Room) -> Result<(), ServiceError> {
        self.latency((4, 12), 40).await;
        Ok(())
    }

    /// Pricing engine: the total for the stay, taxes included.
    pub async fn quote(&mut self, room: &Room, nights: u64) -> Result<Price, ServiceError> {
        self.latency((3, 10), 60).await;
        if self.faults.pricing_down {
            return Err(ServiceError::Unavailable {
                service: "pricing engine",
            });
        }
        Ok(Price {
            total_cents: room.nightly_cents * nights * 110 / 100,
            currency: "EUR",
        })
    }

    /// Lock service: locks the room for this reservation.
    pub async fn acquire_lock(&mut self, _room: &Room) -> Result<LockReply, ServiceError> {
        if self.faults.lock_timeout {
            tokio::time::sleep(LOCK_TIMEOUT).await;
            return Err(ServiceError::TimedOut {
                service: "lock service",
                after: LOCK_TIMEOUT,
            });
        }
        self.latency((2, 8), 40).await;
        if self.faults.lock_held {
            return Ok(LockReply::Held {
                by: format!("res-{}", self.rng.hex(6)),
            });
        }
        Ok(LockReply::Acquired)
    }

    /// Lock service: releases the lock.
    pub async fn release_lock(&mut self, _room: &Room) -> Result<(), ServiceError> {
        self.latency((1, 4), 20).await;
        Ok(())
    }

    /// Payment gateway: charges the card. Only this call sees the card's digits.
    pub async fn charge(
        &mut self,
        card: &CardNumber,
        _amount_cents: u64,
        _currency: &str,
    ) -> Result<ChargeReply, ServiceError> {
        let _pan_for_the_gateway_only = card.expose_digits();
        if self.faults.gateway_timeout {
            tokio::time::sleep(GATEWAY_TIMEOUT).await;
            return Err(ServiceError::TimedOut {
                service: "payment gateway",
                after: GATEWAY_TIMEOUT,
            });
        }
        let latency = self.latency((180, 420), 900).await;
        if self.faults.card_declined {
            return Ok(ChargeReply::Declined {
                code: self
                    .rng
                    .pick(&["insufficient_funds", "do_not_honor", "expired_card"]),
            });
        }
        Ok(ChargeReply::Approved {
            transaction_id: format!("txn_{}", self.rng.hex(10)),
            // The gateway's own processing time: the round trip minus the network.
            gateway_latency_ms: latency.as_millis() as u64 * 85 / 100,
        })
    }

    /// Payment gateway: refunds a charge.
    pub async fn refund(&mut self, _transaction_id: &str) -> Result<(), ServiceError> {
        self.latency((120, 260), 600).await;
        Ok(())
    }

    /// Confirmation service: records the reservation, returns the guest's code.
    pub async fn confirm(&mut self, _reservation_id: &str) -> Result<String, ServiceError> {
        self.latency((10, 30), 120).await;
        if self.faults.confirmation_down {
            return Err(ServiceError::Unavailable {
                service: "confirmation service",
            });
        }
        Ok(self.rng.hex(6).to_uppercase())
    }

    /// Notification service: queues the confirmation email.
    pub async fn notify(&mut self, _reservation_id: &str) -> Result<(), ServiceError> {
        self.latency((5, 15), 60).await;
        if self.faults.notification_down {
            return Err(ServiceError::Unavailable {
                service: "notification service",
            });
        }
        Ok(())
    }
}

/// Test cards of the major networks (they pass the Luhn check; no real card has them).
const TEST_CARDS: [&str; 3] = [
    "4111 1111 1111 1111",
    "5555 5555 5555 4444",
    "3782 822463 10005",
];

/// Booking `index` of a run with `seed`: the request a guest sends and the services as
/// they will behave for it. Each booking has its own generator, so a booking's data
/// does not depend on how concurrent bookings interleave.
pub fn simulated_booking(seed: u64, index: u64, scenario: &Scenario) -> (BookingRequest, Backend) {
    let mut rng = Rng::new(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
    let faults = scenario.faults(&mut rng);
    let check_in_day = rng.between(1, 20);
    let nights = rng.between(1, 7);
    let request = BookingRequest {
        user_id: format!("usr-{}", rng.between(10_000, 99_999)),
        source: rng.pick(&[
            BookingSource::Web,
            BookingSource::Web,
            BookingSource::Mobile,
            BookingSource::Api,
        ]),
        property_id: format!("prop-{}", rng.between(1_000, 1_099)),
        check_in: format!("2026-12-{check_in_day:02}"),
        check_out: format!("2026-12-{:02}", check_in_day + nights),
        nights,
        guests: rng.between(1, 4) as u32,
        card: CardNumber::parse(rng.pick(&TEST_CARDS)).expect("test cards are valid"),
    };
    (request, Backend::new(rng, faults))
}
