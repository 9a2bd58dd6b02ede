//! The command line: hand-parsed, to keep the example free of dependencies.

use crate::services::{FailAt, Scenario};

/// `--help`.
pub const HELP: &str = "\
booking_flow: a hotel booking traced with booking-otel

usage: cargo run --example booking_flow -- [options]

options:
  --fail STEP     make STEP fail; STEP is availability, price, lock, payment,
                  confirm or notify. The failing step ends with status Error and
                  what the booking holds is rolled back (each compensation a span)
  --decline       the card is declined: a business rejection, not a failure
  --contention    another reservation holds the room's lock: a rejection, with a
                  lock_contention event
  --sold-out      no room is left: a rejection
  --bookings N    run N bookings at once and print outcomes and per-step latency
                  percentiles read back from the metrics; without the flags above,
                  faults are drawn at realistic rates
  --seed S        seed of the simulated services (default 42): the same seed gives
                  the same bookings
  -h, --help      print this help

environment:
  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 exports OTLP to a collector
  instead of printing; every OTEL_* variable of booking_otel::setup applies.
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The forced outcomes (or, for `--bookings` without flags, a realistic mix).
    pub scenario: Scenario,
    /// `--bookings N`.
    pub bookings: Option<u64>,
    /// `--seed S`.
    pub seed: u64,
}

/// Why the command line was not run.
#[derive(Debug, Clone, PartialEq)]
pub enum CliError {
    /// `--help`: print [`HELP`] and stop.
    Help,
    /// A mistake, with what to write instead.
    Usage(String),
}

/// The default `--seed`.
pub const DEFAULT_SEED: u64 = 42;

/// Parses the arguments (without the program name).
pub fn parse<I, S>(args: I) -> Result<Options, CliError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut options = Options {
        scenario: Scenario::default(),
        bookings: None,
        seed: DEFAULT_SEED,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg.as_ref();
        let mut value = |flag: &str| {
            args.next()
                .map(|v| v.as_ref().to_owned())
                .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))
        };
        match arg {
            "-h" | "--help" => return Err(CliError::Help),
            "--fail" => {
                let step = value("--fail")?;
                let names: Vec<&str> = FailAt::ALL.iter().map(|(name, _)| *name).collect();
                options.scenario.fail = Some(FailAt::parse(&step).ok_or_else(|| {
                    CliError::Usage(format!(
                        "unknown step {step:?} for --fail; expected one of {}",
                        names.join(", ")
                    ))
                })?);
            }
            "--decline" => options.scenario.decline = true,
            "--contention" => options.scenario.contention = true,
            "--sold-out" => options.scenario.sold_out = true,
            "--bookings" => {
                let n = value("--bookings")?;
                options.bookings = Some(match n.parse::<u64>() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        return Err(CliError::Usage(format!(
                            "--bookings expects a number of bookings above 0, not {n:?}"
                        )));
                    }
                });
            }
            "--seed" => {
                let seed = value("--seed")?;
                options.seed = seed.parse().map_err(|_| {
                    CliError::Usage(format!("--seed expects a whole number, not {seed:?}"))
                })?;
            }
            other => {
                return Err(CliError::Usage(format!(
                    "unknown argument {other:?}; see --help"
                )));
            }
        }
    }
    let s = &options.scenario;
    let forced = s.fail.is_some() || s.decline || s.contention || s.sold_out;
    options.scenario.random = options.bookings.is_some() && !forced;
    Ok(options)
}
