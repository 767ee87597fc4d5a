"""push_latency: how soon head office acknowledges one redemption made at an online till.

Setup: a redeemable batch of N claimed vouchers (default 200), a store, a till enrolled with
`voucher-sync enrol` and its agent (`voucher-sync run`) running, online and done with its
first pull. Then the benchmark plays the kiosk: N `Journal.append("redeem", voucher_id)`
calls, one every `--interval-ms` (default 50 ms, on a fixed schedule), and for each event the
time from `append` returning until its outcome row appears in pushed.db's `outcomes` table
(the agent writes it when the server's answer arrives; polled read-only every `--poll-ms`,
default 5 ms, from another thread). Target (issue 11): p95 at most 1 s, also during a first sync of
1,000,000 vouchers (`--extra-vouchers 1000000 --while-pulling`).
`--extra-vouchers N` puts a second batch of N unclaimed vouchers on the server (which the till
pulls as well): the same measurement on tables of a realistic size. With `--while-pulling`
the appends start as soon as the first snapshot page is in replica.db, not after the whole
pull: a till redeeming while its first sync of those N vouchers is under way.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter

from bench.common import (
    Report,
    WorkDir,
    add_agent_arguments,
    add_extra_vouchers_argument,
    agent_settings,
    bench_agent,
    bench_server,
    claimed_batch,
    describe_settings,
    percentile,
    read_only,
    replica_meta,
    say,
    snapshot_end,
    sqlite_url,
    unclaimed_batch,
    wait_synced,
)
from harness import AgentProcess, HeadOffice

NAME = "push_latency"
TARGET_P95 = 1.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", type=int, default=200, help="redemptions, one voucher each (default 200)")
    p.add_argument("--interval-ms", type=float, default=50, help="time between two appends (default 50 ms)")
    p.add_argument(
        "--poll-ms", type=float, default=5, help="time between two looks at pushed.db (default 5 ms)"
    )
    add_extra_vouchers_argument(p)
    p.add_argument(
        "--while-pulling",
        action="store_true",
        help="start appending once the first snapshot page is in, while the pull goes on "
        "(default: once the first pull is complete)",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="seconds to wait after the first pull before the first append (default 1)",
    )
    add_agent_arguments(p)
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")


class OutcomeWatch(threading.Thread):
    """Polls pushed.db's outcomes table for rows past the journal sequence number it saw last."""

    def __init__(self, agent: AgentProcess, poll: float) -> None:
        super().__init__(daemon=True)
        self.conn = read_only(agent.pushed_path, table="outcomes")
        self.poll = poll
        self.seen: dict[str, tuple[float, str]] = {}  # event id -> (monotonic when seen, outcome)
        self.polls = 0
        self.halt = threading.Event()

    def run(self) -> None:
        last = 0
        try:
            while not self.halt.is_set():
                rows = self.conn.execute(
                    "SELECT seq, event_id, outcome FROM outcomes WHERE seq > ? ORDER BY seq", (last,)
                ).fetchall()
                now = time.monotonic()
                self.polls += 1
                for seq, event_id, outcome in rows:
                    self.seen.setdefault(event_id, (now, outcome))
                    last = max(last, seq)
                self.halt.wait(self.poll)
        finally:
            self.conn.close()


def cursor_now(agent: AgentProcess) -> int:
    conn = read_only(agent.replica_path)
    try:
        return int(replica_meta(conn, "cursor") or 0)
    finally:
        conn.close()


def run(args: argparse.Namespace) -> Report:
    from localdb.journal import Journal  # the kiosk's side of the store host (see bench/common.py)

    report = Report(NAME)
    n = args.events
    settings = agent_settings(args.agent_setting)
    with WorkDir(NAME, keep=args.keep) as work:
        server = bench_server(sqlite_url(work / "central.db"), work)
        with server, HeadOffice(server) as admin:
            bid, ids, t_batch = claimed_batch(admin, n, f"Bench push latency {n}")
            say(f"  setup: batch {bid}: {n:,} vouchers generated, redeemable and claimed in {t_batch:.1f} s")
            if args.extra_vouchers:
                extra_id, took = unclaimed_batch(admin, args.extra_vouchers, "Bench push latency, bulk")
                say(
                    f"  setup: batch {extra_id} of {args.extra_vouchers:,} unclaimed vouchers generated in {took:.1f} s"
                )
            admin.store("latency-store")
            agent = bench_agent(work / "till", work / "agent.log", settings)
            agent.enrol(server.url, admin.enrolment_code("latency-store"), "latency-till", check=True)
            say(f"  agent settings: {describe_settings(settings)}")
            end = snapshot_end(server.url, agent.token)
            with agent:
                agent.start()
                if args.while_pulling:
                    first_page = read_only(agent.replica_path)
                    while not int(replica_meta(first_page, "cursor") or 0) and agent.alive():
                        time.sleep(0.01)
                    first_page.close()
                    say(
                        f"  agent online, first page pulled; appending {n:,} redeem events, one every "
                        f"{args.interval_ms:g} ms, while it pulls {args.extra_vouchers + n:,} vouchers ..."
                    )
                else:
                    t0 = time.monotonic()
                    wait_synced(agent, end, n + args.extra_vouchers, timeout=900)
                    say(
                        f"  setup: first pull of {n + args.extra_vouchers:,} vouchers took {time.monotonic() - t0:.1f} s"
                    )
                    time.sleep(args.settle)
                    say(
                        f"  agent online and synced; appending {n:,} redeem events, one every {args.interval_ms:g} ms ..."
                    )
                watch = OutcomeWatch(agent, args.poll_ms / 1000)
                watch.start()
                journal = Journal(agent.journal_path)
                appended: dict[str, float] = {}
                append_took: list[float] = []
                lateness: list[float] = []
                t0 = time.monotonic()
                for i, vid in enumerate(ids):
                    due = t0 + i * args.interval_ms / 1000
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    lateness.append(max(0.0, time.monotonic() - due))
                    ta = time.monotonic()
                    event = journal.append("redeem", vid, cashier="bench")
                    appended[event.id] = time.monotonic()
                    append_took.append(appended[event.id] - ta)
                pulled_at_last_append = cursor_now(agent)
                deadline = time.monotonic() + 120
                while len(watch.seen) < n and time.monotonic() < deadline and agent.alive():
                    time.sleep(0.05)
                watch.halt.set()
                watch.join(timeout=5)
                span = time.monotonic() - t0
                code = agent.stop()
            journal.close()
            report.check(code == 0, f"agent stopped cleanly on SIGTERM (exit code {code})")
            if args.while_pulling:  # not a check: says whether the run measured what it meant to
                say(
                    f"  the pull was {'still' if pulled_at_last_append < end else 'NOT'} under way at the last "
                    f"append (replica cursor {pulled_at_last_append:,}; the pull ends at {end:,})"
                )
            missing = [e for e in appended if e not in watch.seen]
            report.check(not missing, f"an outcome for every event ({n - len(missing):,} of {n:,})")
            outcomes = Counter(outcome for _, outcome in watch.seen.values())
            report.check(outcomes == Counter(accepted=n), f"outcomes: {dict(outcomes)}")
            metrics = admin.get(bid)["metrics"]
            report.check(
                metrics["redeemed"] == n, f"server's batch metrics say redeemed {metrics['redeemed']:,}"
            )
            problems = agent.log_problems()
            report.check(
                not problems,
                f"no warnings or errors in the agent's log ({len(problems)})"
                + (f": {problems[0][:200]}" if problems else ""),
            )
            errors = server.errors_in_log()
            report.check(not errors, f"no server errors logged ({len(errors)})")

        latencies = [watch.seen[e][0] - t for e, t in appended.items() if e in watch.seen]
        if not latencies:
            raise RuntimeError("no event was acknowledged")
        say(
            f"  {len(latencies):,} latencies; replica polled {watch.polls:,} times in {span:.1f} s "
            f"(every {1000 * span / max(watch.polls, 1):.1f} ms on average); appends late by at most "
            f"{1000 * max(lateness):.0f} ms"
        )
        report.figure("append → acknowledged, p50", 1000 * statistics.median(latencies), "ms", fmt="{:,.0f}")
        report.figure(
            "append → acknowledged, p95",
            1000 * percentile(latencies, 95),
            "ms",
            ("<=", 1000 * TARGET_P95),
            fmt="{:,.0f}",
        )
        report.figure("append → acknowledged, max", 1000 * max(latencies), "ms", fmt="{:,.0f}")
        report.figure("append → acknowledged, min", 1000 * min(latencies), "ms", fmt="{:,.0f}")
        report.figure("append → acknowledged, mean", 1000 * statistics.fmean(latencies), "ms", fmt="{:,.0f}")
        report.figure(
            "Journal.append itself, p50", 1000 * statistics.median(append_took), "ms", fmt="{:,.1f}"
        )
    return report
