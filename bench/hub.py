"""hub: a shop's tills behind its hub (issue 15): how soon a change reaches a till through it.

Every process is real and started through the harness: head office (`voucher-central serve`,
harness.ServerProcess, a fresh SQLite database each part), each shop's hub (`voucher-hub enrol`
with a hub enrolment code, then `voucher-hub serve`, harness.HubProcess, the hub's default settings)
and each till's sync agent (`voucher-sync enrol --server <the hub>`, then `voucher-sync run`,
harness.AgentProcess, the agent's default settings, so it waits for changes at the hub with
`live_wait_seconds` 25). The benchmark plays the kiosks: it reads each till's replica.db read-only
through `localdb.till.Till` and decides a code with `vouchers.verdict.decide` exactly as
kiosk/service.py does, whenever the replica has a new commit (PRAGMA data_version, looked at every
`--poll-ms`), and it redeems by appending to a till's journal.db with `localdb.journal.Journal`.

Part `claims`: a claim at head office → ACCEPTED at a till behind a hub, and at a till enrolled
at head office directly, the same claims watched at both (target p95 ≤ 2 s for each). Floor: the
claim request itself.

Part `neighbour`: two tills of one shop behind its hub, head office stopped (unreachable: nothing
answers on its port). A redemption at till 1 (Journal.append) → till 2 refuses it (ALREADY_USED),
target p95 ≤ 1 s. Floor: the same redemption answered by the hub at till 1 (its outcome row in
till 1's pushed.db). Then head office is started again and must receive every redemption once,
under till 1's device.

Part `lock`: `--shops` shops (default 10), each a store with its hub and `--tills-per-shop` tills
behind it (default 2). A batch locked at head office (POST /batches/{id}/lock) → every till of every
shop refuses its claimed code (BATCH_LOCKED), target p95 ≤ 2 s over `--locks` locks; each lock is
lifted again (POST /batches/{id}/redeemable) and timed until every till accepts the code again.
Floor: a till enrolled at head office directly, the same locks.

1,000 idle waiting tills on one server process (RSS and CPU per till): `python -m bench live`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    BENCH_LIMITS,
    Report,
    WorkDir,
    add_agent_arguments,
    agent_settings,
    bench_agent,
    bench_server,
    call,
    describe_settings,
    percentile,
    read_only,
    say,
    sqlite_url,
    unclaimed_batch,
)
from harness import AgentProcess, HeadOffice, ServerProcess, free_port
from harness.hub import HubProcess
from localdb.connect import open_reader  # the kiosk's side of the store host (see bench/common.py)
from localdb.journal import Journal
from localdb.till import Till
from vouchers.codes import code_hash, normalise
from vouchers.verdict import Verdict, decide

NAME = "hub"
TARGET_CLAIM_P95 = 2.0  # seconds: a claim at head office → ACCEPTED at the till
TARGET_NEIGHBOUR_P95 = 1.0  # seconds: a redemption at till 1 → till 2 refuses it, head office down
TARGET_LOCK_P95 = 2.0  # seconds: a lock at head office → every till of every shop refuses
PARTS = ("claims", "neighbour", "lock")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--claims", type=int, default=50, help="claims timed at the two tills (default 50)")
    p.add_argument(
        "--interval-ms",
        type=float,
        nargs=2,
        default=(500, 1000),
        metavar=("MIN", "MAX"),
        help="time between two claims, two redemptions or two locks, uniformly at random in [MIN, MAX] "
        "(default 500 1000 ms)",
    )
    p.add_argument(
        "--redemptions", type=int, default=50, help="redemptions at till 1 timed at till 2 (default 50)"
    )
    p.add_argument("--shops", type=int, default=10, help="shops of the lock part, each its hub (default 10)")
    p.add_argument("--tills-per-shop", type=int, default=2, help="tills behind each hub (default 2)")
    p.add_argument("--locks", type=int, default=20, help="locks (each lifted again) timed (default 20)")
    p.add_argument(
        "--poll-ms", type=float, default=5, help="time between two looks at the replicas (default 5 ms)"
    )
    p.add_argument("--only", choices=PARTS, action="append", help="run this part only (repeatable)")
    p.add_argument("--seed", type=int, default=15, help="seed of the intervals (default 15)")
    p.add_argument(
        "--hub-setting",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="override one of the hubs' settings (hub/settings.py) through VOUCHER_HUB_KEY; repeatable "
        "(default: the hub's own)",
    )
    add_agent_arguments(p)
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    parts = args.only or PARTS
    with WorkDir(NAME, keep=args.keep) as work:
        for name, part in (("claims", claims_part), ("neighbour", neighbour_part), ("lock", lock_part)):
            if name in parts:
                say(f"  -- {name} --")
                part(report, args, work / name)
    return report


# -- the kiosk's view of several tills ------------------------------------------------------------


@dataclass
class Expect:
    """A code that should give `verdict` at till `label`, from monotonic() `since` on."""

    label: str
    code: str
    verdict: Verdict
    since: float
    seen_at: float | None = None  # monotonic() of the look that first gave the verdict
    first: str | None = None  # the verdict at the first look after `since`

    @property
    def latency(self) -> float | None:
        return None if self.seen_at is None else self.seen_at - self.since


class TillWatch(threading.Thread):
    """Decides codes at several tills from their replicas as the kiosk would (kiosk/service.py: the
    voucher looked up by its code hash through `Till`, then `decide`), until each gives the verdict
    expected of it. A till's codes are decided again whenever its replica.db has a new commit
    (PRAGMA data_version) or a code was just handed over, looked at every `poll` seconds."""

    def __init__(self, tills: dict[str, AgentProcess], poll: float) -> None:
        super().__init__(daemon=True)
        self.views: dict[str, tuple[Till, bytes]] = {}
        self.conns = []
        for label, agent in tills.items():
            identity = json.loads((agent.data_dir / "device.json").read_text())
            read_only(agent.replica_path).close()  # until the agent has made it
            conn = open_reader(agent.replica_path)
            self.conns.append(conn)
            self.views[label] = (Till(conn, None), bytes.fromhex(identity["code_hash_key"]))
        self.poll = poll
        self.lock = threading.Lock()
        self.pending: list[Expect] = []
        self.fresh: set[str] = set()  # tills handed a code since their last look
        self.looks = 0
        self.decided = 0
        self.halt = threading.Event()

    def expect(
        self, code: str, verdict: Verdict, since: float, labels: list[str] | None = None
    ) -> list[Expect]:
        made = [Expect(label, code, verdict, since) for label in (labels or list(self.views))]
        with self.lock:
            self.pending.extend(made)
            self.fresh.update(e.label for e in made)
        return made

    def verdict(self, label: str, code: str) -> Verdict:
        till, key = self.views[label]
        found = till.lookup(code_hash(normalise(code), key))
        store_id, tz = till.store()
        complete = True if found else till.snapshot_state()[0]
        return decide(
            found.voucher if found else None,
            found.batch if found else None,
            store_id or "",
            datetime.now(UTC),
            tz,
            loading=not complete,
        )

    def run(self) -> None:
        versions: dict[str, int] = {}
        try:
            while not self.halt.is_set():
                with self.lock:
                    pending, fresh, self.fresh = list(self.pending), self.fresh, set()
                self.looks += 1
                for label in {e.label for e in pending}:
                    version = self.views[label][0].replica.execute("PRAGMA data_version").fetchone()[0]
                    if label not in fresh and versions.get(label) == version:
                        continue
                    versions[label] = version
                    for e in (e for e in pending if e.label == label):
                        verdict = self.verdict(label, e.code)
                        now = time.monotonic()
                        self.decided += 1
                        if e.first is None:
                            e.first = verdict.value
                        if verdict is e.verdict:
                            e.seen_at = now
                if pending:
                    with self.lock:
                        self.pending = [e for e in self.pending if e.seen_at is None]
                self.halt.wait(self.poll)
        finally:
            for conn in self.conns:
                conn.close()

    def wait(self, expects: list[Expect], timeout: float, alive=lambda: True) -> bool:
        """Until every one of `expects` was seen (True), or `timeout` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            if all(e.seen_at is not None for e in expects):
                return True
            time.sleep(0.02)
        return all(e.seen_at is not None for e in expects)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=5)


class OutcomeWatch(threading.Thread):
    """When each event of a till's journal was answered (its row in pushed.db's outcomes)."""

    def __init__(self, agent: AgentProcess, poll: float) -> None:
        super().__init__(daemon=True)
        self.conn = read_only(agent.pushed_path, table="outcomes")
        self.poll = poll
        self.seen: dict[str, tuple[float, str]] = {}  # event id -> (monotonic() when seen, outcome)
        self.halt = threading.Event()

    def run(self) -> None:
        last = 0
        try:
            while not self.halt.is_set():
                rows = self.conn.execute(
                    "SELECT seq, event_id, outcome FROM outcomes WHERE seq > ? ORDER BY seq", (last,)
                ).fetchall()
                now = time.monotonic()
                for seq, event_id, outcome in rows:
                    self.seen.setdefault(event_id, (now, outcome))
                    last = max(last, seq)
                self.halt.wait(self.poll)
        finally:
            self.conn.close()

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=5)


# -- processes ----------------------------------------------------------------------------------


def hub_settings(args: argparse.Namespace, **extra: str) -> dict[str, str]:
    out = {}
    for pair in args.hub_setting:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--hub-setting takes KEY=VALUE, not {pair!r}")
        out[key.strip().lower().removeprefix("voucher_hub_")] = value.strip()
    return {**extra, **out}


def start_hub(admin: HeadOffice, server: ServerProcess, work: Path, store: str, settings: dict[str, str]):
    """The store's hub, enrolled with a hub enrolment code and serving on a free loopback port."""
    code = call(admin.http, "POST", f"/stores/{store}/enrolment-codes", 201, json={"role": "hub"})["code"]
    hub = HubProcess(
        work / f"hub-{store}", server=server.url, settings=settings, log=work / f"hub-{store}.log"
    )
    hub.enrol(code, f"hub-{store}")
    return hub.start()


def start_till(
    admin: HeadOffice, via: str, work: Path, store: str, label: str, settings: dict[str, str]
) -> AgentProcess:
    """A till of `store` enrolled through `via` (its hub, or head office) and its agent started."""
    agent = bench_agent(work / label, work / f"agent-{label}.log", settings)
    agent.enrol(via, admin.enrolment_code(store), label, check=True)
    return agent.start()


def wait_ready(agent: AgentProcess, batch_ids: list[str], vouchers: int, timeout: float = 300) -> None:
    """Until the till's replica is complete and holds the batches and at least `vouchers` vouchers."""
    conn = read_only(agent.replica_path, timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not agent.alive():
                raise RuntimeError(
                    f"the agent exited before its first pull was complete; see {agent.log_path}"
                )
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("snapshot_complete") == "1":
                have = {row[0] for row in conn.execute("SELECT id FROM batches")}
                count = conn.execute("SELECT count(*) FROM vouchers").fetchone()[0]
                if set(batch_ids) <= have and count >= vouchers:
                    return
            time.sleep(0.05)
    finally:
        conn.close()
    raise RuntimeError(
        f"{agent.data_dir.name}: replica not ready within {timeout:.0f} s; see {agent.log_path}"
    )


def schedule(args: argparse.Namespace, label: str):
    """Pauses between two steps, uniformly at random in --interval-ms (seeded)."""
    rng = random.Random(f"{args.seed}-{label}")
    low, high = (ms / 1000 for ms in args.interval_ms)
    return lambda: rng.uniform(low, high)


def timing(report: Report, name: str, values: list[float], target: float | None = None) -> None:
    """p50, p95 and max of `values` (seconds) as figures in ms, the target beside p95."""
    if not values:
        report.check(False, f"{name}: at least one measured")
        return
    report.figure(f"{name}, p50", 1000 * statistics.median(values), "ms", fmt="{:,.0f}")
    goal = None if target is None else ("<=", 1000 * target)
    report.figure(f"{name}, p95", 1000 * percentile(values, 95), "ms", goal, fmt="{:,.0f}")
    report.figure(f"{name}, max", 1000 * max(values), "ms", fmt="{:,.0f}")


def clean_logs(
    report: Report, agents: dict[str, AgentProcess], hubs: list[HubProcess], codes: dict[str, int | None]
) -> None:
    bad = [label for label, code in codes.items() if code != 0]
    report.check(not bad, f"every agent stopped cleanly on SIGTERM ({len(codes) - len(bad)} of {len(codes)})")
    problems = [(label, p) for label, a in agents.items() for p in a.log_problems()]
    report.check(
        not problems,
        f"no warnings or errors in the agents' logs ({len(problems)})"
        + (f": {problems[0][0]}: {problems[0][1][:200]}" if problems else ""),
    )
    tracebacks = [line for hub in hubs for line in hub.log_problems() if "Traceback" in line]
    report.check(not tracebacks, f"no traceback in the hubs' logs ({len(tracebacks)})")


# -- part 1: a claim at head office → ACCEPTED at a till behind its hub, and at one without -----


def claims_part(report: Report, args: argparse.Namespace, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    settings = agent_settings(args.agent_setting)
    hub_env = hub_settings(args)
    say(f"  tills: {describe_settings(settings)}; hub settings changed: {hub_env or 'none'}")
    server = bench_server(sqlite_url(work / "central.db"), work, name="central-claims")
    agents: dict[str, AgentProcess] = {}
    hubs: list[HubProcess] = []
    codes: dict[str, int | None] = {}
    with server, HeadOffice(server) as admin:
        bid, took = unclaimed_batch(admin, args.claims + 10, "Bench hub claims")
        claim_token = admin.get(bid)["claim_token"]
        for store in ("hub-shop", "direct-shop"):
            admin.store(store)
        say(f"  setup: batch {bid} of {args.claims + 10:,} unclaimed vouchers, redeemable, in {took:.1f} s")
        try:
            t0 = time.monotonic()
            hubs.append(start_hub(admin, server, work, "hub-shop", hub_env))
            agents["via hub"] = start_till(admin, hubs[0].url, work, "hub-shop", "till-via-hub", settings)
            agents["direct"] = start_till(admin, server.url, work, "direct-shop", "till-direct", settings)
            for agent in agents.values():
                wait_ready(agent, [bid], 0)
            say(f"  setup: hub and two tills up and synced in {time.monotonic() - t0:.1f} s")
            time.sleep(1.0)  # settled: each agent waiting for a change
            watch = TillWatch(agents, args.poll_ms / 1000)
            watch.start()
            pause = schedule(args, "claims")
            requests: list[float] = []
            expects: list[Expect] = []
            say(
                f"  claiming {args.claims:,} vouchers one at a time, every {args.interval_ms[0]:g}–{args.interval_ms[1]:g} ms ..."
            )
            due = time.monotonic()
            try:
                for i in range(args.claims):
                    time.sleep(max(0.0, due - time.monotonic()))
                    t0 = time.monotonic()
                    answer = call(
                        admin.http,
                        "POST",
                        "/claims",
                        201,
                        json={"claim_token": claim_token, "member_id": f"hub-{i}@bench.test"},
                    )
                    t1 = time.monotonic()
                    requests.append(t1 - t0)
                    expects += watch.expect(answer["code"], Verdict.ACCEPTED, t1)
                    due += pause()
                watch.wait(expects, 60)
            finally:
                watch.stop()
        finally:
            for label, agent in agents.items():
                codes[label] = agent.stop()
            for hub in hubs:
                hub.stop()
        say(f"  replicas looked at {watch.looks:,} times, {watch.decided:,} verdicts decided")
        for label in agents:
            mine = [e for e in expects if e.label == label]
            got = [e.latency for e in mine if e.latency is not None]
            report.check(
                len(got) == len(mine), f"{label}: every claimed code ACCEPTED ({len(got)} of {len(mine)})"
            )
            firsts = sorted({e.first for e in mine if e.first} - {"ACCEPTED"})
            say(
                f"  {label}: the first look after a claim's answer said {firsts or 'ACCEPTED already'} (not there yet)"
            )
            timing(report, f"claim → ACCEPTED at a till {label}", got, TARGET_CLAIM_P95)
        timing(report, "floor: the claim request itself", requests)
        clean_logs(report, agents, hubs, codes)
        errors = server.errors_in_log()
        report.check(not errors, f"no server errors logged ({len(errors)})")


# -- part 2: a redemption at till 1 → till 2 refuses it, head office unreachable ------------------


def neighbour_part(report: Report, args: argparse.Namespace, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    n = args.redemptions
    settings = agent_settings(args.agent_setting)
    # the hub finds head office again within 5 s of its return (the end's check; not on the measured path)
    hub_env = hub_settings(args, backoff_max_seconds="5")
    say(f"  tills: {describe_settings(settings)}; hub settings changed: {hub_env}")
    # a port of its own, kept when head office starts again: the hub's `server` stays right
    server = ServerProcess(
        sqlite_url(work / "central.db"),
        port=free_port(),
        log=work / "central-neighbour.log",
        settings=BENCH_LIMITS,
        name="central-neighbour",
        cwd=work,
    )
    agents: dict[str, AgentProcess] = {}
    hubs: list[HubProcess] = []
    stopped: dict[str, int | None] = {}
    with server, HeadOffice(server) as admin:
        t0 = time.monotonic()
        batch = admin.batch(n, claimed=n, identifier="Bench hub neighbour")
        bid, codes = batch["id"], batch["codes"]
        admin.store("shop")
        say(f"  setup: batch {bid}: {n:,} vouchers claimed, redeemable, in {time.monotonic() - t0:.1f} s")
        try:
            t0 = time.monotonic()
            hubs.append(start_hub(admin, server, work, "shop", hub_env))
            for i in (1, 2):
                agents[f"till-{i}"] = start_till(admin, hubs[0].url, work, "shop", f"till-{i}", settings)
            for agent in agents.values():
                wait_ready(agent, [bid], n)
            say(f"  setup: hub and two tills up and synced in {time.monotonic() - t0:.1f} s")
            till1_device = json.loads((agents["till-1"].data_dir / "device.json").read_text())["device_id"]
            watch = TillWatch(agents, args.poll_ms / 1000)
            ids = {code: found_id(watch, "till-1", code) for code in codes}
            server.stop()
            say(f"  head office stopped: nothing answers on {server.url}")
            time.sleep(1.0)  # settled: each agent waiting for a change at the hub
            watch.start()
            answers = OutcomeWatch(agents["till-1"], args.poll_ms / 1000)
            answers.start()
            journal = Journal(agents["till-1"].journal_path)
            appended: dict[str, float] = {}
            expects: list[Expect] = []
            pause = schedule(args, "neighbour")
            say(
                f"  redeeming {n:,} vouchers at till 1, one every {args.interval_ms[0]:g}–{args.interval_ms[1]:g} ms ..."
            )
            due = time.monotonic()
            try:
                for code in codes:
                    time.sleep(max(0.0, due - time.monotonic()))
                    event = journal.append("redeem", ids[code], cashier="bench")
                    t = time.monotonic()
                    appended[event.id] = t
                    expects += watch.expect(code, Verdict.ALREADY_USED, t, ["till-2"])
                    due += pause()
                watch.wait(expects, 60)
                deadline = time.monotonic() + 30
                while len(answers.seen) < n and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                watch.stop()
                answers.stop()
                journal.close()
            got = [e.latency for e in expects if e.latency is not None]
            acks = [answers.seen[e][0] - t for e, t in appended.items() if e in answers.seen]
            outcomes = {o for _, o in answers.seen.values()}
            # head office again: the hub forwards what it kept, once each, under till 1's device
            t0 = time.monotonic()
            server.start()
            with HeadOffice(server.url, admin.token) as office:
                redeemed = 0
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    redeemed = office.get(bid)["metrics"]["redeemed"]
                    if redeemed >= n:
                        break
                    time.sleep(0.2)
                took = time.monotonic() - t0
                ledger = [e for e in office.ledger("shop") if e.get("kind") == "redeem"]
        finally:
            for label, agent in agents.items():
                stopped[label] = agent.stop()
            for hub in hubs:
                hub.stop()
        report.check(len(got) == n, f"till 2 refused every code redeemed at till 1 ({len(got)} of {n})")
        report.check(
            len(acks) == n and outcomes <= {"accepted"},
            f"the hub accepted every redemption ({len(acks)} of {n}: {sorted(outcomes)})",
        )
        timing(report, "till 1 redeems → till 2 refuses, HO down", got, TARGET_NEIGHBOUR_P95)
        timing(report, "floor: the hub answers till 1", acks)
        say(f"  head office started again: {redeemed:,} of {n:,} redemptions there {took:.1f} s later")
        report.check(redeemed == n, f"head office's batch metrics say redeemed {redeemed:,} of {n:,}")
        by_till = sum(1 for e in ledger if e.get("device_id") == till1_device)
        report.check(
            len(ledger) == n and by_till == n,
            f"head office's ledger: {len(ledger):,} redemptions, {by_till:,} of them under till 1's device (of {n:,})",
        )
        clean_logs(report, agents, hubs, stopped)


def found_id(watch: TillWatch, label: str, code: str) -> str:
    """The voucher id of `code` in a till's replica (what the kiosk journals when it redeems)."""
    till, key = watch.views[label]
    found = till.lookup(code_hash(normalise(code), key))
    if found is None:
        raise RuntimeError(f"{label} does not hold {code}")
    return found.voucher.id


# -- part 3: a lock at head office → every till of every shop refuses -----------------------------


def lock_part(report: Report, args: argparse.Namespace, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    settings = agent_settings(args.agent_setting)
    hub_env = hub_settings(args)
    say(f"  tills: {describe_settings(settings)}; hub settings changed: {hub_env or 'none'}")
    server = bench_server(sqlite_url(work / "central.db"), work, name="central-lock")
    agents: dict[str, AgentProcess] = {}
    hubs: list[HubProcess] = []
    stopped: dict[str, int | None] = {}
    rounds: list[tuple[list[Expect], list[Expect]]] = []  # (locked, accepted again) per lock
    requests: list[float] = []
    with server, HeadOffice(server) as admin:
        batch = admin.batch(10, claimed=1, identifier="Bench hub lock")
        bid, code = batch["id"], batch["codes"][0]
        try:
            t0 = time.monotonic()
            for s in range(args.shops):
                store = f"shop-{s + 1}"
                admin.store(store)
                hubs.append(start_hub(admin, server, work, store, hub_env))
                for t in range(args.tills_per_shop):
                    label = f"{store}-till-{t + 1}"
                    agents[label] = start_till(admin, hubs[-1].url, work, store, label, settings)
            admin.store("direct-shop")
            agents["direct"] = start_till(admin, server.url, work, "direct-shop", "till-direct", settings)
            for agent in agents.values():
                wait_ready(agent, [bid], 1)
            say(
                f"  setup: {len(hubs)} hubs, {len(agents) - 1} tills behind them and one till at head office, "
                f"up and synced in {time.monotonic() - t0:.1f} s"
            )
            time.sleep(1.0)
            watch = TillWatch(agents, args.poll_ms / 1000)
            watch.start()
            pause = schedule(args, "lock")
            say(f"  locking and unlocking batch {bid} {args.locks} times ...")
            try:
                for _ in range(args.locks):
                    time.sleep(pause())
                    t0 = time.monotonic()
                    admin.act(bid, "lock")
                    t1 = time.monotonic()
                    requests.append(t1 - t0)
                    locked = watch.expect(code, Verdict.BATCH_LOCKED, t1)
                    watch.wait(locked, 60)
                    time.sleep(pause())
                    admin.act(bid, "redeemable")
                    again = watch.expect(code, Verdict.ACCEPTED, time.monotonic())
                    watch.wait(again, 60)
                    rounds.append((locked, again))
            finally:
                watch.stop()
        finally:
            for label, agent in agents.items():
                stopped[label] = agent.stop()
            for hub in hubs:
                hub.stop()
        behind = [label for label in agents if label != "direct"]
        every, each, direct, unlocked = [], [], [], []
        missed = 0
        for locked, again in rounds:
            mine = [e for e in locked if e.label in behind]
            missed += sum(1 for e in mine if e.latency is None)
            if all(e.latency is not None for e in mine):
                every.append(max(e.latency for e in mine if e.latency is not None))
            each += [e.latency for e in mine if e.latency is not None]
            direct += [e.latency for e in locked if e.label == "direct" and e.latency is not None]
            back = [e.latency for e in again if e.label in behind]
            if all(x is not None for x in back):
                unlocked.append(max(x for x in back if x is not None))
        report.check(
            missed == 0 and len(rounds) == args.locks,
            f"every till behind a hub refused the locked code every time ({len(rounds)} locks, {missed} misses)",
        )
        timing(
            report,
            f"lock → all {len(behind)} tills of {len(hubs)} shops refuse",
            every,
            TARGET_LOCK_P95,
        )
        timing(report, "lock → one till behind a hub refuses", each)
        timing(report, "floor: lock → till at head office refuses", direct)
        timing(report, "floor: the lock request itself", requests)
        timing(report, "unlock → every till accepts again", unlocked)
        clean_logs(report, agents, hubs, stopped)
        errors = server.errors_in_log()
        report.check(not errors, f"no server errors logged ({len(errors)})")
