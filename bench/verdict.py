"""verdict: how fast the till decides on a typed code against a large replica, journal write included.

A replica of SIZE vouchers is built through the agent's own page-applying code (setup, not
timed); then the redeem use case (kiosk/service.py) decides on random codes: half of them
claimed and unused (ACCEPTED, so the redeem event is committed to journal.db with
synchronous=FULL before the answer), the rest unclaimed or unknown. Target (issue 4): p95 ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Report, percentile, say
from kiosk.service import Redeemer
from localdb.connect import open_reader
from localdb.journal import Journal
from localdb.replica import Replica
from localdb.till import Till
from vouchers.codes import code_hash, format_code, new_codes
from vouchers.verdict import Verdict

NAME = "verdict"
KEY = bytes.fromhex("5a" * 32)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=1_000_000, help="vouchers in the replica (default 1,000,000)")
    p.add_argument("--scans", type=int, default=2_000, help="codes decided (default 2,000)")


def build_replica(path: Path, codes: list[str], page: int = 50_000) -> None:
    replica = Replica(path)
    batch = {
        "id": "b",
        "identifier": "Bench",
        "description": "",
        "state": "redeemable",
        "claims": "active",
        "valid_from": None,
        "valid_until": None,
        "stores": None,
    }
    types = [
        {
            "id": "t",
            "batch_id": "b",
            "name": "Std",
            "value": "£5 off",
            "min_purchase": None,
            "initial_status": "unused",
        }
    ]
    for start in range(0, len(codes), page):
        rows = [
            {
                "id": f"b.{i}",
                "batch_id": "b",
                "type_id": "t",
                "serial": i,
                "code_hash": code_hash(codes[i], KEY),
                "claimed": i % 2 == 0,
                "status": "unused" if i % 2 == 0 else None,
                "used_at": None,
                "used_store": None,
            }
            for i in range(start, min(start + page, len(codes)))
        ]
        end = start + len(rows)
        replica.apply_page(
            {
                "cursor": start,
                "next_cursor": end,
                "complete": end == len(codes),
                "store": {"id": "s1", "timezone": "Europe/London"},
                "batches": [batch],
                "types": types,
                "vouchers": rows,
                "deleted": {},
            }
        )
    replica.close()


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    with tempfile.TemporaryDirectory(prefix="voucher-bench-verdict-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        codes = new_codes(args.size)
        build_replica(root / "replica.db", codes)
        say(f"  setup: replica of {args.size:,} vouchers built in {time.perf_counter() - started:.1f} s")
        journal = Journal(root / "journal.db")
        replica = open_reader(root / "replica.db")
        redeemer = Redeemer(Till(replica, journal.conn), journal, KEY)
        rng = random.Random(1)
        unknown = new_codes(args.scans)
        picks = [
            format_code(codes[rng.randrange(args.size)]) if i % 4 else unknown[i] for i in range(args.scans)
        ]
        times, verdicts = [], {}
        now = datetime.now(UTC)
        for text in picks:
            t0 = time.perf_counter()
            decision = redeemer.redeem(text, now)
            times.append((time.perf_counter() - t0) * 1000)
            verdicts[decision.verdict] = verdicts.get(decision.verdict, 0) + 1
        journal.close()
        replica.close()
    report.check(
        verdicts.get(Verdict.ACCEPTED, 0) > 0 and verdicts.get(Verdict.UNKNOWN, 0) > 0,
        f"verdicts seen: {', '.join(f'{v.value} {n}' for v, n in sorted(verdicts.items()))}",
    )
    report.figure("decide a typed code, p50", percentile(times, 50), "ms", fmt="{:,.2f}")
    report.figure("decide a typed code, p95", percentile(times, 95), "ms", ("<=", 5.0), fmt="{:,.2f}")
    report.figure("decide a typed code, max", max(times), "ms", fmt="{:,.2f}")
    return report
