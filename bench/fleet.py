"""fleet: 1,000 tills at two server processes on one PostgreSQL, for ten minutes (issue 16.4).

PostgreSQL with fsync on (a private server from tests/support/postgres.py, `durable=True`), two
`voucher-central serve` processes on it (harness.ServerProcess, started together), and in this
process one asyncio event loop playing every till over loopback with httpx. Each simulated till
is a real device enrolled through the API, 16 at a time (an enrolment code made with the staff
token, POST /stores/{id}/enrolment-codes, then POST /devices/enrol at the process the till talks
to), and does what the sync agent does, with the agent's defaults:

* pulls: GET /sync/snapshot?cursor=C&wait=25&limit=20000 one after another (the live snapshot:
  the server holds the request until something changes), from the head of a fleet already
  synced (every till starts at the cursor a complete pull ends at);
* pushes: one redeem event a request, every `--push-every` seconds on average (each pause
  uniformly at random between half and one and a half times it), of vouchers claimed for it
  (each till its own share of one batch, claimed in the database by one UPDATE), so each is
  accepted; a share of them (`--conflicts`) redeems a voucher another till redeemed already
  (answered `conflict`), and a share (`--duplicates`) sends the previous request again with the
  same event ids, as after an answer lost on the way (answered `duplicate`). A push that fails
  (network error, timeout, 429, 5xx) is sent again with backoff until it is answered, as the agent
  does; every failed attempt is counted by its class;
* heartbeats: POST /sync/heartbeat every `--heartbeat-every` seconds.

The tills of a store share a client address, as a shop behind one router does: each store's
tills connect from their own loopback address (127.0.x.y; the server listens on 127.0.0.1), so the
per-address rate limit of the sync API counts per store, at its default; the tills are split
between the two processes. Tills start spread over `--ramp` seconds.

Measured: each push's acknowledgement latency (from its first attempt to the answer carrying its
result); the wake-up latency of the pulls (from a redemption's acknowledgement at the till that
pushed it to each till's pull answering with that voucher used; a pull that answers before the
pusher heard its own answer counts 0); errors by route and class; both server processes' resident
memory (VmRSS) and CPU sampled every `--sample-seconds`, PostgreSQL's CPU, and this process's own
CPU and event-loop lag (when the load generator itself is the bottleneck, the latencies say so).

The floor, in the same run before the fleet starts: both processes' RSS and CPU idle; then one
till pushes `--floor-pushes` redemptions one at a time (100 ms apart) to the first process with
nothing else running while one other till waits at the second process: the same acknowledgement
and wake-up latencies, unloaded.

Checked at the end, in the database: every event a till pushed is in the ledger exactly once, with
the outcome the till was told; no push was left unanswered; every till's pull was woken by a change
and caught up with the last redemption; the batch's `redeemed` equals the pushes accepted; no
error in either server's log.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import resource
import ssl
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text

from bench.common import (
    ROOT,
    Report,
    WorkDir,
    bench_server,
    cpu_seconds,
    proc_status,
    say,
    start_together,
)
from bench.writers import _claim_in_database
from harness import HeadOffice, ServerProcess
from sync.settings import AgentSettings

NAME = "fleet"
PAGE_LIMIT = 20_000  # the agent's page_limit
WAIT_GAP = AgentSettings.model_fields["live_wait_gap_seconds"].default
ENROL_CONCURRENCY = 16
FLOOR_GAP = 0.1  # seconds between two of the floor's pushes


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tills", type=int, default=1000, help="simulated tills (default 1,000)")
    p.add_argument(
        "--stores", type=int, default=0, help="stores the tills belong to (default: one per 10 tills)"
    )
    p.add_argument("--processes", type=int, default=2, help="server processes on the database (default 2)")
    p.add_argument("--minutes", type=float, default=10, help="length of the fleet's run (default 10)")
    p.add_argument("--seconds", type=float, help="length of the run in seconds (instead of --minutes)")
    p.add_argument(
        "--push-every", type=float, default=5, help="mean seconds between a till's redemptions (default 5)"
    )
    p.add_argument(
        "--heartbeat-every", type=float, default=30, help="seconds between heartbeats (default 30)"
    )
    p.add_argument("--wait", type=float, default=25, help="the pulls' wait= (default 25, the agent's)")
    p.add_argument(
        "--wait-gap",
        type=float,
        default=WAIT_GAP,
        help="shortest time in seconds between two of a till's waiting pulls (default "
        f"{WAIT_GAP:g}, the agent's live_wait_gap_seconds)",
    )
    p.add_argument(
        "--conflicts", type=float, default=0.02, help="share of pushes that redeem a used voucher (0.02)"
    )
    p.add_argument(
        "--duplicates", type=float, default=0.02, help="share of pushes sent again, same ids (0.02)"
    )
    p.add_argument(
        "--timeout", type=float, default=30, help="a request's timeout (default 30 s, the agent's)"
    )
    p.add_argument(
        "--keepalive",
        type=float,
        default=4,
        help="seconds a till keeps an idle connection (default 4: below uvicorn's 5 s keep-alive)",
    )
    p.add_argument(
        "--ramp", type=float, help="seconds over which the tills start (default: a 20th of the run)"
    )
    p.add_argument(
        "--floor-pushes", type=int, default=100, help="pushes of the floor, one till alone (default 100)"
    )
    p.add_argument(
        "--sample-seconds",
        type=float,
        help="RSS and CPU sampled this often (default 5 s, or a 20th of a shorter run, at least 1 s)",
    )
    p.add_argument("--seed", type=int, default=16, help="seed of the tills' choices (default 16)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs)")


# -- what is measured -------------------------------------------------------------------------


class Histogram:
    """Latencies in 1 ms buckets up to 120 s (later ones in the last bucket), with count and max."""

    SPAN_MS = 120_000

    def __init__(self) -> None:
        self.buckets = [0] * (self.SPAN_MS + 1)
        self.count = 0
        self.max = 0.0
        self.total = 0.0

    def add(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.buckets[min(self.SPAN_MS, int(seconds * 1000))] += 1
        self.count += 1
        self.total += seconds
        self.max = max(self.max, seconds)

    def percentile(self, p: float) -> float:
        """Nearest rank, in seconds (the bucket's upper edge); nan when empty."""
        if not self.count:
            return float("nan")
        rank = max(1, math.ceil(p / 100 * self.count))
        seen = 0
        for ms, n in enumerate(self.buckets):
            seen += n
            if seen >= rank:
                return min(self.max, (ms + 1) / 1000)
        return self.max

    def add_since(self, now: float, starts: list[float]) -> None:
        """add(now - t) for every t in starts, in one loop (a fleet's pulls hold thousands a second)."""
        buckets, top = self.buckets, self.SPAN_MS
        for t in starts:
            ms = int((now - t) * 1000)
            buckets[top if ms > top else max(ms, 0)] += 1
        if starts:
            self.count += len(starts)
            self.total += sum(max(0.0, now - t) for t in starts)
            self.max = max(self.max, now - min(starts))

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")


@dataclass
class Till:
    index: int
    store: str
    address: str  # the store's loopback address its connections come from
    url: str  # the server process it talks to
    token: str
    vouchers: list[str]  # its share: claimed, not redeemed
    cursor: int = 0
    seq: int = 0
    pages: int = 0
    woken: int = 0  # pull answers holding a redemption
    pushed: int = 0
    last_body: bytes | None = None
    last_ids: list[str] = field(default_factory=list)
    last_pull_at: str | None = None
    last_push_at: str | None = None


@dataclass
class Plan:
    """What the fleet does: sizes and rates (bench's options, or a test's)."""

    tills: int = 1000
    stores: int = 0
    seconds: float = 600
    push_every: float = 5
    heartbeat_every: float = 30
    wait: float = 25
    wait_gap: float = WAIT_GAP
    conflicts: float = 0.02
    duplicates: float = 0.02
    timeout: float = 30
    keepalive: float = 4
    ramp: float | None = None
    sample_seconds: float = 5
    progress_seconds: float = 30
    seed: int = 16

    @property
    def store_count(self) -> int:
        return self.stores or max(1, math.ceil(self.tills / 10))

    @property
    def ramp_seconds(self) -> float:
        return self.seconds / 20 if self.ramp is None else self.ramp

    @property
    def vouchers_per_till(self) -> int:
        """Enough for every push of one till with room for chance (pauses are random)."""
        return math.ceil(1.6 * self.seconds / self.push_every) + 4


@dataclass
class Sim:
    """Everything the fleet saw (one event loop: no locks)."""

    ack: Histogram = field(default_factory=Histogram)  # push: first attempt → answer
    wake: Histogram = field(default_factory=Histogram)  # redemption acknowledged → a till's pull holds it
    lag: Histogram = field(default_factory=Histogram)  # this process's event loop, late by
    # voucher id → when its redemption was acknowledged
    ack_at: dict[str, float] = field(default_factory=dict)
    redeemed: list[tuple[str, int]] = field(default_factory=list)  # (voucher id, till index), accepted
    told: dict[str, str] = field(default_factory=dict)  # event id → the outcome the till was told first
    # results of answered pushes: accepted, conflict, duplicate
    outcomes: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # (route, class) → failed attempts
    unexpected: list[str] = field(default_factory=list)
    unanswered: int = 0  # pushes given up on (the run ended first)
    pushes: int = 0
    retried_pushes: int = 0
    heartbeats: int = 0
    pulls: int = 0
    changes_seen: int = 0
    before_ack: int = 0  # a pull held a redemption before its pusher had the answer
    samples: list[dict] = field(default_factory=list)
    stopping: bool = False  # no new push or heartbeat
    halt: asyncio.Event | None = None  # set with stopping: the pauses end

    def stop(self) -> None:
        self.stopping = True
        if self.halt is not None:
            self.halt.set()

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds`, or until the run stops."""
        if self.halt is None:
            self.halt = asyncio.Event()
        if not self.stopping:
            try:
                await asyncio.wait_for(self.halt.wait(), seconds)
            except TimeoutError:
                pass


# -- one till's loops ---------------------------------------------------------------------------


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def error_class(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return "connect failed"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return f"connection cut ({type(exc).__name__})"
    return type(exc).__name__


async def send(
    http: httpx.AsyncClient,
    sim: Sim,
    route: str,
    method: str,
    path: str,
    give_up: float,
    **kw: Any,
) -> tuple[httpx.Response | None, int]:
    """A request sent until it is answered 200 (with backoff, Retry-After honoured) or `give_up`
    (monotonic) passes; every failed attempt counted by class. (None when given up, failed attempts)."""
    attempt = 0
    while True:
        try:
            response = await http.request(method, path, **kw)
        except httpx.TransportError as exc:
            sim.errors[(route, error_class(exc))] += 1
            retry_after = None
        else:
            if response.status_code == 200:
                return response, attempt
            sim.errors[(route, f"HTTP {response.status_code}")] += 1
            if response.status_code != 429 and response.status_code < 500:
                sim.unexpected.append(f"{route}: {response.status_code} {response.text[:200]}")
                return None, attempt + 1
            retry_after = response.headers.get("Retry-After")
        delay = float(retry_after) if retry_after else min(5.0, 0.5 * 2**attempt) * random.uniform(0.8, 1.2)
        attempt += 1
        if time.monotonic() + delay > give_up:
            return None, attempt
        await asyncio.sleep(delay)


async def pull_loop(till: Till, http: httpx.AsyncClient, sim: Sim, plan: Plan) -> None:
    """GET the page after the till's cursor with wait, one after another, until cancelled."""
    timeout = httpx.Timeout(plan.timeout, read=plan.wait + plan.timeout)
    asked = -math.inf
    while True:
        gap = asked + plan.wait_gap - time.monotonic()
        if gap > 0:  # as the agent does (sync/pages.py): one waiting pull a gap at most
            await asyncio.sleep(gap)
        asked = time.monotonic()
        response, _ = await send(
            http,
            sim,
            "pull",
            "GET",
            "/sync/snapshot",
            math.inf,
            params={"cursor": till.cursor, "wait": plan.wait, "limit": PAGE_LIMIT},
            timeout=timeout,
        )
        if response is None:  # refused for good (a 4xx: counted and said by send)
            return
        seen = time.monotonic()
        page = orjson.loads(response.content)
        sim.pulls += 1
        till.pages += 1
        till.last_pull_at = _now_iso()
        if page["next_cursor"] < till.cursor:
            sim.unexpected.append(f"till {till.index}: the cursor went back from {till.cursor}")
        till.cursor = page["next_cursor"]
        used = [v["id"] for v in page["vouchers"] if v["status"] == "used"]
        if used:
            till.woken += 1
            sim.changes_seen += len(used)
            ack_at = sim.ack_at
            # a voucher seen before its pusher had the answer counts 0 (its pusher is about to hear)
            starts = [ack_at.get(vid, seen) for vid in used]
            sim.before_ack += sum(1 for vid in used if vid not in ack_at)
            sim.wake.add_since(seen, starts)


def _event(till: Till, voucher_id: str) -> dict:
    till.seq += 1
    return {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": voucher_id,
        "at": _now_iso(),
        "device_seq": till.seq,
        "cashier": "fleet",
    }


async def push_once(
    till: Till, http: httpx.AsyncClient, sim: Sim, plan: Plan, rng: random.Random, give_up: float
) -> None:
    """One push: a fresh redemption, a conflict or a repeat of the last request; its outcome checked."""
    r = rng.random()
    if r < plan.duplicates and till.last_body is not None:
        body, ids, expect = till.last_body, till.last_ids, "duplicate"
    else:
        expect = "accepted"
        voucher = None
        if r < plan.duplicates + plan.conflicts and sim.redeemed:
            voucher, owner = sim.redeemed[rng.randrange(len(sim.redeemed))]
            if owner == till.index:
                voucher = None
            else:
                expect = "conflict"
        if voucher is None:
            if not till.vouchers:
                sim.unexpected.append(f"till {till.index}: no voucher of its own left to redeem")
                return
            voucher = till.vouchers.pop()
        event = _event(till, voucher)
        body, ids = orjson.dumps({"events": [event]}), [event["id"]]
    t0 = time.monotonic()
    response, failed = await send(
        http,
        sim,
        "push",
        "POST",
        "/sync/events",
        give_up,
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=plan.timeout,
    )
    if response is None:
        sim.unanswered += 1
        return
    answered = time.monotonic()
    sim.ack.add(answered - t0)
    sim.pushes += 1
    till.pushed += 1
    till.last_push_at = _now_iso()
    retried = failed > 0
    sim.retried_pushes += retried
    till.last_body, till.last_ids = body, ids
    for event_id, result in zip(ids, orjson.loads(response.content)["results"], strict=True):
        outcome = result["outcome"]
        sim.outcomes[outcome] += 1
        first = result["first"]["outcome"] if outcome == "duplicate" else outcome
        if expect == "duplicate" or (retried and outcome == "duplicate"):
            # the same ids again (or a retry whose first attempt reached the server): its first answer
            known = sim.told.get(event_id)
            if known is not None and known != first:
                sim.unexpected.append(f"event {event_id}: first {known}, now duplicate of {first}")
            if expect == "duplicate" and outcome != "duplicate":
                sim.unexpected.append(f"event {event_id} sent again: {outcome}, not duplicate")
        elif outcome != expect:
            sim.unexpected.append(f"event {event_id}: {outcome} ({result.get('reason')}), not {expect}")
        if event_id not in sim.told:
            sim.told[event_id] = first
            if first == "accepted":
                vid = orjson.loads(body)["events"][0]["voucher_id"]
                sim.ack_at.setdefault(vid, answered)
                sim.redeemed.append((vid, till.index))


async def push_loop(
    till: Till, http: httpx.AsyncClient, sim: Sim, plan: Plan, rng: random.Random, end: float
) -> None:
    await sim.pause(rng.uniform(0, plan.push_every))
    while not sim.stopping and time.monotonic() < end:
        await push_once(till, http, sim, plan, rng, end + plan.timeout * 2)
        await sim.pause(plan.push_every * rng.uniform(0.5, 1.5))


async def heartbeat_loop(
    till: Till, http: httpx.AsyncClient, sim: Sim, plan: Plan, rng: random.Random, end: float
) -> None:
    await sim.pause(rng.uniform(0, plan.heartbeat_every))
    while not sim.stopping and time.monotonic() < end:
        body = {
            "version": "fleet-simulation",
            "pending": 0,
            "last_pull_at": till.last_pull_at,
            "last_push_at": till.last_push_at,
            "snapshot_cursor": till.cursor,
            "device_time": _now_iso(),
        }
        answered, _ = await send(
            http, sim, "heartbeat", "POST", "/sync/heartbeat", end + plan.timeout, json=body
        )
        if answered is not None:
            sim.heartbeats += 1
        await sim.pause(plan.heartbeat_every)


# -- the fleet --------------------------------------------------------------------------------


def raise_fd_limit(needed: int) -> str:
    """The soft limit of open files raised to `needed` (at most the hard limit); in words. The
    server processes started after this inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return f"open files: soft limit {soft}, hard {hard}: enough for {needed:,}"
    new = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    enough = "" if new >= needed else f" (fewer than the {needed:,} wanted: the hard limit)"
    return f"open files: soft limit raised from {soft} to {new}{enough}"


def store_address(store: int) -> str:
    """A loopback address of its own for each store (127.0.0.1 is the server's and head office's)."""
    return f"127.0.{1 + store // 250}.{2 + store % 250}"


def _client(base_url: str, token: str, address: str, plan: Plan, tls: ssl.SSLContext) -> httpx.AsyncClient:
    """One till's client: two connections (a pull may wait while a push goes), from its store's address."""
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2, keepalive_expiry=plan.keepalive)
    return httpx.AsyncClient(
        base_url=f"{base_url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=plan.timeout,
        transport=httpx.AsyncHTTPTransport(local_address=address, limits=limits, verify=tls),
    )


async def enrol_all(admin_url: str, staff_token: str, places: list[tuple[str, str]]) -> list[str]:
    """A device enrolled for each (store, server URL), at the process its till will talk to,
    ENROL_CONCURRENCY at a time; their tokens."""
    gate = asyncio.Semaphore(ENROL_CONCURRENCY)
    headers = {"Authorization": f"Bearer {staff_token}"}
    limits = httpx.Limits(max_connections=ENROL_CONCURRENCY)
    async with (
        httpx.AsyncClient(
            base_url=f"{admin_url}/api/v1", headers=headers, timeout=60, limits=limits
        ) as admin,
        httpx.AsyncClient(timeout=60, limits=limits) as anonymous,
    ):

        async def one(i: int) -> str:
            store, url = places[i]
            async with gate:
                r = await admin.post(f"/stores/{store}/enrolment-codes")
                r.raise_for_status()
                r = await anonymous.post(
                    f"{url}/api/v1/devices/enrol",
                    json={"enrolment_code": r.json()["code"], "device_name": f"fleet-till-{i}"},
                )
                r.raise_for_status()
                token: str = r.json()["token"]
                return token

        return list(await asyncio.gather(*(one(i) for i in range(len(places)))))


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its children that ended (counted when it reaped them) and its
    live children: PostgreSQL's postmaster and its backends."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    total = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += cpu_seconds(int(entry.name))
    return total


async def healthz_waiting(probe: httpx.AsyncClient, url: str) -> int:
    try:
        return int((await probe.get(f"{url}/healthz")).json().get("waiting", -1))
    except (httpx.HTTPError, ValueError):
        return -1


async def sampler(
    sim: Sim, servers: list[ServerProcess], t0: float, plan: Plan, tills: list[Till], pg_pid: int | None
) -> None:
    """Every sample_seconds: each server's RSS and CPU, PostgreSQL's CPU, this process's, the
    requests waiting in each process; a progress line every progress_seconds."""
    last_print = t0
    async with httpx.AsyncClient(timeout=10) as probe:
        while True:
            now = time.monotonic()
            sample: dict[str, Any] = {
                "t": now - t0,
                "rss": [proc_status(s.pid).get("VmRSS", 0) for s in servers],
                "cpu": [cpu_seconds(s.pid) for s in servers],
                "pg_cpu": tree_cpu(pg_pid) if pg_pid else float("nan"),
                "own_cpu": time.process_time(),
                "own_rss": proc_status(os.getpid()).get("VmRSS", 0),
                "waiting": [await healthz_waiting(probe, s.url) for s in servers],
                "pushes": sim.pushes,
                "pulls": sim.pulls,
            }
            sim.samples.append(sample)
            if now - last_print >= plan.progress_seconds:
                last_print = now
                errors = sum(sim.errors.values())
                say(
                    f"  {sample['t']:6.0f} s: {sim.pushes:,} pushes acknowledged (p95 "
                    f"{1000 * sim.ack.percentile(95):,.0f} ms), {sim.pulls:,} pulls (wake p95 "
                    f"{1000 * sim.wake.percentile(95):,.0f} ms), {errors} errors; RSS "
                    + " + ".join(f"{r / 1e6:.0f}" for r in sample["rss"])
                    + f" MB; waiting {'+'.join(map(str, sample['waiting']))}; loop lag p99 "
                    f"{1000 * sim.lag.percentile(99):,.0f} ms"
                )
            await asyncio.sleep(plan.sample_seconds)


async def loop_lag(sim: Sim) -> None:
    """How late this process's event loop wakes a 50 ms sleep: the load generator's own lag."""
    while True:
        t = time.monotonic()
        await asyncio.sleep(0.05)
        sim.lag.add(time.monotonic() - t - 0.05)


async def final_head(url: str, token: str, sim: Sim | None = None) -> int:
    """The head now: where a complete pull ends (the `head` of a one-row page), asked until answered."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"{url}/api/v1", headers=headers, timeout=60) as http:
        answer, _ = await send(
            http,
            sim or Sim(),
            "head",
            "GET",
            "/sync/snapshot",
            time.monotonic() + 300,
            params={"cursor": 0, "limit": 1},
        )
    if answer is None:
        raise RuntimeError(f"{url} did not say its head within 5 minutes")
    head: int = answer.json()["head"]
    return head


async def run_fleet(
    tills: list[Till], servers: list[ServerProcess], plan: Plan, pg_pid: int | None = None
) -> tuple[Sim, dict]:
    """The fleet for plan.seconds, then until every push is answered and every till caught up."""
    sim = Sim(halt=asyncio.Event())
    tls = ssl.create_default_context()  # one for all (http:// needs none, but each client would load one)
    clients = [_client(t.url, t.token, t.address, plan, tls) for t in tills]
    rng = random.Random(plan.seed)
    rngs = [random.Random(rng.random()) for _ in tills]
    t0 = time.monotonic()
    end = t0 + plan.seconds
    out: dict = {}
    background = [
        asyncio.create_task(loop_lag(sim)),
        asyncio.create_task(sampler(sim, servers, t0, plan, tills, pg_pid)),
    ]
    pulls: list[asyncio.Task] = []
    workers: list[asyncio.Task] = []

    async def start(i: int) -> None:
        await asyncio.sleep(plan.ramp_seconds * i / max(1, len(tills)))
        till, http = tills[i], clients[i]
        pulls.append(asyncio.create_task(pull_loop(till, http, sim, plan)))
        workers.append(asyncio.create_task(push_loop(till, http, sim, plan, rngs[i], end)))
        workers.append(asyncio.create_task(heartbeat_loop(till, http, sim, plan, rngs[i], end)))

    try:
        await asyncio.gather(*(start(i) for i in range(len(tills))))
        out["ramped"] = time.monotonic() - t0
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        sim.stop()
        out["end"] = time.monotonic() - t0
        await asyncio.gather(*workers)  # the pushes under way answered (or given up at their deadline)
        out["pushes_done"] = time.monotonic() - t0
        head = await final_head(servers[0].url, tills[0].token, sim)
        out["final_head"] = head
        deadline = time.monotonic() + plan.wait + plan.timeout
        while time.monotonic() < deadline and any(t.cursor < head for t in tills):
            await asyncio.sleep(0.05)
        out["behind"] = sum(t.cursor < head for t in tills)
        out["not_woken"] = sum(t.woken == 0 for t in tills)
        out["fewest_woken"] = min((t.woken for t in tills), default=0)
        out["caught_up"] = time.monotonic() - t0
    finally:
        for task in pulls + workers + background:
            task.cancel()
        await asyncio.gather(*pulls, *workers, *background, return_exceptions=True)
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
    return sim, out


async def run_floor(pusher: Till, watcher: Till, pushes: int, plan: Plan) -> Sim:
    """One till pushes `pushes` redemptions one at a time, nothing else running but one till
    waiting for changes (at another process, if there is one)."""
    sim = Sim()
    tls = ssl.create_default_context()
    push_http = _client(pusher.url, pusher.token, pusher.address, plan, tls)
    pull_http = _client(watcher.url, watcher.token, watcher.address, plan, tls)
    quiet = Plan(**{**plan.__dict__, "conflicts": 0.0, "duplicates": 0.0})
    rng = random.Random(plan.seed)
    pull = asyncio.create_task(pull_loop(watcher, pull_http, sim, quiet))
    try:
        await asyncio.sleep(0.5)  # the watcher waits
        for _ in range(pushes):
            await push_once(pusher, push_http, sim, quiet, rng, time.monotonic() + 60)
            await asyncio.sleep(FLOOR_GAP)
        deadline = time.monotonic() + plan.wait + plan.timeout
        while sim.changes_seen + sim.before_ack < sim.pushes and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        pull.cancel()
        await asyncio.gather(pull, return_exceptions=True)
        await push_http.aclose()
        await pull_http.aclose()
    return sim


# -- setting it up, and what the database says afterwards ------------------------------------------


@dataclass
class Setup:
    batch_id: str
    tills: list[Till]
    floor: tuple[Till, Till] | None
    head: int
    timings: dict[str, float]


def prepare(
    admin: HeadOffice, servers: list[ServerProcess], url: str, plan: Plan, floor_pushes: int = 0
) -> Setup:
    """A redeemable batch with a claimed share of vouchers for every till, the stores, the tills
    enrolled (and two more for the floor when floor_pushes); every till at the head."""
    timings = {}
    n = plan.tills
    per_till = plan.vouchers_per_till
    total = n * per_till + floor_pushes
    t0 = time.monotonic()
    batch = admin.generated_batch(total, "Bench fleet")
    admin.act(batch["id"], "distribute", "redeemable")
    claimed = _claim_in_database(url, batch["id"])
    ids = admin.voucher_ids(batch["id"], claimed="true")
    if claimed != total or len(ids) != total:
        raise RuntimeError(f"{claimed:,} vouchers claimed and {len(ids):,} listed, not {total:,}")
    timings["vouchers"] = time.monotonic() - t0
    t0 = time.monotonic()
    stores = [f"fleet-{s}" for s in range(plan.store_count)]
    for store in stores:
        admin.store(store)
    urls = [s.url for s in servers]
    # till i at store i mod S, and the tills of a store in turn at each process
    places = [(i % len(stores), urls[(i // len(stores)) % len(urls)]) for i in range(n)]
    if floor_pushes:  # the floor's two tills: the first store's at the first process, the last's at the last
        places += [(0, urls[0]), (len(stores) - 1, urls[-1])]
    tokens = asyncio.run(enrol_all(admin.base_url, admin.token or "", [(stores[s], u) for s, u in places]))
    timings["enrol"] = time.monotonic() - t0
    tills = [
        Till(i, stores[s], store_address(s), url, tokens[i], ids[i * per_till : (i + 1) * per_till])
        for i, (s, url) in enumerate(places[:n])
    ]
    floor = None
    if floor_pushes:
        (s0, u0), (s1, u1) = places[n:]
        pusher = Till(n, stores[s0], store_address(s0), u0, tokens[n], ids[n * per_till :])
        watcher = Till(n + 1, stores[s1], store_address(s1), u1, tokens[n + 1], [])
        floor = (pusher, watcher)
    return Setup(batch["id"], tills, floor, 0, timings)


def start_at_head(setup: Setup) -> int:
    """Every till starts where a complete pull ends now (a fleet already synced)."""
    head = asyncio.run(final_head(setup.tills[0].url, setup.tills[0].token))
    for till in setup.tills:
        till.cursor = head
    if setup.floor:
        setup.floor[1].cursor = head
    setup.head = head
    return head


def ledger(url: str) -> dict[str, str]:
    """Every redeem event in the database's ledger: id → outcome."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT id, outcome FROM events WHERE kind = 'redeem'")).all())
    finally:
        engine.dispose()


def compare_ledger(told: dict[str, str], recorded: dict[str, str]) -> list[str]:
    """What differs between the outcomes the tills were told and the ledger, in words (empty: none)."""
    problems = []
    missing = [i for i in told if i not in recorded]
    extra = [i for i in recorded if i not in told]
    differ = [i for i in told if i in recorded and recorded[i] != told[i]]
    if missing:
        problems.append(f"{len(missing):,} events acknowledged but not in the ledger, e.g. {missing[0]}")
    if extra:
        problems.append(f"{len(extra):,} events in the ledger no till pushed, e.g. {extra[0]}")
    if differ:
        i = differ[0]
        problems.append(
            f"{len(differ):,} events told one outcome, recorded another, e.g. {i}: {told[i]} / {recorded[i]}"
        )
    return problems


def postmaster_pid(pg: Any) -> int | None:
    try:
        return int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# -- the benchmark --------------------------------------------------------------------------------


def _ms(report: Report, name: str, seconds: float) -> None:
    report.figure(name, 1000 * seconds, "ms", fmt="{:,.0f}")


def _latencies(report: Report, label: str, h: Histogram) -> None:
    for p in (50, 95, 99):
        _ms(report, f"{label} p{p}", h.percentile(p))
    _ms(report, f"{label} max", h.max)


def _loadavg() -> str:
    try:
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load average unknown"


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    plan_seconds = args.seconds if args.seconds is not None else 60 * args.minutes
    plan = Plan(
        tills=args.tills,
        stores=args.stores,
        seconds=plan_seconds,
        push_every=args.push_every,
        heartbeat_every=args.heartbeat_every,
        wait=args.wait,
        wait_gap=args.wait_gap,
        conflicts=args.conflicts,
        duplicates=args.duplicates,
        timeout=args.timeout,
        keepalive=args.keepalive,
        ramp=args.ramp,
        sample_seconds=args.sample_seconds or min(5.0, max(1.0, plan_seconds / 20)),
        progress_seconds=30 if args.seconds is None or args.seconds > 120 else 5,
        seed=args.seed,
    )
    say(f"  {raise_fd_limit(2 * plan.tills + 500)} (this process and the servers it starts)")
    say(f"  {_loadavg()} at the start")
    sys.path.insert(0, str(ROOT / "tests"))
    from support.postgres import PostgresServer

    with WorkDir(NAME, keep=args.keep) as work:
        pg = PostgresServer(durable=True).start()
        try:
            say(f"  PostgreSQL {pg.bin_dir.parent.name} on 127.0.0.1:{pg.port}, fsync on")
            url = pg.create_database("bench_fleet")
            servers = start_together(
                [bench_server(url, work, name=f"central-{i + 1}") for i in range(args.processes)]
            )
            try:
                _bench(report, plan, args, servers, url, postmaster_pid(pg))
            finally:
                for s in servers:
                    s.stop()
        finally:
            pg.stop()
    say(f"  {_loadavg()} at the end")
    return report


def _bench(
    report: Report,
    plan: Plan,
    args: argparse.Namespace,
    servers: list[ServerProcess],
    url: str,
    pg_pid: int | None,
) -> None:
    with HeadOffice(servers[0]) as admin:
        say(
            f"  setup: {plan.tills:,} tills at {plan.store_count:,} stores, {len(servers)} server processes; "
            f"{plan.vouchers_per_till:,} claimed vouchers per till ..."
        )
        setup = prepare(admin, servers, url, plan, args.floor_pushes)
        say(
            f"  setup: vouchers generated, redeemable and claimed in {setup.timings['vouchers']:.1f} s; "
            f"{plan.tills + 2:,} devices enrolled through the API in {setup.timings['enrol']:.1f} s"
        )
        time.sleep(2.0)  # settled
        rss_idle = [proc_status(s.pid).get("VmRSS", 0) for s in servers]
        cpu0, w0 = [cpu_seconds(s.pid) for s in servers], time.monotonic()
        time.sleep(5.0)
        cpu_idle = [
            (cpu_seconds(s.pid) - c) / (time.monotonic() - w0) for s, c in zip(servers, cpu0, strict=True)
        ]

        floor = Sim()
        if setup.floor is not None:
            start_at_head(setup)
            floor = asyncio.run(run_floor(*setup.floor, args.floor_pushes, plan))
            report.check(
                floor.pushes == args.floor_pushes and not floor.errors and not floor.unexpected,
                f"floor: {floor.pushes} of {args.floor_pushes} pushes acknowledged, errors "
                f"{dict(floor.errors) or 'none'}" + (f"; {floor.unexpected[0]}" if floor.unexpected else ""),
            )

        head = start_at_head(setup)
        say(
            f"  the fleet starts at the head, cursor {head:,}, over {plan.ramp_seconds:.0f} s; runs "
            f"{plan.seconds:,.0f} s; a push every {plan.push_every:g} s on average per till, a heartbeat "
            f"every {plan.heartbeat_every:g} s, pulls with wait={plan.wait:g}"
            f", at most one every {plan.wait_gap:g} s"
            " ..."
        )
        own0 = time.process_time()
        sim, out = asyncio.run(run_fleet(setup.tills, servers, plan, pg_pid))
        own_cpu = time.process_time() - own0
        nan = float("nan")
        say(
            f"  the run: every till started by {out.get('ramped', nan):.1f} s, ended at "
            f"{out.get('end', nan):.0f} s, "
            f"last push answered at {out.get('pushes_done', nan):.1f} s, tills caught up at "
            f"{out.get('caught_up', nan):.1f} s"
        )
        recorded = ledger(url)
        redeemed = admin.get(setup.batch_id)["metrics"]["redeemed"]

    told = {**floor.told, **sim.told}
    _report_checks(report, plan, sim, out, told, recorded, redeemed, servers)
    _report_figures(report, plan, sim, floor, out, rss_idle, cpu_idle, own_cpu, len(servers))


def _report_checks(
    report: Report,
    plan: Plan,
    sim: Sim,
    out: dict,
    told: dict[str, str],
    recorded: dict[str, str],
    redeemed: int,
    servers: list[ServerProcess],
) -> None:
    errors = sum(sim.errors.values())
    report.check(errors == 0, f"no failed request ({errors}: {dict(sim.errors) or 'none'})")
    report.check(sim.unanswered == 0, f"every push answered ({sim.unanswered} given up)")
    report.check(
        not sim.unexpected,
        f"every answer as expected ({len(sim.unexpected)} not"
        + (f", e.g. {sim.unexpected[0]}" if sim.unexpected else "")
        + ")",
    )
    problems = compare_ledger(told, recorded)
    report.check(
        not problems,
        "every pushed event in the ledger exactly once with the outcome its till was told "
        f"({len(told):,} events" + (f"; {'; '.join(problems)}" if problems else "") + ")",
    )
    accepted = sum(1 for o in told.values() if o == "accepted")
    report.check(redeemed == accepted, f"the batch says {redeemed:,} redeemed; {accepted:,} pushes accepted")
    report.check(
        out.get("not_woken", 1) == 0,
        f"every till's pull woken by a redemption ({out.get('not_woken')} never; fewest answers with one: "
        f"{out.get('fewest_woken')})",
    )
    report.check(
        out.get("behind", 1) == 0,
        f"every till caught up with the last redemption ({out.get('behind')} behind)",
    )
    for s in servers:
        logged = s.errors_in_log()
        report.check(
            not logged,
            f"no errors in {s.name}'s log ({len(logged)})" + (f": {logged[0][:200]}" if logged else ""),
        )


def _report_figures(
    report: Report,
    plan: Plan,
    sim: Sim,
    floor: Sim,
    out: dict,
    rss_idle: list[int],
    cpu_idle: list[float],
    own_cpu: float,
    processes: int,
) -> None:
    span = out.get("end", plan.seconds)
    say(
        f"  pushes: {sim.pushes:,} answered ({sim.pushes / span:,.1f}/s), outcomes {dict(sim.outcomes)}, "
        f"{sim.retried_pushes} after a retry; heartbeats {sim.heartbeats:,}; pulls answered {sim.pulls:,} "
        f"({sim.pulls / span:,.1f}/s), {sim.changes_seen:,} redemptions seen by tills "
        f"({sim.before_ack:,} before their pusher had its answer)"
    )
    for (route, kind), count in sorted(sim.errors.items()):
        say(f"  errors: {route}: {kind}: {count:,}")
    _latencies(report, f"push acknowledged, {plan.tills:,} tills,", sim.ack)
    _latencies(report, "floor: push acknowledged, one till alone,", floor.ack)
    _latencies(report, "pull woken: redemption → every till has it,", sim.wake)
    for p in (50, 95):
        _ms(report, f"floor: pull woken, one till waiting, p{p}", floor.wake.percentile(p))
    report.figure("pushes acknowledged per second", sim.pushes / span, "/s", fmt="{:,.1f}")
    report.figure("failed requests (all classes)", sum(sim.errors.values()), "", fmt="{:,.0f}")

    samples = [s for s in sim.samples if s["t"] <= span]
    if len(samples) >= 2:
        settled = [s for s in samples if s["t"] >= out.get("ramped", 0) + 10] or samples[-1:]
        first, last = settled[0], samples[-1]
        for i in range(processes):
            name = f"central-{i + 1}"
            report.figure(f"{name} RSS idle (floor)", rss_idle[i] / 1e6, "MB", fmt="{:,.1f}")
            report.figure(
                f"{name} RSS, fleet started (t={first['t']:.0f} s)",
                first["rss"][i] / 1e6,
                "MB",
                fmt="{:,.1f}",
            )
            report.figure(
                f"{name} RSS at the end (t={last['t']:.0f} s)", last["rss"][i] / 1e6, "MB", fmt="{:,.1f}"
            )
            report.figure(f"{name} RSS max", max(s["rss"][i] for s in samples) / 1e6, "MB", fmt="{:,.1f}")
            middle = settled[len(settled) // 2]
            for label, since in (("after the start", first), ("over the second half", middle)):
                minutes = (last["t"] - since["t"]) / 60
                if minutes > 0:
                    report.figure(
                        f"{name} RSS growth {label}",
                        (last["rss"][i] - since["rss"][i]) / 1e6 / minutes,
                        "MB/min",
                        fmt="{:,.2f}",
                    )
            busy = (last["cpu"][i] - samples[0]["cpu"][i]) / (last["t"] - samples[0]["t"])
            report.figure(
                f"{name} CPU (idle: {100 * cpu_idle[i]:.1f} %)", 100 * busy, "% of a core", fmt="{:,.0f}"
            )
        if not math.isnan(last["pg_cpu"]):
            pg = (last["pg_cpu"] - samples[0]["pg_cpu"]) / (last["t"] - samples[0]["t"])
            report.figure("PostgreSQL CPU (its live processes)", 100 * pg, "% of a core", fmt="{:,.0f}")
        say(
            "  RSS samples (MB, every process): "
            + "; ".join(
                f"{s['t']:.0f} s " + "+".join(f"{r / 1e6:.0f}" for r in s["rss"])
                for s in samples[:: max(1, len(samples) // 12)]
            )
        )
    report.figure(
        "load generator CPU (this process)",
        100 * own_cpu / out.get("caught_up", span),
        "% of a core",
        fmt="{:,.0f}",
    )
    _ms(report, "load generator event-loop lag p99", sim.lag.percentile(99))
