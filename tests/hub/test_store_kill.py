"""A SIGKILL of the hub at any moment loses nothing it answered: a child process ingests tills'
events in a loop and prints each answered id (flushed) as the HTTP app would send the answer;
killed with SIGKILL mid-loop, the file opens again and holds every answered event with its answer,
and the tills are served every redemption it answered."""

from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from pathlib import Path

from store_support import ready_store, served

from hub.store import HubStore

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 120  # seconds for the child to answer enough events: honest on a busy 2-core machine
ANSWERED_BEFORE_KILL = 40

CHILD = textwrap.dedent(
    """
    import sys, uuid
    from datetime import UTC, datetime
    from pathlib import Path
    from hub.store import HubStore
    from hub.records import HubDevice
    from vouchers.wire import Event

    store = HubStore(Path(sys.argv[1]))
    tills = [HubDevice("till-1", "s1", "Till 1", False), HubDevice("till-2", "s1", "Till 2", False)]
    n = 0
    while True:
        n += 1
        serial = n % 400 + 1
        events = [
            Event(id=uuid.uuid4(), kind="redeem", voucher_id=f"b1.{serial}", at=datetime.now(UTC), device_seq=n),
            Event(id=uuid.uuid4(), kind="refused", verdict="EXPIRED", at=datetime.now(UTC), device_seq=n),
        ]
        for result in store.ingest(tills[n % 2], events):
            print(result.id, result.outcome, flush=True)
    """
)


def test_a_sigkilled_hub_keeps_every_event_it_answered(tmp_path):
    path = tmp_path / "hub.db"
    ready_store(path, vouchers=400).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "child.log"
    answered: dict[str, str] = {}
    with (
        log.open("wb") as errors,
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, stderr=errors, env=env
        ) as child,
    ):
        assert child.stdout is not None
        buffer = b""
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(child.stdout, selectors.EVENT_READ)
                deadline = time.monotonic() + DEADLINE
                while len(answered) < ANSWERED_BEFORE_KILL:
                    left = deadline - time.monotonic()
                    assert left > 0, f"the child answered {len(answered)} events in {DEADLINE} s"
                    assert child.poll() is None, log.read_text()
                    if selector.select(timeout=min(left, 1.0)):
                        buffer += os.read(child.stdout.fileno(), 65536)
                        *lines, buffer = buffer.split(b"\n")
                        answered.update(_answers(lines))
            child.send_signal(signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=DEADLINE)
        assert child.returncode == -signal.SIGKILL
        # what it printed after the last read was answered before the kill: it counts too
        answered.update(_answers((buffer + child.stdout.read()).split(b"\n")))

    with closing(sqlite3.connect(path)) as conn:  # the file as the hub left it
        kept = dict(conn.execute("SELECT id, outcome FROM ledger").fetchall())
    lost = {i: o for i, o in answered.items() if kept.get(i) != o}
    assert not lost, f"{len(lost)} of {len(answered)} answered events lost or changed"
    assert "accepted" in answered.values()
    store = HubStore(path)
    try:
        used = {v for v, row in served(store)["vouchers"].items() if row["status"] == "used"}
        accepted = {str(e.id): e.voucher_id for e in store.unforwarded(100_000) if e.kind == "redeem"}
        assert {accepted[i] for i, o in answered.items() if o == "accepted" and i in accepted} <= used
    finally:
        store.close()


def _answers(lines: list[bytes]) -> dict[str, str]:
    """The child's lines, `event_id outcome` each."""
    pairs = (line.decode().split() for line in lines if line.strip())
    return {event_id: outcome for event_id, outcome in pairs}
