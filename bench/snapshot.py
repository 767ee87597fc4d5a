"""snapshot: a new till pulls a full snapshot of 1,000,000 vouchers, page by page.

A batch of N vouchers (default 1,000,000) is generated, a device enrolled, and the device
fetches GET /api/v1/sync/snapshot from cursor 0 with limit 10,000 and again with 50,000,
until `complete`, counting vouchers and bytes. The time includes reading and parsing each
page (orjson), as an agent must. Target (issue): at least 100,000 vouchers/s.
`--reuse FILE` pages through a copy of a SQLite database that `generate --keep DIR` left.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import orjson

from bench.common import Report, WorkDir, bench_server, call, client, say, sqlite_url
from harness import HeadOffice
from harness.claims import claim_in_database

NAME = "snapshot"
TARGET_RATE = 100_000.0
HAS_VOUCHERS = {"generated", "distributed", "redeemable", "locked", "void"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=1_000_000, help="vouchers in the batch (default 1,000,000)")
    p.add_argument(
        "--limits", default="10000,50000", help="page sizes to try, comma-separated (default 10000,50000)"
    )
    p.add_argument(
        "--reuse",
        type=Path,
        metavar="FILE",
        help="copy this SQLite database (from 'generate --keep DIR': DIR/central.db) instead of generating",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server log)")


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    limits = [int(x) for x in args.limits.split(",") if x.strip()]
    with WorkDir(NAME, keep=args.keep) as work:
        db_path = work / "central.db"
        if args.reuse:
            for suffix in ("", "-wal"):
                source = Path(f"{args.reuse}{suffix}")
                if source.exists():
                    shutil.copyfile(source, f"{db_path}{suffix}")
            say(f"  reusing a copy of {args.reuse}")
        server = bench_server(sqlite_url(db_path), work)
        with server, HeadOffice(server) as admin:
            if not args.reuse:
                t0 = time.monotonic()
                admin.generated_batch(args.size, f"Bench snapshot {args.size}")
                say(f"  setup: {args.size:,} vouchers generated in {time.monotonic() - t0:.1f} s")
            listing = call(admin.http, "GET", "/batches")
            batches = listing["batches"] if isinstance(listing, dict) else listing  # older servers wrapped it
            t0 = time.monotonic()  # a till holds claimed vouchers only: every one claimed, in the database
            made = sum(
                claim_in_database(sqlite_url(db_path), b["id"]) for b in batches if b["state"] in HAS_VOUCHERS
            )
            say(
                f"  setup: {made:,} vouchers claimed straight in the database in {time.monotonic() - t0:.1f} s"
            )
            expected = sum(b["metrics"]["total"] for b in batches if b["state"] in HAS_VOUCHERS)
            admin.store("snap-store")
            device = admin.device("snap-store", "snap-till")
            say(f"  {expected:,} vouchers in {len(batches)} batch(es); device {device['device_id']}")

            with client(server.url, device["token"], connections=1) as http:
                for limit in limits:
                    pages = vouchers = size = 0
                    seen: set[str] = set()
                    parse = 0.0
                    slowest = 0.0
                    cursor = 0
                    t0 = time.monotonic()
                    while True:
                        tp = time.monotonic()
                        response = http.get("/sync/snapshot", params={"cursor": cursor, "limit": limit})
                        if response.status_code != 200:
                            raise RuntimeError(
                                f"snapshot page -> {response.status_code}: {response.text[:300]}"
                            )
                        tq = time.monotonic()
                        page = orjson.loads(response.content)
                        parse += time.monotonic() - tq
                        slowest = max(slowest, time.monotonic() - tp)
                        pages += 1
                        size += len(response.content)
                        vouchers += len(page["vouchers"])
                        seen.update(v["id"] for v in page["vouchers"])
                        if page["complete"]:
                            break
                        if page["next_cursor"] <= cursor:
                            raise RuntimeError(f"cursor did not advance: {cursor} -> {page['next_cursor']}")
                        cursor = page["next_cursor"]
                    elapsed = time.monotonic() - t0
                    report.check(
                        len(seen) == expected,
                        f"limit {limit:,}: {len(seen):,} distinct vouchers of {expected:,} "
                        f"({vouchers:,} rows in {pages} pages)",
                    )
                    report.figure(
                        f"limit {limit:,}: vouchers per second",
                        vouchers / elapsed,
                        "vouchers/s",
                        (">=", TARGET_RATE),
                        fmt="{:,.0f}",
                    )
                    report.figure(f"limit {limit:,}: time for all pages", elapsed, "s", fmt="{:,.2f}")
                    report.figure(f"limit {limit:,}: total bytes", size / 2**20, "MiB", fmt="{:,.1f}")
                    report.figure(
                        f"limit {limit:,}: bytes per voucher", size / max(vouchers, 1), "B", fmt="{:,.0f}"
                    )
                    report.figure(f"limit {limit:,}: slowest page", 1000 * slowest, "ms", fmt="{:,.0f}")
                    report.figure(
                        f"limit {limit:,}: client parse share", 100 * parse / elapsed, "%", fmt="{:,.1f}"
                    )
            errors = server.errors_in_log()
            report.check(not errors, f"no server errors logged ({len(errors)})")
    return report
