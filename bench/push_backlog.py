"""push_backlog: a till comes back online with 10,000 redemptions in its journal.

Setup: a redeemable batch of N vouchers (default 10,000), every one claimed through the API;
a store and a till enrolled with `voucher-sync enrol`; the agent (`voucher-sync run`) pulls
the snapshot, then is stopped (SIGTERM) as in an outage. With the agent stopped, the
benchmark plays the kiosk: one `Journal.append("redeem", voucher_id)` per voucher into the
till's journal.db. Then the agent starts again, and the clock runs from starting it until
the server acknowledged every event: `Till.pending()` is 0 (replica.db read-only, the
journal) and the batch's `redeemed` metric on the server is N.
Target (issue): at most 10 s for 10,000 events. `--extra-vouchers N` puts a second batch of
N unclaimed vouchers on the server (and in the replica): the same on tables of realistic size.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from bench.common import (
    MemoryWatch,
    Notifications,
    Report,
    WorkDir,
    add_agent_arguments,
    add_extra_vouchers_argument,
    agent_settings,
    bench_agent,
    bench_server,
    claimed_batch,
    cpu_seconds,
    describe_settings,
    read_only,
    say,
    snapshot_end,
    sqlite_url,
    unclaimed_batch,
    wait_synced,
)
from harness import HeadOffice

NAME = "push_backlog"
TARGET_SECONDS = 10.0
TARGET_SIZE = 10_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--size",
        type=int,
        default=TARGET_SIZE,
        help="claimed vouchers, one redeem event each (default 10,000)",
    )
    p.add_argument(
        "--claim-concurrency", type=int, default=2, help="parallel claim requests in setup (default 2)"
    )
    p.add_argument(
        "--poll", type=float, default=0.01, help="seconds between looks at Till.pending() (default 0.01)"
    )
    p.add_argument("--timeout", type=float, default=600, help="give up after this many seconds (default 600)")
    add_extra_vouchers_argument(p)
    add_agent_arguments(p)
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")


def run(args: argparse.Namespace) -> Report:
    from localdb.connect import open_reader  # the kiosk's side of the store host (see bench/common.py)
    from localdb.journal import Journal
    from localdb.till import Till

    report = Report(NAME)
    n = args.size
    settings = agent_settings(args.agent_setting)
    with WorkDir(NAME, keep=args.keep) as work:
        server = bench_server(sqlite_url(work / "central.db"), work)
        with server, HeadOffice(server) as admin:
            bid, ids, t_batch = claimed_batch(admin, n, f"Bench push backlog {n}", args.claim_concurrency)
            say(f"  setup: batch {bid}: {n:,} vouchers generated, redeemable and claimed in {t_batch:.1f} s")
            if args.extra_vouchers:
                extra_id, took = unclaimed_batch(admin, args.extra_vouchers, "Bench push backlog, bulk")
                say(
                    f"  setup: batch {extra_id} of {args.extra_vouchers:,} unclaimed vouchers generated in {took:.1f} s"
                )
            admin.store("backlog-store")
            agent = bench_agent(
                work / "till", work / "agent.log", settings, notify_socket=work / "notify.sock"
            )
            agent.enrol(server.url, admin.enrolment_code("backlog-store"), "backlog-till", check=True)
            say(f"  agent settings: {describe_settings(settings)}")
            notes = Notifications(work / "notify.sock")
            try:
                with agent:
                    agent.start()
                    t0 = time.monotonic()
                    wait_synced(
                        agent,
                        snapshot_end(server.url, agent.token),
                        n + args.extra_vouchers,
                        timeout=args.timeout,
                    )
                    say(
                        f"  setup: first pull of {n + args.extra_vouchers:,} vouchers took "
                        f"{time.monotonic() - t0:.1f} s; stopping the agent"
                    )
                    code = agent.stop()
                report.check(code == 0, f"agent stopped cleanly on SIGTERM (exit code {code})")

                journal = Journal(agent.journal_path)
                t0 = time.monotonic()
                for vid in ids:
                    journal.append("redeem", vid, cashier="bench")
                t_append = time.monotonic() - t0
                say(
                    f"  setup: {n:,} Journal.append calls in {t_append:.1f} s ({n / t_append:,.0f}/s; "
                    f"each one its own fsync'd transaction); starting the agent ..."
                )

                till = Till(open_reader(agent.replica_path), journal.conn)
                report.check(
                    till.pending() == n, f"{till.pending():,} events pending before the agent starts"
                )
                server_cpu0 = cpu_seconds(server.pid)
                first_ack = all_acked = metric_at = None
                with agent:
                    agent.start()
                    memory = MemoryWatch(agent.pid)
                    deadline = agent.started_at + args.timeout
                    while all_acked is None and time.monotonic() < deadline:
                        if not agent.alive():
                            raise RuntimeError(f"the agent exited; see {agent.log_path}")
                        seen = time.monotonic()
                        pending = till.pending()
                        if first_ack is None and pending < n:
                            first_ack = seen
                        if pending == 0:
                            all_acked = seen
                        else:
                            time.sleep(args.poll)
                    if all_acked is None:
                        raise RuntimeError(f"{till.pending():,} events still pending after {args.timeout} s")
                    while metric_at is None and time.monotonic() < deadline:
                        seen = time.monotonic()
                        if admin.get(bid)["metrics"]["redeemed"] == n:
                            metric_at = seen
                        else:
                            time.sleep(args.poll)
                    agent_cpu = cpu_seconds(agent.pid)
                    server_cpu = cpu_seconds(server.pid) - server_cpu0
                    peak = memory.stop()
                    started = agent.started_at
                    ready = notes.first("READY=1", after=started)
                    code = agent.stop()
                report.check(code == 0, f"agent stopped cleanly on SIGTERM (exit code {code})")
            finally:
                notes.close()

            till.replica.close()
            pushed = read_only(agent.pushed_path, table="outcomes")
            outcomes = Counter(
                dict(pushed.execute("SELECT outcome, count(*) FROM outcomes GROUP BY outcome").fetchall())
            )
            pushed.close()
            report.check(outcomes == Counter(accepted=n), f"outcomes in pushed.db: {dict(outcomes)}")
            final = admin.get(bid)["metrics"]
            report.check(final["redeemed"] == n, f"server's batch metrics say redeemed {final['redeemed']:,}")
            journal.close()
            problems = agent.log_problems()
            report.check(
                not problems,
                f"no warnings or errors in the agent's log ({len(problems)})"
                + (f": {problems[0][:200]}" if problems else ""),
            )
            errors = server.errors_in_log()
            report.check(not errors, f"no server errors logged ({len(errors)})")

        done = max(all_acked, metric_at or all_acked)
        target = ("<=", TARGET_SECONDS * n / TARGET_SIZE)
        if n != TARGET_SIZE:
            say(f"  (target scaled to {n:,} events: {target[1]:.2f} s)")
        report.figure("agent start → all acknowledged", done - started, "s", target, fmt="{:,.2f}")
        report.figure("events acknowledged per second", n / (done - started), "events/s", fmt="{:,.0f}")
        if ready is not None:
            report.figure("agent start → READY=1", ready - started, "s", fmt="{:,.2f}")
        report.figure("agent start → first acknowledgement", first_ack - started, "s", fmt="{:,.2f}")
        report.figure("first → last acknowledgement", all_acked - first_ack, "s", fmt="{:,.2f}")
        report.figure(
            "pending 0 → server metric says all",
            max(0.0, (metric_at or all_acked) - all_acked),
            "s",
            fmt="{:,.2f}",
        )
        report.figure("agent peak RSS (VmHWM)", peak / 1e6, "MB", fmt="{:,.1f}")
        report.figure("agent CPU time (start → all)", agent_cpu, "s", fmt="{:,.1f}")
        report.figure("server CPU time meanwhile", server_cpu, "s", fmt="{:,.1f}")
        report.figure("setup: Journal.append per second", n / t_append, "events/s", fmt="{:,.0f}")
    return report
