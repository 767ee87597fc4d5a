"""python -m bench [NAME] [options]: run the benchmarks against real server processes.

    python -m bench                   every benchmark at full size (about 20 minutes here, plus decode;
                                      camera about 4 more)
    python -m bench --quick           every benchmark, small (about a minute and a half; camera one more)
    python -m bench generate --size 100000
    python -m bench live --quick      one benchmark at its --quick sizes (options after it win)
    python -m bench NAME --help       the options of one benchmark

Figures are information: every run exits 0 when the benchmark ran, PASS or MISS alike
(exit 1 only when a benchmark could not run, 3 when a correctness check failed).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import (
    camera,
    claimed_replica,
    decode,
    first_sync,
    fleet,
    generate,
    hub,
    ingest,
    live,
    push_backlog,
    push_latency,
    race,
    snapshot,
    verdict,
    writers,
)
from bench import input as input_bench  # "input" would hide the builtin here
from bench.common import Report, heading, say

BENCHES = {
    m.NAME: m
    for m in (
        generate,
        ingest,
        race,
        snapshot,
        first_sync,
        claimed_replica,
        push_backlog,
        push_latency,
        live,
        hub,
        decode,
        verdict,
        input_bench,
        camera,
        writers,
        fleet,
    )
}

QUICK = {
    "generate": ["--size", "20000"],
    "ingest": ["--size", "500"],
    "race": ["--vouchers", "100", "--devices", "6"],
    "snapshot": ["--size", "20000"],
    "first_sync": ["--size", "20000"],
    "claimed_replica": ["--vouchers", "200000"],
    "push_backlog": ["--size", "500"],
    "push_latency": ["--events", "40"],
    "writers": ["--events", "2000", "--claims", "300", "--devices", "4", "--claimers", "4"],
    "fleet": ["--tills", "50", "--seconds", "20", "--floor-pushes", "20"],
    "live": ["--claims", "10", "--before-claims", "0", "--tills", "50", "--idle-seconds", "5"],
    "hub": ["--claims", "10", "--redemptions", "10", "--shops", "3", "--locks", "3"],
    "decode": ["--empty-frames", "50"],
    "verdict": ["--size", "20000", "--scans", "500"],
    "input": [
        "--size",
        "20000",
        "--repeat",
        "10",
        "--keys",
        "20000",
        "--paced-seconds",
        "1",
        "--bare-keys",
        "1000",
    ],
    "camera": ["--size", "20000", "--codes", "6", "--rounds", "1"],
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="run every benchmark small (or NAME small)")
    sub = parser.add_subparsers(dest="name", metavar="NAME", title="benchmarks")
    for name, module in BENCHES.items():
        p = sub.add_parser(
            name,
            help=(module.__doc__ or "").strip().splitlines()[0],
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.add_argument(
            "--quick",
            action="store_true",
            dest="quick_one",
            help="this benchmark at the sizes of 'python -m bench --quick' (options given win)",
        )
    return parser


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}"


def run_one(name: str, args: argparse.Namespace) -> Report | None:
    heading(f"{name}")
    t0 = time.monotonic()
    try:
        report = BENCHES[name].run(args)
    except Exception:
        traceback.print_exc()
        say(f"  {name}: could not run (see the traceback above)")
        return None
    say(f"  ({name} took {time.monotonic() - t0:.1f} s in all, setup included)")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.name and (args.quick or args.quick_one):  # NAME --quick: its small sizes, then the options given
        given = list(sys.argv[1:] if argv is None else argv)
        rest = [a for a in given[given.index(args.name) + 1 :] if a != "--quick"]
        args = parser.parse_args([args.name, *QUICK[args.name], *rest])
    # SIGTERM unwinds like Ctrl-C, so server processes and PostgreSQL are stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    say(f"voucher-kiosk benchmarks: {machine()}")
    if args.name:
        reports = [run_one(args.name, args)]
    else:
        reports = []
        shared = Path(tempfile.mkdtemp(prefix="voucher-bench-all-"))
        try:
            generated_db: Path | None = None
            for name in BENCHES:
                extra = QUICK[name] if args.quick else []
                if name == "generate":
                    extra += ["--keep", str(shared / "generate")]
                if name in ("snapshot", "first_sync") and generated_db is not None:
                    # the generate run left a batch of the same size: page through that one
                    extra += ["--reuse", str(generated_db)]
                sub_args = parser.parse_args([name, *extra])
                report = run_one(name, sub_args)
                reports.append(report)
                if name == "generate" and report is not None:
                    generated_db = getattr(report, "db_path", None)
        finally:
            import shutil

            shutil.rmtree(shared, ignore_errors=True)
    heading("summary")
    for report in reports:
        if report is None:
            continue
        for fig in report.figures:
            say(fig.line())
    for report in reports:
        if report is not None and report.failures:
            say(f"  {report.bench}: FAILED CHECKS: {'; '.join(report.failures)}")
    if any(r is None for r in reports):
        return 1
    if any(r.failures for r in reports):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
