"""What /metrics says, in Prometheus's text format (prometheus-client).

Two kinds of figure:

* counted by the process that served the request: HTTP requests by route template and status, their
  latency, ingest outcomes, snapshot pages. With several server processes on one host, give them one
  empty directory in $PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode): each process
  writes its counts there and any one of them answers /metrics with the sum of all. Without it each
  process answers for itself, and Prometheus scrapes each process and sums.
* read from the database at scrape time: devices by the age of their last heartbeat, generation
  progress of each running batch. Every process answers the same figures (take max(), not sum(),
  across processes).

No figure carries voucher data: routes are templates ("/api/v1/vouchers/{code}"), never paths.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from central.db.engine import Database
from central.services import fleet
from central.services.ledger_rows import Result

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OUTCOMES = ("accepted", "duplicate", "conflict", "rejected")

disable_created_metrics()  # no *_created series: Prometheus needs none of them

# this process's own counts (its files in $PROMETHEUS_MULTIPROC_DIR in multiprocess mode)
OWN = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "voucher_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=OWN,
)
LATENCY = Histogram(
    "voucher_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    registry=OWN,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGEST = Counter(
    "voucher_ingest_events", "Events uploaded by tills, by the ledger's answer.", ["outcome"], registry=OWN
)
SNAPSHOT_PAGES = Counter("voucher_snapshot_pages", "Snapshot pages served to tills.", registry=OWN)
SNAPSHOT_ROWS = Counter(
    "voucher_snapshot_vouchers", "Vouchers sent to tills in snapshot pages.", registry=OWN
)
for outcome in OUTCOMES:  # each outcome is there from the start, at 0
    INGEST.labels(outcome)
if MULTIPROC_ENV not in os.environ:
    ProcessCollector(registry=OWN)  # memory and CPU of this process (not summable across processes)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def count_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def count_ingest(results: Iterable[Result]) -> None:
    """One upload's results: each event's outcome."""
    for result in results:
        INGEST.labels(result["outcome"]).inc()


def count_snapshot_page(page: dict) -> None:
    SNAPSHOT_PAGES.inc()
    SNAPSHOT_ROWS.inc(len(page.get("vouchers") or ()))


class FleetCollector(Collector):
    """Figures read from the database when /metrics is asked for."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        with self.db.read() as conn:
            ages = fleet.heartbeat_ages(conn)
            jobs = fleet.running_generations(conn)
        devices = GaugeMetricFamily(
            "voucher_devices",
            "Active (not revoked) devices, by how long ago their last heartbeat was.",
            labels=["heartbeat_age"],
        )
        for bucket, count in ages.items():
            devices.add_metric([bucket], count)
        yield devices
        done = GaugeMetricFamily(
            "voucher_generation_vouchers_done",
            "Vouchers generated so far in each batch being generated.",
            labels=["batch"],
        )
        total = GaugeMetricFamily(
            "voucher_generation_vouchers_total",
            "Vouchers to generate in each batch being generated.",
            labels=["batch"],
        )
        for job in jobs:
            done.add_metric([job.id], job.generated)
            total.add_metric([job.id], job.total)
        yield from (done, total)


class _Own(Collector):
    """This process's counts, when there is no multiprocess directory to read them from."""

    def collect(self) -> Iterable[Metric]:
        return OWN.collect()


def exposition(db: Database) -> bytes:
    """The text /metrics answers with."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_Own())
    registry.register(FleetCollector(db))
    return generate_latest(registry)
