//! The README's trace block is real output: it is compared with what
//! `cargo run --example booking_flow -- --fail payment` prints now, line by line, with
//! what varies from run to run (bars, durations, the trace id) set aside. If the
//! renderer or the example changes, this fails until the README is regenerated (paste
//! the command's output).

mod support;

use std::process::Command;

/// The fenced block after the `readme-trace` marker.
fn readme_block() -> Vec<String> {
    let readme = include_str!("../README.md");
    let after = readme
        .split("<!-- readme-trace:")
        .nth(1)
        .expect("the readme-trace marker");
    let block = after
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```text block after the marker");
    block.lines().map(str::to_owned).collect()
}

/// A line without what varies between runs: bars, durations and their units, the
/// trace id.
fn stable(line: &str) -> String {
    let mut tokens = Vec::new();
    let mut words = line.split_whitespace().peekable();
    while let Some(word) = words.next() {
        let trimmed = word.trim_matches('█');
        if trimmed.is_empty() || trimmed.parse::<f64>().is_ok() {
            continue;
        }
        if matches!(trimmed, "ms" | "s" | "µs" | "ns") {
            continue;
        }
        if trimmed == "trace" {
            words.next(); // the id
        }
        tokens.push(trimmed.to_owned());
    }
    tokens.join(" ")
}

#[test]
fn the_readme_trace_is_what_the_demo_prints() {
    let output = Command::new(support::example_binary::example_binary("booking_flow"))
        .args(["--fail", "payment"])
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_EXPORTER")
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let printed: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("booking.create"))
        .take_while(|line| !line.is_empty())
        .collect();
    let readme = readme_block();
    assert_eq!(
        printed.iter().map(|l| stable(l)).collect::<Vec<_>>(),
        readme.iter().map(|l| stable(l)).collect::<Vec<_>>(),
        "README.md's trace block differs from the demo's output; paste it:\n{}",
        printed.join("\n")
    );
    // The bars are there, on the time axis, in both.
    assert!(printed.iter().skip(1).all(|l| l.contains('█')));
    assert!(readme.iter().skip(1).all(|l| l.contains('█')));
}
