"""The sync agent: a pull loop, a push loop and a heartbeat, independent of each other.

Each loop retries for ever with capped, jittered backoff; a 401 means the device was revoked:
the snapshot is wiped, the journal kept, and the agent stops. The watchdog is pinged only while
every loop keeps finishing iterations, so a stuck loop gets the service restarted.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from localdb.connect import open_reader
from localdb.errors import LocalDatabaseError
from localdb.journal import events_after
from localdb.replica import Replica
from localdb.till import Till
from sync import backoff
from sync.client import SyncClient
from sync.errors import BatchRefused, RetryLater, Revoked, SyncError
from sync.settings import AgentSettings
from sync.systemd import Notifier

log = logging.getLogger("voucher-sync")
EXIT_REVOKED = 3


class Agent:
    def __init__(self, settings: AgentSettings, client: SyncClient, *, notifier: Notifier | None = None,
                 version: str = "0") -> None:
        self.settings = settings
        self.client = client
        self.notifier = notifier or Notifier()
        self.version = version
        self.stop = threading.Event()
        self.exit_code = 0
        self.stopped_reason: str | None = None
        self._lock = threading.Lock()
        self._iterations: dict[str, float] = {}
        self._cycle_mark: int | None = None
        self._journal: sqlite3.Connection | None = None
        self._skew_written: int | None = None
        self.replica = open_replica(settings)

    # --- running ------------------------------------------------------------------------------

    def run(self) -> int:
        loops = {
            "pull": (self.pull_step, self.settings.pull_interval_seconds),
            "push": (self.push_step, self.settings.push_poll_seconds),
            "heartbeat": (self.heartbeat_step, self.settings.heartbeat_seconds),
        }
        threads = [threading.Thread(target=self._loop, args=(name, step, idle), name=name, daemon=True)
                   for name, (step, idle) in loops.items()]
        self.notifier.ready(f"started, cursor {self.replica.cursor()}, pending {self.pending()}")
        for thread in threads:
            thread.start()
        self._supervise(list(loops))
        for thread in threads:
            thread.join(timeout=self.settings.timeout_seconds + 5)
        self.notifier.stopping()
        self.close()
        return self.exit_code

    def _supervise(self, names: list[str]) -> None:
        """Ping the watchdog while every loop has finished an iteration within the watchdog time."""
        interval = self.notifier.watchdog_seconds
        started = time.monotonic()
        while not self.stop.wait(interval / 3 if interval else 1.0):
            if interval is None:
                continue
            now = time.monotonic()
            limit = max(interval, self.settings.timeout_seconds + self.settings.backoff_max_seconds)
            if all(now - self._iterations.get(name, started) < limit for name in names):
                self.notifier.watchdog()

    def request_stop(self) -> None:
        self.stop.set()

    def close(self) -> None:
        with self._lock:
            self.replica.close()
            if self._journal is not None:
                self._journal.close()
        self.client.close()

    def _loop(self, name: str, step: Callable[[], bool], idle: float) -> None:
        attempt = 0
        while not self.stop.is_set():
            try:
                busy = step()
                attempt, wait = 0, 0.0 if busy else idle
            except Revoked as exc:
                self._revoked(exc)
                return
            except (SyncError, LocalDatabaseError, sqlite3.Error) as exc:
                attempt += 1
                wait = backoff.delay(attempt, initial=self.settings.backoff_initial_seconds,
                                     cap=self.settings.backoff_max_seconds)
                if isinstance(exc, RetryLater):
                    wait = max(wait, exc.seconds)
                self._error(name, exc, wait)
            self._iterations[name] = time.monotonic()
            self._note_skew()
            self.stop.wait(wait)

    # --- the three steps ----------------------------------------------------------------------

    def pull_step(self) -> bool:
        """Fetch and apply one snapshot page; True while more pages wait."""
        with self._lock:
            cursor = self.replica.cursor()
            if self._cycle_mark is None:
                self._cycle_mark = self.replica.push_cursor()
        page = self.client.snapshot(cursor, self.settings.page_limit)
        with self._lock:
            self.replica.apply_page(page)
            if page["complete"]:
                self.replica.mark_reflected(self._cycle_mark)
                self._cycle_mark = None
        changed = len(page["batches"]) + len(page["types"]) + len(page["vouchers"])
        if changed or not page["complete"]:
            log.info("pulled %d changes, cursor %d", changed, page["next_cursor"])
        self.notifier.status(f"cursor {page['next_cursor']}, pending {self.pending()}")
        return not page["complete"]

    def push_step(self) -> bool:
        """Push the oldest pending events (one batch); True when more may be waiting."""
        journal = self._journal_conn()
        if journal is None:
            return False
        with self._lock:
            start = self.replica.push_cursor()
        events = [e.wire() for e in events_after(journal, start, self.settings.push_batch)]
        if not events:
            return False
        try:
            results = self.client.push(events)
        except BatchRefused as exc:
            results = self._push_one_by_one(events, exc)
        with self._lock:
            self.replica.record_outcomes(events, results, events[-1]["device_seq"])
        counts = {o: sum(r["outcome"] == o for r in results) for o in ("accepted", "duplicate", "conflict", "rejected")}
        log.info("pushed %d events: %s", len(events), ", ".join(f"{n} {o}" for o, n in counts.items() if n))
        self.notifier.status(f"pushed {len(events)}, cursor {self.replica.cursor()}, pending {self.pending()}")
        return len(events) == self.settings.push_batch

    def _push_one_by_one(self, events: list[dict[str, Any]], first: BatchRefused) -> list[dict[str, Any]]:
        """The server refused the batch as malformed: find the event(s) it refuses; those are
        recorded as rejected here (kept in the journal, never retried), the others go through."""
        log.warning("upload refused as a whole (%s); sending one by one", first.detail)
        results = []
        for event in events:
            try:
                results.extend(self.client.push([event]))
            except BatchRefused as exc:
                results.append({"id": event["id"], "outcome": "rejected", "reason": f"MALFORMED: {exc.detail}"[:200],
                                "winner": None, "server_time": None})
        return results

    def heartbeat_step(self) -> bool:
        with self._lock:
            health = Till(self.replica.conn, self._journal_conn()).health()
        self.client.heartbeat({
            "version": self.version, "pending": health["pending"], "last_pull_at": health["last_pull_at"],
            "last_push_at": health["last_push_at"], "snapshot_cursor": health["cursor"],
            "device_time": datetime.now(UTC).isoformat(),
        })
        return False

    # --- helpers ------------------------------------------------------------------------------

    def pending(self) -> int:
        with self._lock:
            return Till(self.replica.conn, self._journal_conn()).pending()

    def _journal_conn(self) -> sqlite3.Connection | None:
        """The kiosk's journal, read-only; absent until the kiosk first starts."""
        if self._journal is None and self.settings.journal_path.exists():
            self._journal = open_reader(self.settings.journal_path)
        return self._journal

    def _error(self, loop: str, exc: Exception, wait: float) -> None:
        text = f"{loop}: {exc}"
        log.warning("%s (retrying in %.1f s)", text, wait)
        with self._lock:
            self.replica.set_health(last_error=text[:500], last_error_at=datetime.now(UTC).isoformat())
        self.notifier.status(f"{loop} failing: {str(exc)[:100]}; retrying")

    def _note_skew(self) -> None:
        skew = self.client.last_skew_seconds
        if skew is None or round(skew) == self._skew_written:
            return
        self._skew_written = round(skew)
        with self._lock:
            self.replica.set_health(clock_skew_seconds=self._skew_written)
        if abs(skew) > self.settings.clock_skew_warn_seconds:
            log.warning("this device's clock is %+d s off the server's", self._skew_written)

    def _revoked(self, exc: Revoked) -> None:
        message = f"device revoked by the server ({exc.detail}); the snapshot was wiped, the journal kept. Enrol again."
        log.error(message)
        with self._lock:
            self.replica.wipe_snapshot()
            self.replica.set_health(stopped=message, last_error=message,
                                    last_error_at=datetime.now(UTC).isoformat())
        self.exit_code = EXIT_REVOKED
        self.stopped_reason = message
        self.stop.set()


def open_replica(settings: AgentSettings) -> Replica:
    """replica.db, rebuilt from cursor 0 if it is corrupt (the journal is never touched)."""
    path = settings.replica_path
    try:
        replica = Replica(path)
        check = replica.conn.execute("PRAGMA quick_check").fetchone()[0]
        if check == "ok":
            return replica
        replica.close()
        reason = check
    except (LocalDatabaseError, sqlite3.DatabaseError) as exc:
        reason = str(exc)
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    log.error("replica %s is corrupt (%s): moved to %s, rebuilding from cursor 0", path, reason, aside.name)
    shutil.move(path, aside)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.unlink()
    replica = Replica(path)
    replica.set_health(last_error=f"replica was corrupt ({reason[:200]}); rebuilt from cursor 0",
                       last_error_at=datetime.now(UTC).isoformat())
    return replica
