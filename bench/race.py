"""race: 20 devices redeem the same 1,000 claimed vouchers at once; exactly one wins each.

Every device (enrolled at one of several stores, its own token) pushes a redeem event for
every voucher, in its own shuffled order, in requests of 100 events, all devices at the same
moment from their own threads. Checked: 1,000 accepted in total and one per voucher, every
other result a conflict naming that voucher's winner, none rejected, none lost
(devices × vouchers results, and as many events in the ledger). Run on SQLite (one server
process) and on PostgreSQL with two server processes on two ports sharing one database,
the devices split between them.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
import orjson

from bench.common import (
    ROOT,
    Report,
    WorkDir,
    bench_server,
    call,
    claim_many,
    client,
    say,
    sqlite_url,
    start_together,
)
from harness import HeadOffice, ServerProcess

NAME = "race"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--vouchers", type=int, default=1000, help="claimed vouchers every device redeems (default 1,000)"
    )
    p.add_argument("--devices", type=int, default=20, help="devices racing (default 20)")
    p.add_argument("--stores", type=int, default=5, help="stores the devices are spread over (default 5)")
    p.add_argument("--batch", type=int, default=100, help="events per request (default 100)")
    p.add_argument(
        "--db",
        default="sqlite,postgresql",
        help="comma-separated: sqlite (one server process), postgresql (two processes) (default both)",
    )
    p.add_argument("--seed", type=int, default=7, help="seed of the shuffles")
    p.add_argument(
        "--keep", action="store_true", help="keep the temporary directories (databases, server logs)"
    )


class Device:
    def __init__(
        self,
        index: int,
        enrolment: dict,
        server: ServerProcess,
        voucher_ids: list[str],
        per_request: int,
        rng: random.Random,
    ) -> None:
        self.index = index
        self.id = enrolment["device_id"]
        self.store_id = enrolment["store_id"]
        self.token = enrolment["token"]
        self.server = server
        order = list(voucher_ids)
        rng.shuffle(order)
        at = datetime.now(UTC).isoformat()
        self.events = [
            {"id": str(uuid.uuid4()), "kind": "redeem", "voucher_id": vid, "at": at, "device_seq": i + 1}
            for i, vid in enumerate(order)
        ]
        self.bodies = [
            orjson.dumps({"events": self.events[s : s + per_request]})
            for s in range(0, len(self.events), per_request)
        ]
        self.results: list[dict] = []
        self.retries = 0
        self.error: str | None = None

    def run(self, barrier: threading.Barrier) -> None:
        try:
            with client(self.server.url, self.token, connections=1) as http:
                barrier.wait()
                for body in self.bodies:
                    self.results.extend(self._post(http, body))
        except Exception as exc:  # reported as a failed check
            self.error = f"device {self.index}: {exc!r}"

    def _post(self, http: httpx.Client, body: bytes) -> list[dict]:
        for attempt in range(20):
            try:
                response = http.post(
                    "/sync/events", content=body, headers={"Content-Type": "application/json"}
                )
            except httpx.TransportError:
                self.retries += 1
                time.sleep(0.1 * (attempt + 1))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                self.retries += 1
                time.sleep(float(response.headers.get("Retry-After", 0.1 * (attempt + 1))))
                continue
            if response.status_code != 200:
                raise RuntimeError(f"POST /sync/events -> {response.status_code}: {response.text[:300]}")
            return orjson.loads(response.content)["results"]
        raise RuntimeError("POST /sync/events failed 20 times")


def start_servers(kind: str, work, count: int, pg_holder: list) -> list[ServerProcess]:
    if kind == "sqlite":
        return [bench_server(sqlite_url(work / "central.db"), work).start()]
    sys.path.insert(0, str(ROOT / "tests"))
    from support.postgres import PostgresServer

    pg = PostgresServer().start()
    pg_holder.append(pg)
    url = pg.create_database("bench_race")
    say(f"  PostgreSQL {pg.bin_dir.parent.name} on 127.0.0.1:{pg.port}, database bench_race")
    return start_together([bench_server(url, work, name=f"central-{i + 1}") for i in range(count)])


def race_on(kind: str, args: argparse.Namespace, report: Report) -> None:
    n, d = args.vouchers, args.devices
    label = "sqlite, 1 process" if kind == "sqlite" else "postgresql, 2 processes"
    say(f"  -- {label}: {d} devices × {n:,} vouchers = {d * n:,} events")
    pg_holder: list = []
    servers: list[ServerProcess] = []
    with WorkDir(f"{NAME}-{kind}", keep=args.keep) as work:
        try:
            servers = start_servers(kind, work, 1 if kind == "sqlite" else 2, pg_holder)
            say("  servers: " + ", ".join(s.url for s in servers))
            with HeadOffice(servers[0]) as admin:
                t0 = time.monotonic()
                batch = admin.generated_batch(n, f"Bench race {kind}")
                bid = batch["id"]
                batch = admin.act(bid, "distribute", "redeemable")
                made, refused = claim_many(admin, batch["claim_token"], n, concurrency=2)
                report.check(made == n, f"[{kind}] {made:,} vouchers claimed (refused {refused or 'none'})")
                ids = admin.voucher_ids(bid, claimed="true")
                stores = [f"race-store-{i + 1}" for i in range(min(args.stores, d))]
                for s in stores:
                    admin.store(s)
                rng = random.Random(args.seed)
                devices = []
                for i in range(d):
                    server = servers[i % len(servers)]
                    enrolment = admin.device(
                        stores[i % len(stores)], f"race-till-{i + 1}", base_url=server.url
                    )
                    devices.append(Device(i, enrolment, server, ids, args.batch, rng))
                say(f"  setup (generate, claim, enrol) took {time.monotonic() - t0:.1f} s; racing ...")

                barrier = threading.Barrier(d + 1)
                threads = [threading.Thread(target=dev.run, args=(barrier,)) for dev in devices]
                for t in threads:
                    t.start()
                barrier.wait()
                t0 = time.monotonic()
                for t in threads:
                    t.join()
                elapsed = time.monotonic() - t0

                for dev in devices:
                    if dev.error:
                        report.check(False, f"[{kind}] {dev.error}")
                _check(kind, admin, bid, devices, stores, n, d, report)
                retries = sum(dev.retries for dev in devices)
                decided = sum(len(dev.results) for dev in devices)
                report.figure(
                    f"{kind}: time for {d * n:,} events ({len(servers)} proc)", elapsed, "s", fmt="{:,.2f}"
                )
                report.figure(
                    f"{kind}: events decided per second", decided / elapsed, "events/s", fmt="{:,.0f}"
                )
                report.figure(f"{kind}: requests retried (5xx/network)", retries, "", fmt="{:,.0f}")
            for s in servers:
                errors = s.errors_in_log()
                report.check(
                    not errors,
                    f"[{kind}] no server errors logged by {s.name} ({len(errors)})"
                    + (f": {errors[0][:200]}" if errors else ""),
                )
        finally:
            for s in servers:
                s.stop()
            for pg in pg_holder:
                pg.stop()


def _check(
    kind,
    admin: HeadOffice,
    bid: str,
    devices: list[Device],
    stores: list[str],
    n: int,
    d: int,
    report: Report,
) -> None:
    outcomes: Counter[str] = Counter()
    winners: dict[str, tuple[str, str]] = {}
    accepted_per_voucher: Counter[str] = Counter()
    conflicts = []
    for dev in devices:
        events = {e["id"]: e for e in dev.events}
        for r in dev.results:
            outcome = r["outcome"]
            if outcome == "duplicate":  # a retried request: its first answer counts
                r = {**r, **r["first"]}
                outcome = r["outcome"]
            outcomes[outcome] += 1
            vid = events[r["id"]]["voucher_id"]
            if outcome == "accepted":
                accepted_per_voucher[vid] += 1
                winners[vid] = (dev.store_id, dev.id)
            elif outcome == "conflict":
                conflicts.append((vid, r["winner"]))
    total = sum(outcomes.values())
    say(f"  [{kind}] results: {dict(outcomes)}")
    report.check(total == d * n, f"[{kind}] {total:,} results for {d * n:,} events (none lost)")
    report.check(outcomes["accepted"] == n, f"[{kind}] exactly {n:,} accepted ({outcomes['accepted']:,})")
    report.check(
        outcomes["conflict"] == d * n - n, f"[{kind}] {d * n - n:,} conflicts ({outcomes['conflict']:,})"
    )
    report.check(outcomes["rejected"] == 0, f"[{kind}] none rejected ({outcomes['rejected']:,})")
    report.check(
        len(accepted_per_voucher) == n and set(accepted_per_voucher.values()) == {1},
        f"[{kind}] one winner per voucher ({len(accepted_per_voucher):,} vouchers won)",
    )
    wrong = sum(1 for vid, w in conflicts if w is None or (w["store_id"], w["device_id"]) != winners.get(vid))
    report.check(wrong == 0, f"[{kind}] every conflict names its voucher's winner ({wrong} do not)")
    metrics = admin.get(bid)["metrics"]
    report.check(metrics["redeemed"] == n, f"[{kind}] batch metrics: redeemed {metrics['redeemed']:,}")
    ledger: Counter[str] = Counter()
    for s in stores:
        summary = call(admin.http, "GET", f"/stores/{s}/redemptions", params={"batch": bid})["summary"]
        ledger.update(summary)
    report.check(
        ledger["accepted"] == n and ledger["conflict"] == d * n - n and ledger["rejected"] == 0,
        f"[{kind}] ledger (store reports): {dict(ledger)}",
    )


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    for kind in [k.strip() for k in args.db.split(",") if k.strip()]:
        if kind not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown --db {kind!r}")
        race_on(kind, args, report)
    return report
