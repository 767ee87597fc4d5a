"""generate: one batch of N serials (default 1,000,000), one type; time POST generate → generated.

Target (issue): at most 30 s for 1,000,000 vouchers on SQLite.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import Report, WorkDir, bench_server, call, human_bytes, say, sqlite_size, sqlite_url
from harness import HeadOffice

NAME = "generate"
TARGET_SECONDS = 30.0
TARGET_SIZE = 1_000_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=TARGET_SIZE, help="serials in the batch (default 1,000,000)")
    p.add_argument("--chunk", type=int, help="server's generation_chunk (default: the server's own, 20,000)")
    p.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the database in DIR and keep it (DIR/central.db), e.g. for 'snapshot --reuse'",
    )


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    env = {"VOUCHER_GENERATION_CHUNK": str(args.chunk)} if args.chunk else {}
    with WorkDir(NAME, path=args.keep) as work:
        db_path = work / "central.db"
        if db_path.exists():
            raise SystemExit(f"{db_path} exists already; give --keep a new directory")
        server = bench_server(sqlite_url(db_path), work, **env)
        with server, HeadOffice(server) as admin:
            batch = admin.new_batch(args.size, f"Bench generate {args.size}")
            bid = batch["id"]
            say(
                f"  batch {bid}: {args.size:,} serials, state {batch['state']}; generating on {server.url} ..."
            )
            last = [time.monotonic()]

            def progress(done: int, total: int) -> None:
                if time.monotonic() - last[0] >= 5:
                    last[0] = time.monotonic()
                    say(
                        f"    {done:,}/{total:,} ({100 * done / max(total, 1):.0f}%) after {last[0] - t0:.1f} s"
                    )

            t0 = time.monotonic()
            admin.generate(bid)
            done = admin.wait_generated(bid, poll=0.05, progress=progress)
            elapsed = time.monotonic() - t0
            wal_during = sqlite_size(db_path)

            report.check(
                done["metrics"]["total"] == args.size, f"batch total is {done['metrics']['total']:,}"
            )
            last_page = call(
                admin.http, "GET", f"/batches/{bid}/vouchers", params={"cursor": args.size - 2, "limit": 10}
            )
            serials = [v["serial"] for v in last_page["vouchers"]]
            report.check(serials == [args.size - 1, args.size], f"last vouchers present (serials {serials})")
            first_page = call(admin.http, "GET", f"/batches/{bid}/vouchers", params={"limit": 1})
            report.check(first_page["vouchers"][0]["serial"] == 1, "first voucher present (serial 1)")
            errors = server.errors_in_log()
        size_after = sqlite_size(db_path)
        report.check(not errors, f"no server errors logged ({len(errors)})")

        target = ("<=", TARGET_SECONDS * args.size / TARGET_SIZE)
        if args.size != TARGET_SIZE:
            say(f"  (target scaled to {args.size:,} vouchers: {target[1]:.2f} s)")
        report.figure("time POST generate → generated", elapsed, "s", target, fmt="{:,.2f}")
        report.figure("vouchers generated per second", args.size / elapsed, "vouchers/s", fmt="{:,.0f}")
        report.figure("database file after shutdown", size_after / 2**20, "MiB", fmt="{:,.1f}")
        report.figure("database + WAL while running", wal_during / 2**20, "MiB", fmt="{:,.1f}")
        report.figure("bytes per voucher on disk", size_after / args.size, "B", fmt="{:,.0f}")
        if args.keep:
            say(f"  database kept: {db_path} ({human_bytes(size_after)}); batch {bid}")
        report.db_path = db_path  # type: ignore[attr-defined]
    return report
