"""live: changes reach a waiting till (issue 15, live changes).

Part 1, claims: a redeemable batch of unclaimed vouchers, a store and a till enrolled with
`voucher-sync enrol`, its agent (`voucher-sync run`) running with its default settings and done
with its first pull. Then the benchmark claims vouchers one at a time through the API
(`POST /api/v1/claims` with the staff token), one every 0.5–1 s (uniformly at random), and for
each claim measures from the claim's answer until the till would answer ACCEPTED for its code:
replica.db read read-only through `localdb.till.Till` and decided with `vouchers.verdict.decide`,
as the kiosk does (looked at every `--poll-ms`, whenever replica.db has a new commit or a new code
was claimed). Target (issue 15): p95 at most 2 s (it was about 10 s, the pull interval). The
floor, in the same run: the claim request's own latency. Then the same with a second till whose
agent is told not to wait (`live_wait_seconds=0`: it pulls every `pull_interval_seconds`, 10 s):
the "before" figure.

Part 2, idle tills: a fresh server process; N devices enrolled (default 1,000, over 10 stores);
each asks `GET /sync/snapshot?cursor=<head>&wait=60` at the same time (asyncio, one connection
each; a request that times out empty asks again, as the agent does). Once the server's /healthz
says `waiting` ≥ N: its resident memory (VmRSS) against before any request waited, per till, and
its CPU over `--idle-seconds` of idle waiting against the same span with none waiting (the floor).
Then one change (a batch created through the API) and how long until every waiting request has
answered with a page holding it (target p95 ≤ 2 s); for reference, the same N pages asked at
once without `wait`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import ssl
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.common import (
    Report,
    WorkDir,
    add_agent_arguments,
    agent_settings,
    bench_agent,
    bench_server,
    call,
    client,
    cpu_seconds,
    describe_settings,
    percentile,
    proc_status,
    read_only,
    say,
    snapshot_end,
    sqlite_url,
    unclaimed_batch,
    wait_synced,
)
from harness import AgentProcess, HeadOffice, ServerProcess
from localdb.connect import open_reader  # the kiosk's side of the store host (see bench/common.py)
from localdb.till import Till
from vouchers.codes import code_hash, normalise
from vouchers.verdict import Verdict, decide

NAME = "live"
TARGET_CLAIM_P95 = 2.0  # seconds, claim at head office → ACCEPTED at the till
TARGET_WAKE_P95 = 2.0  # seconds, a change → every waiting till answered
NO_WAIT = {"live_wait_seconds": "0"}  # the agent as it was: a pull every pull_interval_seconds


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--claims", type=int, default=100, help="claims timed at the waiting till (default 100)")
    p.add_argument(
        "--before-claims",
        type=int,
        default=20,
        help="claims timed at a till whose agent does not wait (live_wait_seconds=0), the 'before' "
        "figure (default 20; 0: skip)",
    )
    p.add_argument(
        "--interval-ms",
        type=float,
        nargs=2,
        default=(500, 1000),
        metavar=("MIN", "MAX"),
        help="time between two claims, uniformly at random in [MIN, MAX] (default 500 1000 ms)",
    )
    p.add_argument(
        "--poll-ms", type=float, default=5, help="time between two looks at replica.db (default 5 ms)"
    )
    p.add_argument(
        "--tills", type=int, default=1000, help="idle tills waiting on one server process (default 1000)"
    )
    p.add_argument("--stores", type=int, default=10, help="stores the idle tills belong to (default 10)")
    p.add_argument("--wait", type=float, default=60, help="the idle tills' wait= (default 60 s, the most)")
    p.add_argument(
        "--idle-seconds",
        type=float,
        default=20,
        help="seconds of idle waiting the server's CPU is measured over, and of its floor (default 20)",
    )
    p.add_argument("--only", choices=("claims", "tills"), help="run one part only (default both)")
    p.add_argument("--seed", type=int, default=15, help="seed of the claims' intervals (default 15)")
    add_agent_arguments(p)
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    with WorkDir(NAME, keep=args.keep) as work:
        if args.only in (None, "claims"):
            claims_part(report, args, work)
        if args.only in (None, "tills"):
            tills_part(report, args, work)
    return report


# -- part 1: a claim at head office → ACCEPTED at the till ---------------------------------------


class VerdictWatch(threading.Thread):
    """Decides claimed codes from replica.db as the kiosk would (kiosk/service.py `_decide`: the
    voucher looked up by its code hash through `Till`, then `decide`), until each is ACCEPTED.
    A code is looked at again whenever replica.db has a new commit (PRAGMA data_version) or a
    new code was handed over, polled every `poll` seconds."""

    def __init__(self, agent: AgentProcess, poll: float) -> None:
        super().__init__(daemon=True)
        identity = json.loads((agent.data_dir / "device.json").read_text())
        self.key = bytes.fromhex(identity["code_hash_key"])
        read_only(agent.replica_path).close()  # until the agent has made it
        self.conn = open_reader(agent.replica_path)
        self.till = Till(self.conn, None)
        self.poll = poll
        self.lock = threading.Lock()
        self.pending: list[str] = []  # codes claimed, not yet ACCEPTED
        self.fresh = False  # a code was handed over since the last look
        self.accepted: dict[str, float] = {}  # code -> monotonic() of the look that first said ACCEPTED
        self.first_verdict: dict[str, str] = {}  # code -> the verdict at the first look after its claim
        self.looks = 0
        self.lookups = 0
        self.halt = threading.Event()

    def watch(self, code: str) -> None:
        with self.lock:
            self.pending.append(code)
            self.fresh = True

    def verdict(self, code: str) -> Verdict:
        found = self.till.lookup(code_hash(normalise(code), self.key))
        store_id, tz = self.till.store()
        complete = True if found else self.till.snapshot_state()[0]
        return decide(
            found and found.voucher,
            found and found.batch,
            store_id or "",
            datetime.now(UTC),
            tz,
            loading=not complete,
        )

    def run(self) -> None:
        version = None
        try:
            while not self.halt.is_set():
                now_version = self.conn.execute("PRAGMA data_version").fetchone()[0]
                with self.lock:
                    codes, fresh, self.fresh = list(self.pending), self.fresh, False
                self.looks += 1
                if codes and (fresh or now_version != version):
                    version = now_version
                    for code in codes:
                        verdict = self.verdict(code)
                        seen = time.monotonic()
                        self.lookups += 1
                        self.first_verdict.setdefault(code, verdict.value)
                        if verdict is Verdict.ACCEPTED:
                            self.accepted[code] = seen
                            with self.lock:
                                self.pending.remove(code)
                self.halt.wait(self.poll)
        finally:
            self.conn.close()


def timed_claims(
    admin: HeadOffice, claim_token: str, agent: AgentProcess, count: int, args: argparse.Namespace, label: str
) -> tuple[list[float], list[float], dict[str, str], int]:
    """`count` claims on a random schedule while a VerdictWatch looks at the till. Returns
    (claim answered → ACCEPTED latencies, claim request latencies, first verdicts, codes never ACCEPTED)."""
    rng = random.Random(f"{args.seed}-{label}")
    low, high = (ms / 1000 for ms in args.interval_ms)
    watch = VerdictWatch(agent, args.poll_ms / 1000)
    watch.start()
    answered: dict[str, float] = {}
    requests: list[float] = []
    due = time.monotonic()
    try:
        for i in range(count):
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t0 = time.monotonic()
            answer = call(
                admin.http,
                "POST",
                "/claims",
                201,
                json={"claim_token": claim_token, "member_id": f"live-{label}-{i}@bench.test"},
            )
            t1 = time.monotonic()
            answered[answer["code"]] = t1
            requests.append(t1 - t0)
            watch.watch(answer["code"])
            due += rng.uniform(low, high)
        deadline = time.monotonic() + 60  # a pull interval and then some
        while len(watch.accepted) < count and time.monotonic() < deadline and agent.alive():
            time.sleep(0.05)
    finally:
        watch.halt.set()
        watch.join(timeout=5)
    say(f"  {label}: replica looked at {watch.looks:,} times, {watch.lookups:,} verdicts decided")
    latencies = [watch.accepted[c] - t for c, t in answered.items() if c in watch.accepted]
    return latencies, requests, watch.first_verdict, count - len(latencies)


def one_till(
    admin: HeadOffice, server: ServerProcess, work: Path, label: str, settings: dict[str, str], expected: int
) -> AgentProcess:
    """A till enrolled at the claims' store and its agent started and done with its first pull."""
    agent = bench_agent(work / label, work / f"agent-{label}.log", settings)
    agent.enrol(server.url, admin.enrolment_code("live-store"), label, check=True)
    say(f"  {label}: {describe_settings(settings)}")
    end = snapshot_end(server.url, agent.token)
    agent.start()
    t0 = time.monotonic()
    try:
        wait_synced(agent, end, expected, timeout=300)
    except BaseException:
        agent.stop()
        raise
    say(f"  {label}: first pull of {expected:,} vouchers took {time.monotonic() - t0:.1f} s")
    time.sleep(1.0)  # settled: asking with wait, or between two pulls
    return agent


def claim_figures(
    report: Report, label: str, latencies: list[float], target: tuple[str, float] | None
) -> None:
    if not latencies:
        report.check(False, f"{label}: at least one claim ACCEPTED at the till")
        return
    report.figure(
        f"claim → till ACCEPTED{label}, p50", 1000 * statistics.median(latencies), "ms", fmt="{:,.0f}"
    )
    report.figure(
        f"claim → till ACCEPTED{label}, p95", 1000 * percentile(latencies, 95), "ms", target, fmt="{:,.0f}"
    )
    report.figure(f"claim → till ACCEPTED{label}, max", 1000 * max(latencies), "ms", fmt="{:,.0f}")


def claims_part(report: Report, args: argparse.Namespace, work: Path) -> None:
    settings = agent_settings(args.agent_setting)
    total = args.claims + args.before_claims
    server = bench_server(sqlite_url(work / "claims.db"), work, name="central-claims")
    with server, HeadOffice(server) as admin:
        bid, took = unclaimed_batch(admin, total, "Bench live claims")
        claim_token = admin.get(bid)["claim_token"]
        admin.store("live-store")
        say(f"  setup: batch {bid} of {total:,} unclaimed vouchers, redeemable, in {took:.1f} s")

        runs = [("waiting-till", settings, args.claims, "", ("<=", 1000 * TARGET_CLAIM_P95))]
        if args.before_claims:
            runs.append(
                ("pulling-till", {**settings, **NO_WAIT}, args.before_claims, " (before: no wait)", None)
            )
        for label, agent_env, count, suffix, target in runs:
            claimed = admin.get(bid)["metrics"]["claimed"]  # a till holds the claimed vouchers only
            with one_till(admin, server, work, label, agent_env, claimed) as agent:
                say(
                    f"  {label}: claiming {count:,} vouchers one at a time, every "
                    f"{args.interval_ms[0]:g}–{args.interval_ms[1]:g} ms ..."
                )
                latencies, requests, first, missing = timed_claims(
                    admin, claim_token, agent, count, args, label
                )
                code = agent.stop()
            report.check(code == 0, f"{label}: agent stopped cleanly on SIGTERM (exit code {code})")
            report.check(
                missing == 0,
                f"{label}: every claimed code ACCEPTED at the till ({count - missing:,} of {count:,})",
            )
            not_yet = sum(1 for v in first.values() if v in ("NOT_CLAIMED", "UNKNOWN"))
            say(
                f"  {label}: first look after the claim's answer said UNKNOWN (not there yet) for {not_yet:,} "
                f"of {len(first):,} codes (the others: "
                f"{sorted(set(first.values()) - {'NOT_CLAIMED', 'UNKNOWN'}) or 'none'})"
            )
            problems = agent.log_problems()
            report.check(
                not problems,
                f"{label}: no warnings or errors in the agent's log ({len(problems)})"
                + (f": {problems[0][:200]}" if problems else ""),
            )
            claim_figures(report, suffix, latencies, target)
            if label == "waiting-till":
                report.figure(
                    "floor: the claim request itself, p50",
                    1000 * statistics.median(requests),
                    "ms",
                    fmt="{:,.0f}",
                )
                report.figure(
                    "floor: the claim request itself, p95",
                    1000 * percentile(requests, 95),
                    "ms",
                    fmt="{:,.0f}",
                )
        metrics = admin.get(bid)["metrics"]
        report.check(
            metrics["claimed"] == total, f"server's batch metrics say claimed {metrics['claimed']:,}"
        )
        errors = server.errors_in_log()
        report.check(not errors, f"no server errors logged ({len(errors)})")


# -- part 2: N idle tills waiting on one server process ------------------------------------------


def enrol_devices(admin: HeadOffice, base_url: str, count: int, stores: list[str]) -> list[str]:
    """`count` devices enrolled round-robin at `stores`, 8 at a time; their tokens."""
    with client(base_url, connections=8) as http:

        def enrol(i: int) -> str:
            code = admin.enrolment_code(stores[i % len(stores)])
            return call(
                http,
                "POST",
                "/devices/enrol",
                201,
                json={"enrolment_code": code, "device_name": f"idle-till-{i}"},
            )["token"]

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(enrol, range(count)))


class Fleet:
    """N tills asking for the page after `head` with `wait`, each with its own client and
    connection (one pool of N connections would cost the benchmark's process more than the
    server: httpx looks through the pool at every request and answer); a page that came back
    empty (waited out) is asked again at once, as the agent does."""

    def __init__(self, base_url: str, tokens: list[str], head: int, wait: float) -> None:
        self.base_url = base_url
        self.head = head
        self.wait = wait
        tls = ssl.create_default_context()  # one for all: each client would load the CA store again
        self.clients = [
            httpx.AsyncClient(
                base_url=f"{base_url}/api/v1",
                headers={"Authorization": f"Bearer {t}"},
                timeout=httpx.Timeout(wait + 60),
                verify=tls,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
            for t in tokens
        ]
        self.answers: list[tuple[float, int, dict | None] | None] = [None] * len(
            tokens
        )  # (when, status, page)
        self.asks = 0
        self.retries = 0  # of the reference requests

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients))

    async def till(self, i: int) -> None:
        while True:
            self.asks += 1
            response = await self.clients[i].get(
                "/sync/snapshot", params={"cursor": self.head, "wait": self.wait}
            )
            page = response.json() if response.status_code == 200 else None
            if page is not None and not page["batches"] and page["next_cursor"] == self.head:
                continue  # waited out with nothing new: ask again
            self.answers[i] = (time.monotonic(), response.status_code, page)
            return

    async def at_once(self) -> list[float]:
        """For reference: every till asks for the same page without wait, all at once (each
        request authenticated and counted, as a woken one was before it waited); seconds from the
        start until each answer."""
        t0 = time.monotonic()

        async def one(http: httpx.AsyncClient) -> float:
            for attempt in range(3):
                try:
                    response = await http.get("/sync/snapshot", params={"cursor": self.head})
                    break
                except httpx.TransportError:  # a kept-alive connection the server closed meanwhile
                    self.retries += 1
                    if attempt == 2:
                        raise
            response.raise_for_status()
            return time.monotonic() - t0

        return list(await asyncio.gather(*(one(c) for c in self.clients)))


async def waiting_count(http: httpx.AsyncClient, base_url: str) -> int:
    return int((await http.get(f"{base_url}/healthz")).json().get("waiting", -1))


async def idle_fleet(fleet: Fleet, pid: int, idle_seconds: float, change) -> dict:
    """The fleet waits; memory and CPU of the server process `pid` while it does; then `change()`
    (in a thread; returns what changed) and until every till has answered."""
    try:
        return await _idle_fleet(fleet, pid, idle_seconds, change)
    finally:
        await fleet.close()


async def _idle_fleet(fleet: Fleet, pid: int, idle_seconds: float, change) -> dict:
    n = len(fleet.clients)
    out: dict = {}
    async with httpx.AsyncClient(timeout=30) as probe:
        out["rss_before"] = proc_status(pid).get("VmRSS", 0)
        t0 = time.monotonic()
        tasks = [asyncio.create_task(fleet.till(i)) for i in range(n)]
        waiting = 0
        deadline = t0 + 300
        while waiting < n and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            waiting = await waiting_count(probe, fleet.base_url)
            if all(t.done() for t in tasks):
                break
        out["ramp"] = time.monotonic() - t0
        out["waiting"] = waiting
        if waiting < n:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return out
        await asyncio.sleep(1.0)  # the last ones' requests settled
        asks = fleet.asks
        out["rss_waiting"] = proc_status(pid).get("VmRSS", 0)
        cpu0, w0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(idle_seconds)
        out["cpu_waiting"] = (cpu_seconds(pid) - cpu0) / (time.monotonic() - w0)
        out["rss_waiting_end"] = proc_status(pid).get("VmRSS", 0)
        out["waiting_end"] = await waiting_count(probe, fleet.base_url)
        out["asks_while_idle"] = fleet.asks - asks
        cpu0, mine0, w0 = cpu_seconds(pid), time.process_time(), time.monotonic()
        out["changed"], out["changed_at"] = await asyncio.to_thread(change)
        done, pending = await asyncio.wait(tasks, timeout=fleet.wait + 30)
        out["wake_span"] = time.monotonic() - w0
        out["cpu_wake"], out["bench_cpu_wake"] = cpu_seconds(pid) - cpu0, time.process_time() - mine0
        for t in pending:
            t.cancel()
        out["errors"] = [repr(t.exception()) for t in done if t.exception() is not None]
        out["rss_after"] = proc_status(pid).get("VmRSS", 0)
        out["waiting_after"] = await waiting_count(probe, fleet.base_url)
        out["floor"] = await fleet.at_once()
    return out


def tills_part(report: Report, args: argparse.Namespace, work: Path) -> None:
    n = args.tills
    # every idle till asks from 127.0.0.1: the per-address limit of the device API would refuse the fleet
    server = bench_server(
        sqlite_url(work / "tills.db"),
        work,
        name="central-tills",
        VOUCHER_DEVICE_REQUESTS_PER_ADDRESS_PER_MINUTE="10000000",
    )
    with server, HeadOffice(server) as admin:
        bid, took = unclaimed_batch(admin, 1000, "Bench live fleet")  # the tills' head is a cursor past it
        say(f"  setup: batch {bid} of 1,000 vouchers, redeemable, in {took:.1f} s")
        stores = [f"idle-{i}" for i in range(max(1, min(args.stores, n)))]
        for store in stores:
            admin.store(store)
        t0 = time.monotonic()
        tokens = enrol_devices(admin, server.url, n, stores)
        say(f"  setup: {n:,} devices enrolled at {len(stores)} stores in {time.monotonic() - t0:.1f} s")
        with client(server.url, tokens[0]) as http:
            head = call(http, "GET", "/sync/snapshot", params={"cursor": 0})["next_cursor"]
            page = call(http, "GET", "/sync/snapshot", params={"cursor": head})
        report.check(
            page["complete"] and page["next_cursor"] == head and not page["batches"],
            f"the page after the head ({head:,}) is complete and empty: a till there waits",
        )
        pid = server.pid
        time.sleep(1.0)
        cpu0, w0 = cpu_seconds(pid), time.monotonic()
        time.sleep(args.idle_seconds)
        cpu_idle = (cpu_seconds(pid) - cpu0) / (time.monotonic() - w0)

        def change() -> tuple[str, float]:
            batch = call(
                admin.http,
                "POST",
                "/batches",
                201,
                json={
                    "identifier": "Bench live change",
                    "description": "wakes the fleet",
                    "serial_start": 1,
                    "serial_end": 10,
                },
            )
            return batch["id"], time.monotonic()

        say(f"  {n:,} tills ask GET /sync/snapshot?cursor={head}&wait={args.wait:g} at once ...")
        fleet = Fleet(server.url, tokens, head, args.wait)
        out = asyncio.run(idle_fleet(fleet, pid, args.idle_seconds, change))
        say(f"  {out['waiting']:,} waiting (healthz) {out['ramp']:.1f} s after the first request")
        if not report.check(out["waiting"] >= n, f"/healthz said waiting {out['waiting']:,} ≥ {n:,}"):
            return
        say(
            f"  {out['asks_while_idle']} requests asked again during the idle span (waited out); healthz at its "
            f"end: waiting {out['waiting_end']:,}"
        )
        report.check(
            out["waiting_end"] >= n, f"still {out['waiting_end']:,} waiting at the end of the idle span"
        )
        answers = [a for a in fleet.answers if a is not None]
        report.check(
            len(answers) == n and not out["errors"],
            f"every waiting till answered ({len(answers):,} of {n:,}; {len(out['errors'])} errors"
            + (f": {out['errors'][0][:200]}" if out["errors"] else "")
            + ")",
        )
        holding = sum(
            1
            for _, status, page in answers
            if status == 200 and any(b["id"] == out["changed"] for b in page["batches"])
        )
        report.check(holding == n, f"every answer is a page holding the new batch ({holding:,} of {n:,})")
        report.check(
            out["waiting_after"] == 0, f"/healthz says waiting {out['waiting_after']} after the change"
        )
        errors = server.errors_in_log()
        report.check(not errors, f"no server errors logged ({len(errors)})")

        rss_before, rss_waiting = out["rss_before"], out["rss_waiting"]
        report.figure("server RSS, before any till waits", rss_before / 1e6, "MB", fmt="{:,.1f}")
        report.figure(f"server RSS, {n:,} tills waiting", rss_waiting / 1e6, "MB", fmt="{:,.1f}")
        report.figure("RSS per waiting till", (rss_waiting - rss_before) / n / 1024, "KiB", fmt="{:,.1f}")
        say(
            f"  (RSS at the end of the idle span {out['rss_waiting_end'] / 1e6:,.1f} MB; after every till "
            f"answered {out['rss_after'] / 1e6:,.1f} MB)"
        )
        report.figure("floor: server CPU, no till waiting", 100 * cpu_idle, "% of a core", fmt="{:,.2f}")
        report.figure(
            f"server CPU, {n:,} tills waiting", 100 * out["cpu_waiting"], "% of a core", fmt="{:,.2f}"
        )
        report.figure("CPU per waiting till", 1e6 * out["cpu_waiting"] / n, "µs/s", fmt="{:,.2f}")
        say(
            f"  (over {args.idle_seconds:g} s each; above the floor: {1e6 * (out['cpu_waiting'] - cpu_idle) / n:,.2f} "
            f"µs of CPU a second per till)"
        )
        wake = [when - out["changed_at"] for when, _, _ in answers]
        if wake:
            report.figure(
                "change → every waiting till answered, p50",
                1000 * statistics.median(wake),
                "ms",
                fmt="{:,.0f}",
            )
            report.figure(
                "change → every waiting till answered, p95",
                1000 * percentile(wake, 95),
                "ms",
                ("<=", 1000 * TARGET_WAKE_P95),
                fmt="{:,.0f}",
            )
            report.figure("change → every waiting till answered, max", 1000 * max(wake), "ms", fmt="{:,.0f}")
            report.figure(
                "server CPU to answer them, per till", 1000 * out["cpu_wake"] / n, "ms", fmt="{:,.2f}"
            )
            say(
                f"  (the server used {out['cpu_wake']:.2f} s of CPU in the {out['wake_span']:.2f} s from the change to "
                f"the last answer, the benchmark's own process {out['bench_cpu_wake']:.2f} s)"
            )
        floor = out["floor"]
        for label, value in (
            ("p50", statistics.median(floor)),
            ("p95", percentile(floor, 95)),
            ("max", max(floor)),
        ):
            report.figure(
                f"reference: same pages at once, no wait, {label}", 1000 * value, "ms", fmt="{:,.0f}"
            )
        if fleet.retries:
            say(
                f"  ({fleet.retries} reference requests sent again: the server had closed their kept-alive connection)"
            )
