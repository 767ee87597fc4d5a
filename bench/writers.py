"""writers: head office's writes side by side (issue 16.2).

On PostgreSQL with fsync on (a private server from tests/support/postgres.py, `durable=True`), for
one server process and then two on the same database (a fresh one each time):

* ingest: `--devices` tills push one redeem event for each of `--events` claimed vouchers, 500 a
  request, the devices split between the processes. Targets: ≥ 5,000 accepted events/s with two
  processes, and two processes ≥ 1.7 × one.
* claims: `--claimers` clients claim `--claims` vouchers of one batch over POST /claims, split
  between the processes. Target: ≥ 1,000 claims/s with two processes.

On SQLite (one process, as SQLite has one writer): the same ingest, and beside it the floor, the
same SQL run bare (sqlite3, plain tuples, the same pragmas and one transaction per 500 events: the
vouchers read by key, the events inserted, the vouchers and the batch updated, the counter moved)
on a copy of the same database taken before the push. Target: the server ≥ 50 % of the floor.

Vouchers are claimed for ingest straight in the database (one UPDATE), as a claim over HTTP costs
more than the redemption measured; the claims figure is measured on its own batch.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from bench.common import ROOT, Report, WorkDir, bench_server, client, say, sqlite_url, start_together
from bench.ingest import event_bodies, push_all
from harness import HeadOffice, ServerProcess

NAME = "writers"
TARGET_INGEST = 5_000.0
TARGET_SCALING = 1.7
TARGET_CLAIMS = 1_000.0
TARGET_SQLITE_SHARE = 0.5


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", type=int, default=100_000, help="claimed vouchers redeemed (default 100,000)")
    p.add_argument("--claims", type=int, default=20_000, help="claims over HTTP (default 20,000)")
    p.add_argument("--devices", type=int, default=8, help="tills pushing at once (default 8)")
    p.add_argument("--claimers", type=int, default=16, help="clients claiming at once (default 16)")
    p.add_argument("--batch", type=int, default=500, help="events per request (default 500)")
    p.add_argument(
        "--db", default="postgresql,sqlite", help="which databases: postgresql, sqlite or both (default both)"
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")
    p.add_argument(
        "--py-spy",
        metavar="PROGRAM",
        help="profile each server while it is timed with this py-spy (raw stacks of the GIL holder, in "
        "the kept temporary directory); the figures of such a run are slower than without",
    )


def _claim_in_database(url: str, batch_id: str) -> int:
    """Every voucher of the batch claimed by its own member, straight in the database."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            now = datetime.now(UTC).replace(tzinfo=None)
            count = conn.execute(
                text(
                    "UPDATE vouchers SET member_id = 'bench-' || CAST(serial AS TEXT), claimed_at = :now, "
                    "status = 'unused' WHERE batch_id = :b"
                ),
                {"now": now, "b": batch_id},
            ).rowcount
            conn.execute(text("UPDATE batches SET claimed = :n WHERE id = :b"), {"n": count, "b": batch_id})
            return count
    finally:
        engine.dispose()


def _start(urls_and_names: list[tuple[str, str]], work: Path) -> list[ServerProcess]:
    return start_together([bench_server(url, work, name=name) for url, name in urls_and_names])


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (state first), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    """User and system CPU time (clock ticks) each process has used so far (Linux)."""
    ticks = {}
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks


def cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_ticks(pids).values()) / os.sysconf("SC_CLK_TCK")


def postgres_pids(data_dir: Path) -> list[int]:
    """The postmaster of a data directory and its children (the backends serving connections)."""
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    children = [
        int(d.name)
        for d in Path("/proc").iterdir()
        if d.name.isdigit() and (fields := _stat(int(d.name))) is not None and int(fields[1]) == postmaster
    ]
    return [postmaster, *children]


DATABASE: list[Path] = []  # the PostgreSQL data directory being measured, if any


@dataclass
class Timed:
    """What a timed part of a run used: seconds of wall clock, and CPU seconds of the server
    processes and of this process (the load generator)."""

    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    database_cpu: float | None = None  # PostgreSQL's processes (those there from start to end)


PY_SPY: list[str] = []  # --py-spy: the profiler's program, then where its profiles go


@contextmanager
def timed(servers: list[ServerProcess], label: str) -> Iterator[Timed]:
    """Time the block; with --py-spy, each server is profiled meanwhile (the GIL holder, sampled
    100 times a second; the profiler's own cost makes the block slower, so the figures of a
    profiled run are for shares only)."""
    spies = []
    if PY_SPY:
        program, where = PY_SPY
        for s in servers:
            out = Path(where) / f"{label.replace(' ', '_').replace(',', '')}-{s.name}.txt"
            command = [program, "record", "--gil", "-r", "100", "-f", "raw", "-p", str(s.pid), "-o", str(out)]
            spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1)  # attached
    got = Timed()
    pids = [s.pid for s in servers]
    database = cpu_ticks(postgres_pids(DATABASE[0])) if DATABASE else {}
    wall, server, own = time.monotonic(), cpu_seconds(pids), time.process_time()
    try:
        yield got
    finally:
        got.elapsed = time.monotonic() - wall
        got.server_cpu = cpu_seconds(pids) - server
        got.client_cpu = time.process_time() - own
        if DATABASE:
            after = cpu_ticks(list(database))
            used = sum(after[pid] - database[pid] for pid in after)
            got.database_cpu = used / os.sysconf("SC_CLK_TCK")
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait()


def _say_cpu(label: str, what: str, n: int, t: Timed) -> None:
    """Where the CPU went, per claim or event: the server's processes, PostgreSQL's, this one's."""
    database = "" if t.database_cpu is None else f", PostgreSQL {1e6 * t.database_cpu / n:,.0f} µs"
    say(
        f"  {label}: {n:,} {what} in {t.elapsed:.1f} s; CPU per {what[:-1]}: server "
        f"{1e6 * t.server_cpu / n:,.0f} µs ({100 * t.server_cpu / t.elapsed:.0f} % of a core){database}, "
        f"load generator {1e6 * t.client_cpu / n:,.0f} µs"
    )


def _ingest(
    report: Report, servers: list[ServerProcess], url: str, n: int, devices: int, per_request: int, label: str
) -> float:
    """Push n redeem events through the servers; returns accepted events per second."""
    admin = HeadOffice(servers[0])
    try:
        batch = admin.generated_batch(n, f"Bench writers {label}")
        admin.act(batch["id"], "distribute", "redeemable")
        claimed = _claim_in_database(url, batch["id"])
        ids = admin.voucher_ids(batch["id"], claimed="true")
        report.check(claimed == n and len(ids) == n, f"{label}: {claimed:,} vouchers claimed for the push")
        tokens = []
        for i in range(devices):
            store = f"bench-store-{i % 4}"
            if i < 4:
                admin.store(store)
            tokens.append(admin.device(store, f"till-{i}", servers[i % len(servers)].url)["token"])
        bodies = [event_bodies(ids[i::devices], per_request) for i in range(devices)]
        clients = [client(servers[i % len(servers)].url, t, connections=1) for i, t in enumerate(tokens)]
        with timed(servers, f"ingest {label}") as t:
            outcomes, latencies, elapsed = push_all(clients, bodies)
        _say_cpu(label, "events", n, t)
        accepted = outcomes.get("accepted", 0)
        report.check(accepted == n, f"{label}: accepted {accepted:,} of {n:,}; outcomes {outcomes}")
        redeemed = admin.get(batch["id"])["metrics"]["redeemed"]
        report.check(redeemed == n, f"{label}: the batch says {redeemed:,} redeemed")
        lat = sorted(latencies)
        say(
            f"  {label}: {n:,} events in {elapsed:.1f} s; request p50 {1000 * lat[len(lat) // 2]:.0f} ms, "
            f"p95 {1000 * lat[int(0.95 * (len(lat) - 1))]:.0f} ms"
        )
        return accepted / elapsed
    finally:
        admin.close()


def _claims(report: Report, servers: list[ServerProcess], n: int, claimers: int, label: str) -> float:
    admin = HeadOffice(servers[0])
    try:
        batch = admin.generated_batch(n, f"Bench claims {label}")
        batch = admin.act(batch["id"], "distribute", "redeemable")
        https = [client(servers[i % len(servers)].url, admin.token, connections=1) for i in range(claimers)]
        made = 0
        refused: dict[int, int] = {}
        lock = threading.Lock()
        members = iter(range(n))

        def worker(http: httpx.Client) -> None:
            nonlocal made
            while True:
                with lock:
                    i = next(members, None)
                if i is None:
                    return
                body = {"claim_token": batch["claim_token"], "member_id": f"claimer-{i}@bench.test"}
                response = http.post("/claims", json=body)
                with lock:
                    if response.status_code == 201:
                        made += 1
                    else:
                        refused[response.status_code] = refused.get(response.status_code, 0) + 1

        threads = [threading.Thread(target=worker, args=(h,)) for h in https]
        with timed(servers, f"claims {label}") as spent:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        elapsed = spent.elapsed
        _say_cpu(label, "claims", n, spent)
        for h in https:
            h.close()
        report.check(made == n and not refused, f"{label}: {made:,} claims made, refused {refused or 'none'}")
        claimed = admin.get(batch["id"])["metrics"]["claimed"]
        report.check(claimed == n, f"{label}: the batch says {claimed:,} claimed")
        return made / elapsed
    finally:
        admin.close()


def _bare_floor(path: Path, n: int, per_request: int) -> float:
    """The ledger's SQL for n redeem events, bare: accepted events per second."""
    c = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "cache_size=-131072"):
            c.execute(f"PRAGMA {pragma}")
        batch_id, store_id = c.execute(
            "SELECT b.id, (SELECT id FROM stores LIMIT 1) FROM batches b WHERE b.claimed > 0 LIMIT 1"
        ).fetchone()
        serials = [
            r[0] for r in c.execute("SELECT serial FROM vouchers WHERE batch_id = ? LIMIT ?", (batch_id, n))
        ]
        cols = [r[1] for r in c.execute("PRAGMA table_info(events)")]
        insert = f"INSERT INTO events ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) ON CONFLICT (id) DO NOTHING"
        index = {name: i for i, name in enumerate(cols)}
        t0 = time.perf_counter()
        done = 0
        for start in range(0, len(serials), per_request):
            chunk = serials[start : start + per_request]
            now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
            c.execute("BEGIN IMMEDIATE")
            c.execute("SELECT timezone FROM stores WHERE id = ?", (store_id,)).fetchone()
            marks = ",".join("?" * len(chunk))
            found = c.execute(
                "SELECT batch_id, serial, member_id, status, used_at, used_store, used_device, redeemed_by "
                f"FROM vouchers WHERE batch_id = ? AND serial IN ({marks}) ORDER BY serial",
                (batch_id, *chunk),
            ).fetchall()
            rows = []
            for v in found:
                row: list[object] = [None] * len(cols)
                for name, value in (
                    ("id", str(uuid.uuid4())),
                    ("kind", "redeem"),
                    ("store_id", store_id),
                    ("device_id", "bare"),
                    ("device_seq", v[1]),
                    ("voucher_id", f"{batch_id}.{v[1]}"),
                    ("batch_id", batch_id),
                    ("at", now),
                    ("received_at", now),
                    ("cashier", "bench"),
                    ("outcome", "accepted"),
                ):
                    row[index[name]] = value
                rows.append(row)
            c.executemany(insert, rows)
            last = c.execute(
                "UPDATE change_counter SET value = value + ? WHERE id = 1 RETURNING value", (len(found),)
            ).fetchone()[0]
            c.executemany(
                "UPDATE vouchers SET status = 'used', used_at = ?, used_store = ?, used_device = 'bare', "
                "redeemed_by = ?, change_seq = ? WHERE batch_id = ? AND serial = ?",
                [
                    (now, store_id, r[index["id"]], last - len(found) + 1 + k, batch_id, v[1])
                    for k, (r, v) in enumerate(zip(rows, found, strict=True))
                ],
            )
            c.execute("UPDATE batches SET redeemed = redeemed + ? WHERE id = ?", (len(found), batch_id))
            c.execute("COMMIT")
            done += len(found)
        return done / (time.perf_counter() - t0)
    finally:
        c.close()


def _sqlite(report: Report, work: Path, args: argparse.Namespace) -> None:
    say("  SQLite, one server process")
    path = work / "central.db"
    (server,) = _start([(sqlite_url(path), "central-sqlite")], work)
    try:
        admin = HeadOffice(server)
        try:  # the floor's copy: the same database with its own claimed batch, taken before any push
            batch = admin.generated_batch(args.events, "Bench writers floor")
            admin.act(batch["id"], "distribute", "redeemable")
            _claim_in_database(sqlite_url(path), batch["id"])
            floor_copy = work / "floor.db"
            src = sqlite3.connect(path)
            dst = sqlite3.connect(floor_copy)
            src.backup(dst)
            dst.close()
            src.close()
            # the server's own run must not find that batch: void it (the floor copy keeps it)
            admin.act(batch["id"], "void")
        finally:
            admin.close()
        rate = _ingest(report, [server], sqlite_url(path), args.events, args.devices, args.batch, "SQLite")
        errors = server.errors_in_log()
        report.check(not errors, f"SQLite: no server errors logged ({len(errors)})")
    finally:
        server.stop()
    floor = _bare_floor(floor_copy, args.events, args.batch)
    report.figure("SQLite ingest, one process", rate, "events/s", fmt="{:,.0f}")
    report.figure("SQLite floor: the same SQL bare (sqlite3)", floor, "events/s", fmt="{:,.0f}")
    report.figure(
        "SQLite ingest ÷ floor", 100 * rate / floor, "%", (">=", 100 * TARGET_SQLITE_SHARE), fmt="{:,.0f}"
    )


def _postgresql(report: Report, work: Path, args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.postgres import PostgresServer

    pg = PostgresServer(durable=True).start()
    try:
        say(f"  PostgreSQL {pg.bin_dir.parent.name} on 127.0.0.1:{pg.port}, fsync on")
        DATABASE[:] = [pg.data_dir]
        rates: dict[int, tuple[float, float]] = {}
        for processes in (1, 2):
            url = pg.create_database(f"bench_writers_{processes}")
            servers = _start([(url, f"central-pg{processes}-{i + 1}") for i in range(processes)], work)
            try:
                label = f"PostgreSQL, {processes} process{'es' if processes > 1 else ''}"
                ingest = _ingest(report, servers, url, args.events, args.devices, args.batch, label)
                claims = _claims(report, servers, args.claims, args.claimers, label)
                rates[processes] = (ingest, claims)
                for s in servers:
                    errors = s.errors_in_log()
                    report.check(not errors, f"{label}: no errors in {s.name}'s log ({len(errors)})")
            finally:
                for s in servers:
                    s.stop()
        report.figure("PostgreSQL ingest, 1 process", rates[1][0], "events/s", fmt="{:,.0f}")
        report.figure(
            "PostgreSQL ingest, 2 processes", rates[2][0], "events/s", (">=", TARGET_INGEST), fmt="{:,.0f}"
        )
        report.figure(
            "PostgreSQL ingest, 2 processes ÷ 1",
            rates[2][0] / rates[1][0],
            "×",
            (">=", TARGET_SCALING),
            fmt="{:.2f}",
        )
        report.figure("PostgreSQL claims, 1 process", rates[1][1], "claims/s", fmt="{:,.0f}")
        report.figure(
            "PostgreSQL claims, 2 processes", rates[2][1], "claims/s", (">=", TARGET_CLAIMS), fmt="{:,.0f}"
        )
    finally:
        DATABASE.clear()
        pg.stop()


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    kinds = {k.strip() for k in args.db.split(",")}
    with WorkDir(NAME, keep=args.keep or bool(args.py_spy)) as work:
        PY_SPY[:] = [args.py_spy, str(work)] if args.py_spy else []
        if "postgresql" in kinds:
            _postgresql(report, work, args)
        if "sqlite" in kinds:
            _sqlite(report, work, args)
    return report
