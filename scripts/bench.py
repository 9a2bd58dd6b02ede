#!/usr/bin/env python3
"""Runs the overhead benchmarks and prints one markdown table (the body of BENCHMARKS.md).

For every case it measures
  * instructions per iteration under `valgrind --tool=callgrind`, by running the
    fixed-iteration driver (examples/overhead_driver.rs) at two iteration counts and
    dividing the difference (setup and teardown cancel); stable on a noisy machine;
  * wall-clock time per iteration with criterion (benches/overhead.rs), mean estimate.

Then it prints the ratios the targets are stated in, all from this one run.

Usage: python3 scripts/bench.py [--no-criterion | --reuse-criterion] [--only SUBSTRING]
Needs valgrind (Debian: apt-get install valgrind).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
DRIVER = os.path.join(TARGET, "release", "examples", "overhead_driver")
# The fastrace baseline has its own driver: fastrace's clock calibrates itself in a
# static constructor of varying length, which would blur the main driver's counts.
FASTRACE_DRIVER = os.path.join(TARGET, "release", "examples", "overhead_driver_fastrace")
LOW, HIGH = 2_000, 12_000


def run(cmd, **kwargs):
    return subprocess.run(cmd, cwd=ROOT, check=True, **kwargs)


def total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {path}")


def instructions(case, iterations):
    """(booking thread, all threads): instructions of one run of the driver.

    With --separate-threads=yes callgrind writes one file per thread, `<out>-01` for the
    main thread, which runs the bookings; the others are the SDK's export threads."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        run(
            ["valgrind", "--tool=callgrind", "--separate-threads=yes",
             f"--callgrind-out-file={out}", driver(case), case, str(iterations)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        files = sorted(f for f in os.listdir(tmp) if f.startswith("callgrind.out-"))
        totals = {f: total(os.path.join(tmp, f)) for f in files}
        main = next((v for f, v in totals.items() if f.endswith("-01")), None)
        if main is None:
            raise RuntimeError(f"no main-thread profile for {case}: {files}")
        return main, sum(totals.values())


def driver(case):
    return FASTRACE_DRIVER if "/fastrace" in case else DRIVER


def per_iteration(case):
    """(booking thread, all threads) instructions per iteration."""
    high, low = instructions(case, HIGH), instructions(case, LOW)
    return tuple((h - l) / (HIGH - LOW) for h, l in zip(high, low))


def criterion_ns(case):
    # criterion names the directory after the id, with '/' replaced by '_'.
    path = os.path.join(TARGET, "criterion", case.replace("/", "_"), "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["mean"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-criterion", action="store_true", help="instruction counts only")
    parser.add_argument("--reuse-criterion", action="store_true",
                        help="report the times of the last criterion run instead of running it")
    parser.add_argument("--only", default="", help="only cases whose id contains this")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind not found (Debian: apt-get install valgrind)")

    run(["cargo", "build", "--quiet", "--profile", "bench", "--example", "overhead_driver",
         "--example", "overhead_driver_fastrace"])
    cases = run([DRIVER, "list"], capture_output=True, text=True).stdout.split()
    cases += run([FASTRACE_DRIVER, "list"], capture_output=True, text=True).stdout.split()
    cases = [c for c in cases if args.only in c]

    if not args.no_criterion and not args.reuse_criterion:
        run(
            ["cargo", "bench", "--quiet", "--bench", "overhead", "--", "--warm-up-time", "1",
             "--measurement-time", "3", args.only],
            stdout=subprocess.DEVNULL,
        )

    ir = {}
    ns = {}
    all_threads = {}
    for case in cases:
        ir[case], all_threads[case] = per_iteration(case)
        ns[case] = None if args.no_criterion else criterion_ns(case)
        print(f"measured {case}: {ir[case]:.0f} / {all_threads[case]:.0f} instructions",
              file=sys.stderr)

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    rustc = run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"Measured {datetime.date.today().isoformat()} on {os.cpu_count()} cores, {cpu}; {rustc}.")
    print(f"Instructions: callgrind, (Ir at {HIGH} − Ir at {LOW} iterations) / {HIGH - LOW}; "
          "the fastrace rows vary by ~1.5% from run to run (its clock's calibration at start). "
          "Time: criterion mean (3 s measurement), noisy on this shared machine.\n")
    print("| case | instructions / iter (booking thread) | all threads | ns / iter |")
    print("|---|---:|---:|---:|")
    for case in cases:
        t = f"{ns[case]:.0f}" if ns[case] is not None else "–"
        print(f"| `{case}` | {ir[case]:,.0f} | {all_threads[case]:,.0f} | {t} |")

    targets = [
        ("W1 #[booking_step] / hand-written SDK, sampled", "w1/macro/sampled", "w1/sdk/sampled", 1.05),
        ("W2 #[booking_step] / hand-written SDK, sampled", "w2/macro/sampled", "w2/sdk/sampled", 1.00),
        ("W1 #[booking_step] / tracing + tracing-opentelemetry, sampled", "w1/macro/sampled", "w1/tracing/sampled", 0.35),
        ("W2 #[booking_step] / tracing + tracing-opentelemetry, sampled", "w2/macro/sampled", "w2/tracing/sampled", 0.35),
        ("W1 #[booking_step] / hand-written SDK, AlwaysOff", "w1/macro/not_sampled", "w1/sdk/not_sampled", 0.60),
        ("W2 #[booking_step] / hand-written SDK, AlwaysOff", "w2/macro/not_sampled", "w2/sdk/not_sampled", 0.60),
        ("W1 #[booking_step] / hand-written, no SDK", "w1/macro/no_sdk", "w1/sdk/no_sdk", 0.10),
        ("W2 #[booking_step] / hand-written, no SDK", "w2/macro/no_sdk", "w2/sdk/no_sdk", 0.10),
        ("W1 #[booking_step] / Step runtime, sampled", "w1/macro/sampled", "w1/step/sampled", 1.05),
        ("W2 #[booking_step] / Step runtime, sampled", "w2/macro/sampled", "w2/step/sampled", 1.05),
        ("W2 with redaction (SimpleSpanProcessor: on the booking thread) / without", "w2/macro+guard/sampled", "w2/macro/sampled", None),
        ("W2 with guard and metrics / without (SimpleSpanProcessor)", "w2/macro+guard+metrics/sampled", "w2/macro/sampled", 1.15),
        ("W2 with redaction / without, booking thread, batch pipeline", "w2/macro+batch+guard/sampled", "w2/macro+batch/sampled", 1.02),
        ("W2v with redaction / without, booking thread, batch pipeline", "w2v/macro+batch+guard/sampled", "w2v/macro+batch/sampled", 1.02),
    ]
    rows = [t for t in targets if t[1] in ir and t[2] in ir]
    if rows:
        print("\n| ratio | instructions | time | target | met |")
        print("|---|---:|---:|---:|:-:|")
        for label, ours, base, target in rows:
            ratio = ir[ours] / ir[base]
            if ns[ours] and ns[base]:
                time_ratio = f"{ns[ours] / ns[base]:.2f}×"
            else:
                time_ratio = "–"
            if target is None:
                print(f"| {label} | {ratio:.3f}× | {time_ratio} | – | – |")
                continue
            met = "yes" if ratio <= target else "**no**"
            print(f"| {label} | {ratio:.3f}× | {time_ratio} | ≤ {target:.2f}× | {met} |")

    # Export-thread work (all threads − booking thread) that redaction adds, per span.
    spans_per_booking = 5
    export = {c: all_threads[c] - ir[c] for c in ir}
    redaction_rows = [
        ("W2, constants", "w2/macro+batch", "w2/macro+batch+otlp"),
        ("W2v, values built per booking", "w2v/macro+batch", "w2v/macro+batch+otlp"),
    ]
    if all(f"{b}{s}/sampled" in export for _, a, o in redaction_rows for b in (a, o) for s in ("", "+guard")):
        print("\n| export thread, per span | redaction (discarding exporter) | OTLP encode + redaction | redaction share of it | target | met |")
        print("|---|---:|---:|---:|---:|:-:|")
        for label, discard, otlp in redaction_rows:
            added = (export[f"{discard}+guard/sampled"] - export[f"{discard}/sampled"]) / spans_per_booking
            otlp_total = export[f"{otlp}+guard/sampled"] / spans_per_booking
            otlp_added = (export[f"{otlp}+guard/sampled"] - export[f"{otlp}/sampled"]) / spans_per_booking
            share = otlp_added / otlp_total
            met = "yes" if share <= 0.25 else "**no**"
            print(f"| {label} | {added:,.0f} | {otlp_total:,.0f} | {share:.1%} | ≤ 25% | {met} |")

    # The production pipeline (batch processor), booking thread. For W2v the request
    # building (`w2v/none`) is subtracted from both sides: instrumentation vs
    # instrumentation.
    production = [
        ("W2 production shape (batch + redaction + step metrics + BookingMetrics) / batch only",
         "w2/macro+batch+guard+metrics/sampled", "w2/macro+batch/sampled", None, 1.15),
        ("W2v production shape / batch only",
         "w2v/macro+batch+guard+metrics/sampled", "w2v/macro+batch/sampled", "w2v/none/no_sdk", 1.15),
        ("W1 #[booking_step] / hand-written SDK, sampled, batch",
         "w1/macro+batch/sampled", "w1/sdk+batch/sampled", None, 1.05),
        ("W2 #[booking_step] / hand-written SDK, sampled, batch",
         "w2/macro+batch/sampled", "w2/sdk+batch/sampled", None, 1.05),
        ("W2v #[booking_step] / hand-written SDK, sampled, batch",
         "w2v/macro+batch/sampled", "w2v/sdk+batch/sampled", "w2v/none/no_sdk", 1.05),
        ("W1 #[booking_step] / hand-written SDK, AlwaysOff, batch",
         "w1/macro+batch/not_sampled", "w1/sdk+batch/not_sampled", None, 0.60),
        ("W2 #[booking_step] / hand-written SDK, AlwaysOff, batch",
         "w2/macro+batch/not_sampled", "w2/sdk+batch/not_sampled", None, 0.60),
        ("W2v #[booking_step] / hand-written SDK, AlwaysOff, batch",
         "w2v/macro+batch/not_sampled", "w2v/sdk+batch/not_sampled", "w2v/none/no_sdk", 0.60),
        ("W1 #[booking_step] / tracing + tracing-opentelemetry, batch",
         "w1/macro+batch/sampled", "w1/tracing+batch/sampled", None, 0.35),
        ("W2 #[booking_step] / tracing + tracing-opentelemetry, batch",
         "w2/macro+batch/sampled", "w2/tracing+batch/sampled", None, 0.35),
        ("W2 with tail sampling / without, batch (+ redaction in both)",
         "w2/macro+batch+guard+tail/sampled", "w2/macro+batch+guard/sampled", None, 1.05),
        ("W1 #[booking_step] / fastrace (its own collector), sampled",
         "w1/macro+batch/sampled", "w1/fastrace+batch/sampled", None, None),
        ("W2 #[booking_step] / fastrace (its own collector), sampled",
         "w2/macro+batch/sampled", "w2/fastrace+batch/sampled", None, None),
        ("W2v #[booking_step] / fastrace (its own collector), sampled",
         "w2v/macro+batch/sampled", "w2v/fastrace+batch/sampled", "w2v/none/no_sdk", None),
        ("W2 fastrace / hand-written SDK, sampled, batch",
         "w2/fastrace+batch/sampled", "w2/sdk+batch/sampled", None, None),
    ]
    rows = [r for r in production if r[1] in ir and r[2] in ir and (r[3] is None or r[3] in ir)]
    if rows:
        print("\n| production pipeline, booking thread | instructions | time | target | met |")
        print("|---|---:|---:|---:|:-:|")
        for label, ours, base, minus, target in rows:
            sub = ir[minus] if minus else 0
            ratio = (ir[ours] - sub) / (ir[base] - sub)
            if ns[ours] and ns[base]:
                sub_ns = ns[minus] if minus and ns.get(minus) else 0
                time_ratio = f"{(ns[ours] - sub_ns) / (ns[base] - sub_ns):.2f}×"
            else:
                time_ratio = "–"
            if target is None:
                print(f"| {label} | {ratio:.3f}× | {time_ratio} | – | – |")
                continue
            met = "yes" if ratio <= target else "**no**"
            print(f"| {label} | {ratio:.3f}× | {time_ratio} | ≤ {target:.2f}× | {met} |")
    metrics_cases = ("w2/macro+batch+guard+metrics/sampled", "w2/macro+batch+guard/sampled")
    if all(c in ir for c in metrics_cases):
        added = ir[metrics_cases[0]] - ir[metrics_cases[1]]
        met = "met" if added <= 1500 else "**missed**"
        print(f"\nAll booking metrics of one five-step booking, booking thread: {added:,.0f} "
              f"instructions (target ≤ 1,500: {met}).")
        floor_cases = ("sdk/bound_histogram", "sdk/bound_counter", "sdk/bound_up_down",
                       "sdk/instant_elapsed", "sdk/system_time_sub")
        if all(c in ir for c in floor_cases):
            # Five steps and the booking: 6 histogram recordings (5 step durations,
            # booking.duration), booking.attempts once, booking.active up and down, the
            # guard's clock, and 5 step durations from their span timestamps.
            floor = (6 * ir["sdk/bound_histogram"] + ir["sdk/bound_counter"]
                     + 2 * ir["sdk/bound_up_down"] + ir["sdk/instant_elapsed"]
                     + 5 * ir["sdk/system_time_sub"])
            print(f"The same recordings made directly on SDK bound instruments, with the clock "
                  f"work they need (6 histogram recordings at {ir['sdk/bound_histogram']:,.0f}, "
                  f"3 counter changes at {ir['sdk/bound_counter']:,.0f}–{ir['sdk/bound_up_down']:,.0f}, "
                  f"the guard's clock {ir['sdk/instant_elapsed']:,.0f}, 5 step durations from "
                  f"their span timestamps at {ir['sdk/system_time_sub']:,.0f}): {floor:,.0f} "
                  f"instructions; booking-otel's own share: {added - floor:,.0f}.")

    micro = [c for c in ("metrics/record_booking", "metrics/booking_guard",
                         "scanner/clean_string", "scanner/pan_string") if c in ir]
    if "metrics/record_booking" in micro and ns.get("metrics/record_booking"):
        print(f"\nOne booking's metrics (`record_booking`): {ns['metrics/record_booking']:.0f} ns "
              f"(target < 200 ns), {ir['metrics/record_booking']:,.0f} instructions.")
    if all(c in ir for c in ("metrics/record_booking", "metrics/global_record_booking")):
        per_call = ir["metrics/global_record_booking"]
        print(f"The same with `BookingMetrics::global()` called each time, as a handler might: "
              f"{per_call:,.0f} instructions ({per_call / ir['metrics/record_booking']:.2f}× "
              f"a kept instance; the instruments are made once per installed provider).")


if __name__ == "__main__":
    main()
