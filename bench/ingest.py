"""ingest: a till pushes redeem events for N claimed vouchers (default 100,000), 500 per request.

Setup through the API only: a batch of N generated and made redeemable, every voucher claimed
by its own member (POST /api/v1/claims, many in parallel: a voucher must be claimed to be
redeemed, and the API has no bulk claim), a store and an enrolled device. Then the device
pushes one redeem event per voucher to POST /api/v1/sync/events, one request after another
as the sync agent does. Target (issue): at least 2,000 accepted events/s on SQLite.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime

import httpx
import orjson

from bench.common import Report, WorkDir, bench_server, claim_many, client, say, sqlite_url
from harness import HeadOffice

NAME = "ingest"
TARGET_RATE = 2000.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--size", type=int, default=100_000, help="vouchers claimed and redeemed (default 100,000)"
    )
    p.add_argument("--batch", type=int, default=500, help="events per request (default 500, at most 1000)")
    p.add_argument(
        "--devices",
        type=int,
        default=1,
        help="devices pushing at the same time, each its own share of the vouchers (default 1)",
    )
    p.add_argument(
        "--claim-concurrency",
        type=int,
        default=2,
        help="parallel claim requests in setup (default 2; 8 is about 10 %% faster, see README)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server log)")


def event_bodies(voucher_ids: list[str], per_request: int) -> list[bytes]:
    """Request bodies ready to send (serialised before the clock starts)."""
    at = datetime.now(UTC).isoformat()
    bodies = []
    seq = 0
    for start in range(0, len(voucher_ids), per_request):
        events = []
        for vid in voucher_ids[start : start + per_request]:
            seq += 1
            events.append(
                {
                    "id": str(uuid.uuid4()),
                    "kind": "redeem",
                    "voucher_id": vid,
                    "at": at,
                    "device_seq": seq,
                    "cashier": "bench",
                }
            )
        bodies.append(orjson.dumps({"events": events}))
    return bodies


def push(
    http: httpx.Client,
    bodies: list[bytes],
    outcomes: dict[str, int],
    latencies: list[float],
    lock: threading.Lock,
) -> None:
    for body in bodies:
        for attempt in range(10):
            t0 = time.monotonic()
            try:
                response = http.post(
                    "/sync/events", content=body, headers={"Content-Type": "application/json"}
                )
            except httpx.TransportError:
                time.sleep(0.2 * (attempt + 1))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                time.sleep(float(response.headers.get("Retry-After", 0.2 * (attempt + 1))))
                continue
            break
        latency = time.monotonic() - t0
        if response.status_code != 200:
            raise RuntimeError(f"POST /sync/events -> {response.status_code}: {response.text[:300]}")
        results = orjson.loads(response.content)["results"]
        with lock:
            latencies.append(latency)
            for r in results:
                outcome = r["outcome"]
                if outcome == "duplicate":  # a retried request: count the first answer
                    outcome = r["first"]["outcome"]
                outcomes[outcome] = outcomes.get(outcome, 0) + 1


def push_all(
    clients: list[httpx.Client], bodies: list[list[bytes]]
) -> tuple[dict[str, int], list[float], float]:
    """Each client pushes its bodies, all at once: (outcomes counted, request latencies, seconds)."""
    outcomes: dict[str, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=push, args=(c, b, outcomes, latencies, lock))
        for c, b in zip(clients, bodies, strict=True)
    ]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    for c in clients:
        c.close()
    return outcomes, latencies, elapsed


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    n = args.size
    with WorkDir(NAME, keep=args.keep) as work:
        server = bench_server(sqlite_url(work / "central.db"), work)
        with server, HeadOffice(server) as admin:
            t_setup = time.monotonic()
            t0 = time.monotonic()
            batch = admin.generated_batch(n, f"Bench ingest {n}")
            bid = batch["id"]
            batch = admin.act(bid, "distribute", "redeemable")
            t_generate = time.monotonic() - t0
            say(f"  setup: batch {bid} of {n:,} generated and redeemable in {t_generate:.1f} s; claiming ...")

            t0 = time.monotonic()
            made, refused = claim_many(admin, batch["claim_token"], n, args.claim_concurrency)
            t_claim = time.monotonic() - t0
            report.check(made == n and not refused, f"{made:,} claims made, refused {refused or 'none'}")
            say(
                f"  setup: {made:,} claims in {t_claim:.1f} s ({made / t_claim:,.0f} claims/s, "
                f"{args.claim_concurrency} in parallel)"
            )

            t0 = time.monotonic()
            ids = admin.voucher_ids(bid, claimed="true")
            t_list = time.monotonic() - t0
            report.check(len(ids) == n, f"{len(ids):,} claimed voucher ids listed in {t_list:.1f} s")

            devices = []
            for i in range(args.devices):
                store_id = f"bench-store-{i % 4}"
                if i < 4:
                    admin.store(store_id)
                devices.append(admin.device(store_id, f"till-{i}"))
            shares = [ids[i :: args.devices] for i in range(args.devices)]
            bodies = [event_bodies(share, args.batch) for share in shares]
            t_setup = time.monotonic() - t_setup
            say(
                f"  setup done in {t_setup:.1f} s; pushing {n:,} events, {args.batch} per request, "
                f"{args.devices} device(s) ..."
            )

            clients = [client(server.url, d["token"], connections=1) for d in devices]
            outcomes, latencies, elapsed = push_all(clients, bodies)

            accepted = outcomes.get("accepted", 0)
            report.check(accepted == n, f"accepted {accepted:,} of {n:,}; outcomes {outcomes}")
            final = admin.get(bid)["metrics"]
            report.check(final["redeemed"] == n, f"batch metrics say redeemed {final['redeemed']:,}")
            errors = server.errors_in_log()
            report.check(not errors, f"no server errors logged ({len(errors)})")

        report.figure(
            "accepted events per second", accepted / elapsed, "events/s", (">=", TARGET_RATE), fmt="{:,.0f}"
        )
        report.figure("push time for all events", elapsed, "s", fmt="{:,.1f}")
        if latencies:
            lat = sorted(latencies)
            report.figure(
                f"request latency p50 ({args.batch} events)",
                1000 * statistics.median(lat),
                "ms",
                fmt="{:,.0f}",
            )
            report.figure(
                f"request latency p95 ({args.batch} events)",
                1000 * lat[int(0.95 * (len(lat) - 1))],
                "ms",
                fmt="{:,.0f}",
            )
        report.figure("setup: generate + walk to redeemable", t_generate, "s", fmt="{:,.1f}")
        report.figure("setup: claims over HTTP", t_claim, "s", fmt="{:,.1f}")
        report.figure("setup: claims per second", made / t_claim, "claims/s", fmt="{:,.0f}")
        report.figure("setup in all", t_setup, "s", fmt="{:,.1f}")
    return report
