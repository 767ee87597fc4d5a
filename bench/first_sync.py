"""first_sync: a new till's agent pulls 1,000,000 vouchers into an empty replica.db.

A central server with a batch of N vouchers (default 1,000,000; `--reuse FILE` pages a copy of
the database `generate --keep DIR` left, DIR/central.db, instead of generating one), made
redeemable, a store and a till enrolled with `voucher-sync enrol`. Then `voucher-sync run`
starts as a process with a fresh data directory, and the clock runs from starting it until
replica.db (polled read-only) has the cursor a complete pull ends at and holds every voucher.
Meanwhile the agent's resident memory is watched (/proc/PID/status: VmHWM, VmRSS).
Then, in the same run with the agent stopped, the floor: the same rows (read from the full
replica, in the order they arrived) inserted by bare sqlite3 into a fresh file with the replica's
schema and pragmas, one transaction per page, and its indexes built afterwards.
Targets (issue 11): at most 20 s for 1,000,000, growing linearly, and a peak RSS of at most
150 MB (10^6 bytes).
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from pathlib import Path

from bench.common import (
    MemoryWatch,
    Notifications,
    Report,
    WorkDir,
    add_agent_arguments,
    agent_settings,
    bench_agent,
    bench_server,
    call,
    copy_sqlite,
    cpu_seconds,
    describe_settings,
    human_bytes,
    read_only,
    replica_meta,
    say,
    snapshot_end,
    sqlite_size,
    sqlite_url,
    wait_synced,
)
from harness import HeadOffice
from harness.claims import claim_in_database

NAME = "first_sync"
TARGET_SECONDS = 20.0
TARGET_RSS_MB = 150.0
TARGET_SIZE = 1_000_000
AGENT_CACHE_KIB = 16 * 1024  # the agent's replica page cache (localdb/replica.py, CACHE_KIB)
HAS_VOUCHERS = {"generated", "distributed", "redeemable", "locked", "void"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=TARGET_SIZE, help="vouchers in the batch (default 1,000,000)")
    p.add_argument(
        "--reuse",
        type=Path,
        metavar="FILE",
        help="copy this SQLite database (from 'generate --keep DIR': DIR/central.db) instead of generating",
    )
    p.add_argument("--timeout", type=float, default=900, help="give up after this many seconds (default 900)")
    p.add_argument(
        "--no-restart",
        action="store_true",
        help="skip the second part: restarting the agent on the full replica (time to READY)",
    )
    add_agent_arguments(p)
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    settings = agent_settings(args.agent_setting)
    with WorkDir(NAME, keep=args.keep) as work:
        db_path = work / "central.db"
        if args.reuse:
            copy_sqlite(args.reuse, db_path)
            say(f"  reusing a copy of {args.reuse}")
        server = bench_server(sqlite_url(db_path), work)
        with server, HeadOffice(server) as admin:
            if not args.reuse:
                t0 = time.monotonic()
                admin.generated_batch(args.size, f"Bench first sync {args.size}")
                say(f"  setup: {args.size:,} vouchers generated in {time.monotonic() - t0:.1f} s")
            batches = call(admin.http, "GET", "/batches")
            for b in batches:
                if b["state"] == "generated":
                    admin.act(b["id"], "distribute", "redeemable")
            t0 = time.monotonic()  # a till holds claimed vouchers only: every one claimed, in the database
            made = sum(
                claim_in_database(sqlite_url(db_path), b["id"]) for b in batches if b["state"] in HAS_VOUCHERS
            )
            say(
                f"  setup: {made:,} vouchers claimed straight in the database in {time.monotonic() - t0:.1f} s"
            )
            expected = sum(b["metrics"]["total"] for b in batches if b["state"] in HAS_VOUCHERS)
            admin.store("first-sync-store")
            agent = bench_agent(
                work / "till", work / "agent.log", settings, notify_socket=work / "notify.sock"
            )
            agent.enrol(server.url, admin.enrolment_code("first-sync-store"), "first-sync-till", check=True)
            end = snapshot_end(server.url, agent.token)
            say(
                f"  {expected:,} vouchers in {len(batches)} batch(es); a complete pull ends at cursor {end:,}"
            )
            say(f"  agent settings: {describe_settings(settings)}")

            notes = Notifications(work / "notify.sock")
            server_cpu0 = cpu_seconds(server.pid)
            last = [time.monotonic()]

            def progress(cursor: int) -> None:
                if time.monotonic() - last[0] >= 5:
                    last[0] = time.monotonic()
                    say(
                        f"    cursor {cursor:,} of {end:,} ({100 * cursor / max(end, 1):.0f}%) after "
                        f"{last[0] - agent.started_at:.1f} s"
                    )

            try:
                with agent:
                    agent.start()
                    memory = MemoryWatch(agent.pid)
                    done_at = wait_synced(agent, end, expected, timeout=args.timeout, progress=progress)
                    elapsed = done_at - agent.started_at
                    agent_cpu = cpu_seconds(agent.pid)
                    server_cpu = cpu_seconds(server.pid) - server_cpu0
                    peak = memory.stop()
                    rss_end = memory.max_rss
                    size_running = sqlite_size(agent.replica_path)
                    ready = notes.first("READY=1")
                    ready = None if ready is None else ready - agent.started_at
                    status = agent.status()
                    code = agent.stop()
                report.check(code == 0, f"agent stopped cleanly on SIGTERM (exit code {code})")
                size_after = sqlite_size(agent.replica_path)

                restart = None
                if not args.no_restart:
                    with agent:  # the same agent on its full replica: how long until systemd hears READY?
                        since = time.monotonic()
                        agent.start()
                        deadline = since + 120
                        while notes.first("READY=1", after=since) is None and time.monotonic() < deadline:
                            if not agent.alive():
                                break
                            time.sleep(0.01)
                        ready_again = notes.first("READY=1", after=since)
                        restart = None if ready_again is None else ready_again - agent.started_at
                        agent.stop()
                    report.check(restart is not None, "agent restarted on the full replica and said READY=1")
            finally:
                notes.close()

            conn = read_only(agent.replica_path)
            try:
                vouchers = conn.execute("SELECT count(*) FROM vouchers").fetchone()[0]
                cursor = int(replica_meta(conn, "cursor") or 0)
            finally:
                conn.close()
            report.check(vouchers == expected, f"replica holds {vouchers:,} vouchers of {expected:,}")
            report.check(cursor == end, f"replica cursor {cursor:,} = the end of a complete pull ({end:,})")
            report.check(
                "pending events 0" in status and f"snapshot cursor {end}" in status,
                f"voucher-sync status: {status.splitlines()[0] if status else '(nothing)'}",
            )
            problems = agent.log_problems()
            report.check(
                not problems,
                f"no warnings or errors in the agent's log ({len(problems)})"
                + (f": {problems[0][:200]}" if problems else ""),
            )
            errors = server.errors_in_log()
            report.check(not errors, f"no server errors logged ({len(errors)})")
        rows_s, index_s, floor_cpu = bare_sqlite_floor(
            agent.replica_path, work / "floor.db", int(settings.get("page_limit", 20000))
        )
        floor = rows_s + index_s

        target = ("<=", TARGET_SECONDS * expected / TARGET_SIZE)
        if expected != TARGET_SIZE:
            say(
                f"  (time target scaled to {expected:,} vouchers: {target[1]:.2f} s; the memory target is not)"
            )
        report.figure("agent start → full replica", elapsed, "s", target, fmt="{:,.2f}")
        report.figure("floor: the same rows by bare sqlite3, then indexes", floor, "s", fmt="{:,.2f}")
        say(
            f"  (floor: {rows_s:,.2f} s inserting, {index_s:,.2f} s building the indexes; the agent took "
            f"{elapsed / floor:,.2f}× the floor; {elapsed * 1e6 / max(expected, 1):,.2f} s per million vouchers)"
        )
        report.figure("agent time ÷ floor time", elapsed / floor, "×", fmt="{:,.2f}")
        report.figure("vouchers per second", expected / elapsed, "vouchers/s", fmt="{:,.0f}")
        report.figure("agent peak RSS (VmHWM)", peak / 1e6, "MB", ("<=", TARGET_RSS_MB), fmt="{:,.1f}")
        say(f"  ({human_bytes(peak)} peak; {human_bytes(rss_end)} the largest VmRSS sampled every 50 ms)")
        if ready is not None:
            report.figure("agent start → READY=1, empty replica", ready, "s", fmt="{:,.2f}")
        if restart is not None:
            report.figure("agent restart → READY=1, full replica", restart, "s", fmt="{:,.2f}")
        report.figure("agent CPU time (start → full)", agent_cpu, "s", fmt="{:,.1f}")
        report.figure("floor's CPU time (bare sqlite3)", floor_cpu, "s", fmt="{:,.1f}")
        report.figure("server CPU time meanwhile", server_cpu, "s", fmt="{:,.1f}")
        report.figure("replica.db + WAL when full", size_running / 2**20, "MiB", fmt="{:,.1f}")
        report.figure("replica.db after a clean stop", size_after / 2**20, "MiB", fmt="{:,.1f}")
        report.figure("replica bytes per voucher", size_after / max(expected, 1), "B", fmt="{:,.0f}")
    return report


def bare_sqlite_floor(replica: Path, path: Path, page: int) -> tuple[float, float, float]:
    """Seconds to insert the replica's vouchers (read beforehand, page by page, untimed) with bare
    sqlite3 into a fresh file of the same schema and pragmas (WAL, synchronous NORMAL, the agent's
    cache_size), one transaction a page; seconds to build its indexes afterwards; CPU seconds of both."""
    source = read_only(replica)
    target = sqlite3.connect(path, isolation_level=None)
    try:
        (table,) = source.execute("SELECT sql FROM sqlite_master WHERE name = 'vouchers'").fetchone()
        indexes = [
            r[0]
            for r in source.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'vouchers' AND sql IS NOT NULL"
            )
        ]
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"cache_size=-{AGENT_CACHE_KIB}"):
            target.execute(f"PRAGMA {pragma}")
        target.execute(table)
        rows = source.execute(
            "SELECT * FROM vouchers ORDER BY batch_id, serial"
        )  # as they came (serial order)
        inserting = cpu = 0.0
        while chunk := rows.fetchmany(page):
            t0, c0 = time.perf_counter(), time.process_time()
            target.execute("BEGIN IMMEDIATE")
            target.executemany(
                f"INSERT OR REPLACE INTO vouchers VALUES ({', '.join('?' * len(chunk[0]))})", chunk
            )
            target.execute("COMMIT")
            inserting += time.perf_counter() - t0
            cpu += time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        target.execute("BEGIN IMMEDIATE")
        for sql in indexes:
            target.execute(sql)
        target.execute("COMMIT")
        return inserting, time.perf_counter() - t0, cpu + time.process_time() - c0
    finally:
        source.close()
        target.close()
