//! The Collector configurations in `deploy/`, parsed and checked, so that a typo cannot
//! ship: every component a pipeline names is defined (and every defined one used),
//! `memory_limiter` comes first and `batch` last, tail sampling keeps every error and
//! a share of the rest, and the two-tier agents route by trace id to the samplers.
//!
//! No Collector runs here: these are the mistakes a Collector would refuse at start-up
//! (an undefined component) or, worse, accept (a policy that keeps nothing, a
//! `routing_key` that splits traces across samplers).

use std::collections::BTreeSet;
use std::path::Path;

use booking_otel::conventions::attribute;
use yaml_rust2::{Yaml, YamlLoader};

const COLLECTOR: &str = "deploy/collector.yaml";
const AGENT: &str = "deploy/two-tier/agent.yaml";
const SAMPLER: &str = "deploy/two-tier/sampler.yaml";

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn parse(text: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(text).expect("valid YAML");
    assert_eq!(docs.len(), 1, "one document");
    docs.remove(0)
}

/// Component types this repository's configs may use, per kind: a misspelt type
/// (`tail_sampler`, `memorylimiter`) is reported, not guessed. The pre-2026 names
/// (`otlp` for the gRPC exporter, `loadbalancing`) are accepted: they are deprecated
/// aliases, still valid.
const KNOWN_TYPES: [(&str, &[&str]); 4] = [
    ("receivers", &["otlp"]),
    ("processors", &["memory_limiter", "tail_sampling", "batch"]),
    (
        "exporters",
        &[
            "otlp_grpc",
            "otlp_http",
            "load_balancing",
            "debug",
            "otlp",
            "otlphttp",
            "loadbalancing",
        ],
    ),
    ("extensions", &["health_check"]),
];

const LOAD_BALANCING: [&str; 2] = ["load_balancing", "loadbalancing"];

/// `tail_sampling/errors` → `tail_sampling`.
fn type_of(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

fn keys(node: &Yaml) -> Vec<String> {
    node.as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(node: &Yaml) -> Vec<String> {
    node.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn number(node: &Yaml) -> Option<f64> {
    node.as_f64().or_else(|| node.as_i64().map(|i| i as f64))
}

/// A Go duration as the Collector writes them: `500ms`, `10s`, `5m`, `1h`.
fn is_duration(node: &Yaml) -> bool {
    let Some(text) = node.as_str() else {
        return false;
    };
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    !digits.is_empty()
        && digits.parse::<f64>().is_ok()
        && ["ns", "us", "ms", "s", "m", "h"].contains(&unit)
}

/// Everything wrong with one configuration's wiring; empty when it is sound.
fn wiring_problems(config: &Yaml) -> Vec<String> {
    let mut problems = Vec::new();
    let allowed_top = [
        "receivers",
        "processors",
        "exporters",
        "extensions",
        "connectors",
        "service",
    ];
    for key in keys(config) {
        if !allowed_top.contains(&key.as_str()) {
            problems.push(format!("unknown top-level section `{key}`"));
        }
    }
    // Every defined component has a known type.
    for (kind, types) in KNOWN_TYPES {
        for id in keys(&config[kind]) {
            if !types.contains(&type_of(&id)) {
                problems.push(format!("{kind}: unknown component type in `{id}`"));
            }
        }
    }

    let service = &config["service"];
    for id in strings(&service["extensions"]) {
        if !keys(&config["extensions"]).contains(&id) {
            problems.push(format!("service.extensions: `{id}` is not defined"));
        }
    }
    let pipelines = &service["pipelines"];
    if keys(pipelines).is_empty() {
        problems.push("service.pipelines: none".into());
    }
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for name in keys(pipelines) {
        let pipeline = &pipelines[name.as_str()];
        let signal = type_of(&name);
        if !["traces", "metrics", "logs"].contains(&signal) {
            problems.push(format!("pipeline `{name}`: unknown signal `{signal}`"));
        }
        for key in keys(pipeline) {
            if !["receivers", "processors", "exporters"].contains(&key.as_str()) {
                problems.push(format!("pipeline `{name}`: unknown key `{key}`"));
            }
        }
        for kind in ["receivers", "processors", "exporters"] {
            let ids = strings(&pipeline[kind]);
            if kind != "processors" && ids.is_empty() {
                problems.push(format!("pipeline `{name}`: no {kind}"));
            }
            for id in &ids {
                if !keys(&config[kind]).contains(id) {
                    problems.push(format!("pipeline `{name}`: {kind} `{id}` is not defined"));
                }
                used.insert((kind.to_owned(), id.clone()));
            }
        }
        let processors = strings(&pipeline["processors"]);
        let types: Vec<&str> = processors.iter().map(|p| type_of(p)).collect();
        if types.first() != Some(&"memory_limiter") {
            problems.push(format!(
                "pipeline `{name}`: memory_limiter must be the first processor, not {types:?}"
            ));
        }
        if types.last() != Some(&"batch") {
            problems.push(format!(
                "pipeline `{name}`: batch must be the last processor, not {types:?}"
            ));
        }
        if types.contains(&"tail_sampling") && signal != "traces" {
            problems.push(format!(
                "pipeline `{name}`: tail_sampling samples traces only"
            ));
        }
    }
    // A component defined and never used is most often a typo in a pipeline.
    for kind in ["receivers", "processors", "exporters"] {
        for id in keys(&config[kind]) {
            if !used.contains(&(kind.to_owned(), id.clone())) {
                problems.push(format!("{kind}: `{id}` is defined but no pipeline uses it"));
            }
        }
    }
    // Component settings every production config here needs.
    for id in keys(&config["processors"]) {
        let processor = &config["processors"][id.as_str()];
        if type_of(&id) == "memory_limiter" {
            if !is_duration(&processor["check_interval"]) {
                problems.push(format!("{id}: check_interval must be a duration"));
            }
            if number(&processor["limit_percentage"]).is_none()
                && number(&processor["limit_mib"]).is_none()
            {
                problems.push(format!("{id}: no limit_percentage or limit_mib"));
            }
        }
    }
    for id in keys(&config["exporters"]) {
        let exporter = &config["exporters"][id.as_str()];
        let needs_endpoint = ["otlp_grpc", "otlp_http", "otlp", "otlphttp"];
        if needs_endpoint.contains(&type_of(&id)) && exporter["endpoint"].as_str().is_none() {
            problems.push(format!("{id}: no endpoint"));
        }
    }
    problems
}

/// What is wrong with the `tail_sampling` processor(s) of a configuration: each must
/// keep every error trace (`status_code` ERROR) and a share of the rest
/// (`probabilistic`, a percentage in (0, 100]).
fn sampling_problems(config: &Yaml) -> Vec<String> {
    let mut problems = Vec::new();
    let ids: Vec<String> = keys(&config["processors"])
        .into_iter()
        .filter(|id| type_of(id) == "tail_sampling")
        .collect();
    if ids.is_empty() {
        problems.push("no tail_sampling processor".into());
    }
    for id in ids {
        let processor = &config["processors"][id.as_str()];
        if !is_duration(&processor["decision_wait"]) {
            problems.push(format!("{id}: decision_wait must be a duration"));
        }
        let Some(policies) = processor["policies"].as_vec() else {
            problems.push(format!("{id}: no policies"));
            continue;
        };
        let mut names = BTreeSet::new();
        let (mut keeps_errors, mut keeps_a_share) = (false, false);
        for policy in policies {
            let name = policy["name"].as_str().unwrap_or("");
            if name.is_empty() || !names.insert(name.to_owned()) {
                problems.push(format!("{id}: a policy without a unique name: {name:?}"));
            }
            let Some(kind) = policy["type"].as_str() else {
                problems.push(format!("{id}: policy {name:?} has no type"));
                continue;
            };
            // The settings of a policy sit under the key named after its type.
            let settings = &policy[kind];
            let known = [
                "always_sample",
                "latency",
                "numeric_attribute",
                "probabilistic",
                "status_code",
                "string_attribute",
                "boolean_attribute",
                "rate_limiting",
                "span_count",
                "and",
                "drop",
                "composite",
            ];
            if !known.contains(&kind) {
                problems.push(format!("{id}: policy {name:?} has unknown type {kind:?}"));
            } else if kind != "always_sample" && !settings.is_hash() {
                problems.push(format!("{id}: policy {name:?} has no `{kind}:` settings"));
            }
            match kind {
                "status_code" => {
                    let codes = strings(&settings["status_codes"]);
                    for code in &codes {
                        if !["OK", "ERROR", "UNSET"].contains(&code.as_str()) {
                            problems.push(format!("{id}: policy {name:?}: status {code:?}"));
                        }
                    }
                    keeps_errors |= codes.iter().any(|c| c == "ERROR");
                }
                "probabilistic" => match number(&settings["sampling_percentage"]) {
                    Some(p) if p > 0.0 && p <= 100.0 => keeps_a_share = true,
                    other => problems.push(format!(
                        "{id}: policy {name:?}: sampling_percentage {other:?} is not in (0, 100]"
                    )),
                },
                "latency" if number(&settings["threshold_ms"]).is_none_or(|t| t <= 0.0) => {
                    problems.push(format!("{id}: policy {name:?}: no threshold_ms"));
                }
                "boolean_attribute"
                    if settings["key"].as_str().is_none()
                        || settings["value"].as_bool().is_none() =>
                {
                    problems.push(format!("{id}: policy {name:?}: needs key and value"));
                }
                _ => {}
            }
        }
        if !keeps_errors {
            problems.push(format!("{id}: no status_code policy keeps ERROR traces"));
        }
        if !keeps_a_share {
            problems.push(format!(
                "{id}: no probabilistic policy keeps a share of the rest"
            ));
        }
    }
    problems
}

/// What is wrong with the agent's `load_balancing` exporter: it must route by trace id
/// (all spans of a trace to one sampler), over OTLP, to backends a resolver finds.
fn routing_problems(config: &Yaml) -> Vec<String> {
    let mut problems = Vec::new();
    let ids: Vec<String> = keys(&config["exporters"])
        .into_iter()
        .filter(|id| LOAD_BALANCING.contains(&type_of(id)))
        .collect();
    if ids.is_empty() {
        problems.push("no load_balancing exporter".into());
    }
    for id in ids {
        let exporter = &config["exporters"][id.as_str()];
        // traceID is also the default; the configs here say it, and a test checks it.
        if exporter["routing_key"].as_str() != Some("traceID") {
            problems.push(format!(
                "{id}: routing_key must be traceID, not {:?}",
                exporter["routing_key"]
            ));
        }
        let otlp = &exporter["protocol"]["otlp"];
        if !otlp.is_hash() {
            problems.push(format!("{id}: protocol.otlp is missing"));
        } else if !otlp["endpoint"].is_badvalue() {
            problems.push(format!(
                "{id}: protocol.otlp.endpoint is ignored: the resolver gives the endpoints"
            ));
        }
        let resolvers: Vec<String> = keys(&exporter["resolver"])
            .into_iter()
            .filter(|r| ["static", "dns", "k8s", "aws_cloud_map"].contains(&r.as_str()))
            .collect();
        if resolvers.len() != 1 || keys(&exporter["resolver"]).len() != 1 {
            problems.push(format!(
                "{id}: resolver must be one of static, dns, k8s, aws_cloud_map, not {:?}",
                keys(&exporter["resolver"])
            ));
        }
    }
    problems
}

fn load(path: &str) -> Yaml {
    parse(&read(path))
}

fn assert_none(what: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

#[test]
fn every_config_is_wired_soundly() {
    for path in [COLLECTOR, AGENT, SAMPLER] {
        assert_none(path, wiring_problems(&load(path)));
    }
}

#[test]
fn the_collector_and_the_samplers_keep_every_error_and_a_share_of_the_rest() {
    for path in [COLLECTOR, SAMPLER] {
        let config = load(path);
        assert_none(path, sampling_problems(&config));
        let traces = strings(&config["service"]["pipelines"]["traces"]["processors"]);
        assert_eq!(
            traces,
            ["memory_limiter", "tail_sampling", "batch"],
            "{path}"
        );
    }
}

#[test]
fn the_collector_and_the_samplers_use_the_same_policies() {
    let policies = |path| load(path)["processors"]["tail_sampling"].clone();
    assert_eq!(policies(COLLECTOR), policies(SAMPLER));
}

#[test]
fn the_rollback_policy_names_the_librarys_attribute() {
    let config = load(COLLECTOR);
    let policies = config["processors"]["tail_sampling"]["policies"]
        .as_vec()
        .expect("policies");
    let rollback = policies
        .iter()
        .find(|p| p["type"].as_str() == Some("boolean_attribute"))
        .expect("a boolean_attribute policy");
    assert_eq!(
        rollback["boolean_attribute"]["key"].as_str(),
        Some(attribute::BOOKING_ROLLBACK)
    );
    assert_eq!(rollback["boolean_attribute"]["value"].as_bool(), Some(true));
}

#[test]
fn the_agents_route_whole_traces_to_the_samplers_and_sample_nothing() {
    let agent = load(AGENT);
    assert_none(AGENT, routing_problems(&agent));
    let traces = &agent["service"]["pipelines"]["traces"];
    assert!(
        strings(&traces["exporters"])
            .iter()
            .all(|e| LOAD_BALANCING.contains(&type_of(e))),
        "agent traces go to the samplers only"
    );
    assert!(
        !strings(&traces["processors"])
            .iter()
            .any(|p| type_of(p) == "tail_sampling"),
        "agents see parts of traces: they must not sample"
    );
    // The agents send OTLP/gRPC to the port the samplers listen on.
    let port = agent["exporters"]["load_balancing"]["resolver"]["dns"]["port"]
        .as_str()
        .expect("a dns resolver port");
    let sampler = load(SAMPLER);
    let listens = sampler["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
        .as_str()
        .expect("a gRPC receiver");
    assert!(
        listens.ends_with(&format!(":{port}")),
        "{listens} vs {port}"
    );
}

/// One of the checks above.
type Check = fn(&Yaml) -> Vec<String>;

#[test]
fn the_checks_catch_the_typos_they_exist_for() {
    // Each mutation of collector.yaml (or agent.yaml) must be reported.
    let collector = read(COLLECTOR);
    let agent = read(AGENT);
    let mutants: [(&str, &str, &str, Check); 9] = [
        (
            "processors out of order",
            "processors: [memory_limiter, tail_sampling, batch]",
            "processors: [tail_sampling, memory_limiter, batch]",
            wiring_problems,
        ),
        (
            "batch not last",
            "processors: [memory_limiter, tail_sampling, batch]",
            "processors: [memory_limiter, batch, tail_sampling]",
            wiring_problems,
        ),
        (
            "an undefined processor in a pipeline",
            "processors: [memory_limiter, tail_sampling, batch]",
            "processors: [memory_limiter, tail_sampler, batch]",
            wiring_problems,
        ),
        (
            "a misspelt exporter type",
            "  otlp_grpc:\n    endpoint",
            "  otlp_grcp:\n    endpoint",
            wiring_problems,
        ),
        (
            "errors no longer kept",
            "status_codes: [ERROR]",
            "status_codes: [UNSET]",
            sampling_problems,
        ),
        (
            "a share of zero",
            "sampling_percentage: 10",
            "sampling_percentage: 0",
            sampling_problems,
        ),
        (
            "a percentage written as a ratio above 100",
            "sampling_percentage: 10",
            "sampling_percentage: 1000",
            sampling_problems,
        ),
        (
            "a policy type without its settings",
            "type: probabilistic\n        probabilistic:",
            "type: probabilistic\n        probabilistc:",
            sampling_problems,
        ),
        (
            "routing by service splits traces",
            "routing_key: traceID",
            "routing_key: service",
            routing_problems,
        ),
    ];
    for (what, from, to, check) in mutants {
        let source = if what.starts_with("routing") {
            &agent
        } else {
            &collector
        };
        assert!(source.contains(from), "{what}: {from:?} not found");
        let mutated = parse(&source.replacen(from, to, 1));
        assert!(!check(&mutated).is_empty(), "{what} went unnoticed");
    }
}
