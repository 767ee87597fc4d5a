"""The sync agent: a pull loop, a push loop and a heartbeat, independent of each other.

Each loop retries for ever with capped, jittered backoff, whatever fails (the network, a full
disk, a damaged file); a 401 means the device was revoked: the snapshot is wiped, the journal
kept, and the agent stops. The watchdog is pinged only while every loop keeps finishing
iterations, so a stuck loop gets the service restarted.

The push loop follows the journal now at journal.db (localdb/journals.py): a new one is pushed
from its start, and an old one deleted or replaced under a running agent is first drained
through the connection still open on it. A damaged journal is read event by event and what can
be read is pushed. A damaged replica is moved aside and rebuilt from cursor 0: checked when the
agent starts (in full after a run that did not stop cleanly) and whenever SQLite finds it damaged.
"""

from __future__ import annotations

import gc
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from localdb import health as health_file
from localdb import journal as journal_file
from localdb import journals, streams
from localdb.connect import has_table, open_reader
from localdb.errors import LocalDatabaseError, is_damaged, translate
from localdb.journal import JournalEvent, events_after, salvage_after
from localdb.pushed import Pushed, move_aside, open_pushed
from localdb.replica import Replica
from localdb.till import Till
from sync import backoff
from sync.client import SyncClient
from sync.errors import BatchRefused, RetryLater, Revoked, SyncError
from sync.pages import Pages, Stopped
from sync.settings import AgentSettings
from sync.systemd import Notifier
from sync.turns import Turns
from vouchers.errors import VoucherError
from vouchers.wire import Deleted, Event, EventResult, HeartbeatRequest, Malformed, SnapshotPage
from vouchers.wording import N_, Said, said

log = logging.getLogger("voucher-sync")
EXIT_REVOKED = 3
PART = 4_000  # vouchers per transaction of a large page (see _parts)


LOOPS = {"pull": N_("pull"), "push": N_("push"), "heartbeat": N_("heartbeat")}
"""The agent's loops, as its last error names them."""


class Agent:
    def __init__(
        self,
        settings: AgentSettings,
        client: SyncClient,
        *,
        notifier: Notifier | None = None,
        version: str = "0",
        earlier_devices: Iterable[Mapping[str, str | int]] = (),
    ) -> None:
        self.settings = settings
        self.client = client
        self.notifier = notifier or Notifier()
        self.version = version
        self.stop = threading.Event()
        self.exit_code = 0
        self.stopped_reason: str | None = None
        self._lock = threading.Lock()  # self.pushed's and self.replica's connections, and self._journal
        self._turns = Turns()  # whose turn it is to write replica.db (the pull loop's, or a wipe's)
        self._pull: Replica | None = None  # the pull loop's own connection (_pull_replica)
        self._pull_inode: int | None = None
        self._iterations: dict[str, float] = {}
        self._cycle_mark: tuple[str | None, int] | None = None
        self._journal: sqlite3.Connection | None = None
        self._journal_file: tuple[int, int] | None = None  # the file that connection has open
        self._journal_damage: str | None = None
        self._pending = 0  # the last count of pending events that could be read
        self._skew_written: int | None = None
        self._pages = Pages(
            lambda cursor, wait: self.client.snapshot(cursor, settings.page_limit, wait=wait),
            wait_seconds=settings.live_wait_seconds,
            wait_gap_seconds=settings.live_wait_gap_seconds,
            stop=self.stop,
            live_seconds=settings.pull_interval_seconds,
        )
        # earlier devices of this till (enrolled again): journal id -> [(up to seq, device id)], in order
        self._earlier: dict[str, list[tuple[int, str]]] = {}
        for d in sorted(earlier_devices, key=lambda d: int(d["up_to_seq"])):
            self._earlier.setdefault(str(d["journal_id"]), []).append(
                (int(d["up_to_seq"]), str(d["device_id"]))
            )
        self._marker = settings.data_dir / "agent.running"
        unclean = self._marker.exists()  # the last run did not stop cleanly: check the replica in full
        self.pushed = open_pushed(
            settings.replica_path, thorough=unclean
        )  # the push side's: never waits for a page
        try:
            self.replica = open_replica(settings, self.pushed, thorough=unclean)
        except BaseException:
            self.pushed.close()
            raise
        _write_marker(self._marker)

    # --- running ------------------------------------------------------------------------------

    def run(self) -> int:
        # A snapshot page is some 40,000 dicts and tuples (no cycles among them) alive until it is
        # applied: at Python's default threshold (700 new containers) the cyclic collector walks
        # them, and every older object, some 50 times a page (2,660 collections in a first sync
        # of 1,000,000 here), for nothing to collect.
        gc.set_threshold(50_000, 20, 20)
        loops = {
            "pull": (self.pull_step, self.settings.pull_interval_seconds),
            "push": (self.push_step, self.settings.push_poll_seconds),
            "heartbeat": (self.heartbeat_step, self.settings.heartbeat_seconds),
        }
        threads = [
            threading.Thread(target=self._loop, args=(name, step, idle), name=name, daemon=True)
            for name, (step, idle) in loops.items()
        ]
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
            limit = max(
                interval,
                self.settings.timeout_seconds
                + self.settings.backoff_max_seconds
                + self.settings.live_wait_seconds,
            )  # a pull step may be a long poll
            if all(now - self._iterations.get(name, started) < limit for name in names):
                self.notifier.watchdog()

    def request_stop(self) -> None:
        self.stop.set()

    def close(self) -> None:
        with self._lock:
            self.replica.close()
            if self._pull is not None:
                self._pull.close()
            if self._journal is not None:
                self._journal.close()
            self.pushed.close()
        self.client.close()
        self._marker.unlink(missing_ok=True)  # a clean stop

    def _loop(self, name: str, step: Callable[[], bool], idle: float) -> None:
        """Run one step after another until stopped. Whatever a step raises, the loop goes on after
        a backoff (a full disk, a damaged file, a bug): it resumes by itself once the cause is gone."""
        attempt = 0
        while not self.stop.is_set():
            try:
                busy = step()
                attempt, wait = 0, 0.0 if busy else idle
            except Revoked as exc:
                if self._revoked(exc):
                    return
                attempt += 1
                wait = self.settings.backoff_max_seconds
            except Exception as exc:
                attempt += 1
                wait = backoff.delay(
                    attempt,
                    initial=self.settings.backoff_initial_seconds,
                    cap=self.settings.backoff_max_seconds,
                )
                if isinstance(exc, RetryLater):
                    wait = max(wait, exc.seconds)
                if not isinstance(exc, (SyncError, LocalDatabaseError, sqlite3.Error, OSError)):
                    log.exception("%s: unexpected error (retrying in %.1f s)", name, wait)
                if is_damaged(exc):
                    self._check_replica()
                self._error(name, exc, wait)
            self._iterations[name] = time.monotonic()
            self._note_skew()
            self.stop.wait(wait)

    # --- the three steps ----------------------------------------------------------------------

    def pull_step(self) -> bool:
        """Apply one snapshot page of the catch-up or the live stream (sync/pages.py: the next one
        downloads meanwhile); True while more pages wait. On the pull loop's own connection, each
        write in its turn (sync/turns.py), so the push loop never waits for more than one page."""
        replica = self._pull_replica()
        cursor, live_cursor = replica.cursor(), streams.live_cursor(replica.conn)
        if self._cycle_mark is None:
            with self._lock:
                self._cycle_mark = self.pushed.push_mark()  # the journal pushed from, and its cursor
        try:
            request, page = self._pages.next(cursor, live_cursor)
        except Stopped:
            return False
        if page.complete and not request.live:
            for index in streams.missing_indexes(replica.conn):  # a first sync ends: its indexes, a turn each
                with self._turns.page():
                    streams.build_index(replica.conn, index)
        for part in _parts(page):
            with self._turns.page():
                replica.apply_page(part, live=request.live)
        if page.complete and not request.live:
            with self._lock:
                self.pushed.mark_reflected(self._cycle_mark)
            self._cycle_mark = None
        changed = len(page.batches) + len(page.types) + len(page.vouchers)
        if changed or not page.complete:
            log.info(
                "pulled %d changes, %scursor %d",
                changed,
                "live " if request.live else "",
                page.next_cursor,
            )
        self.notifier.status(f"cursor {page.next_cursor}, pending {self.pending()}")
        # caught up with a server that waits for changes: ask again at once, it answers when one comes
        return request.live or not page.complete or self._pages.waits_next()

    def _pull_replica(self) -> Replica:
        """The pull loop's connection to replica.db, opened again when the file was replaced (a
        damaged replica moved aside and rebuilt)."""
        inode = os.stat(self.settings.replica_path).st_ino
        if self._pull is None or inode != self._pull_inode:
            if self._pull is not None:
                self._pull.close()
            self._pull, self._pull_inode = Replica(self.settings.replica_path, self.pushed), inode
        return self._pull

    def push_step(self) -> bool:
        """Push the oldest pending events (one batch); True when more may be waiting. The journal is
        opened afresh each time (one emptied or replaced in place is read as it is now); the one
        opened last time, when journal.db is no longer that file, is drained first."""
        held, now = self._journal, _file_id(self.settings.journal_path)
        if held is not None and self._journal_file != now:
            try:
                if self._push_from(held):
                    return True
            except sqlite3.Error as exc:  # the old file cannot be read any more: what it still held is lost
                log.warning("journal.db was deleted or replaced; the old file cannot be read (%s)", exc)
            log.info("journal.db was deleted or replaced: the old journal is drained")
        conn = self._open_journal(now)
        return conn is not None and self._push_from(conn)

    def _open_journal(self, file: tuple[int, int] | None) -> sqlite3.Connection | None:
        """The journal at journal.db now, read-only; None while there is none or the kiosk is still
        creating its tables (it is not there yet)."""
        conn = None
        if file is not None:
            conn = open_reader(self.settings.journal_path)
            try:
                ready = has_table(conn, "events")
            except sqlite3.Error:
                ready = True  # a damaged journal: read what can be read
            if not ready:
                conn.close()
                conn, file = None, None
        with self._lock:
            if self._journal is not None:
                self._journal.close()
            self._journal, self._journal_file = conn, file
        return conn

    def _push_from(self, conn: sqlite3.Connection) -> bool:
        """One batch of this journal's pending events; True when more may be waiting."""
        jid = self._identity(conn)
        top = _top(conn)
        with self._lock:  # pushed.db only: never waits for the pull loop's page
            start, loss = self.pushed.follow_journal(jid, top, lambda seq: _event_id_at(conn, seq))
        if loss is not None:
            log.warning("%s", loss.words())
        unreadable: list[int] = []
        try:
            found = events_after(conn, start, self.settings.push_batch)
        except sqlite3.DatabaseError as exc:
            if not is_damaged(exc):
                raise
            found, unreadable, _ = salvage_after(conn, start, self.settings.push_batch)
            self._damaged_journal(exc, len(unreadable))
        if not found and not unreadable:
            return False
        events, malformed = self._wire(jid, found)
        results: list[EventResult] = []
        if events:
            try:
                results = self.client.push(events)
            except BatchRefused as exc:
                results = self._push_one_by_one(events, exc)
        last = max([e.seq for e in found] + unreadable)
        with self._lock:
            self.pushed.record_outcomes(
                events, results, last, journal_id=jid, unreadable=len(unreadable), malformed=malformed
            )
        counts = {
            o: sum(r.outcome == o for r in results) for o in ("accepted", "duplicate", "conflict", "rejected")
        }
        counts["rejected"] += len(malformed)
        log.info("pushed %d events: %s", len(events), ", ".join(f"{n} {o}" for o, n in counts.items() if n))
        self.notifier.status(
            f"pushed {len(events)}, cursor {self.replica.cursor()}, pending {self.pending()}"
        )
        return len(found) + len(unreadable) >= self.settings.push_batch

    def _identity(self, conn: sqlite3.Connection) -> str:
        try:
            return journals.journal_identity(conn)
        except sqlite3.DatabaseError as exc:
            if not is_damaged(exc):
                raise
            with self._lock:  # a damaged journal that cannot say who it is: the one followed, if any
                followed = journals.followed(self.replica.conn)
            if followed is None:
                raise translate(
                    exc, self.settings.journal_path, said("cannot tell which journal it is")
                ) from exc
            return followed

    def _wire(
        self, jid: str, found: list[JournalEvent]
    ) -> tuple[list[Event], list[tuple[JournalEvent, str]]]:
        """The events as pushed (one made before this till was enrolled again names the device that
        made it), and those the protocol cannot carry, each with why: rejected here, never sent."""
        events, malformed = [], []
        for event in found:
            made_by = next((d for up_to, d in self._earlier.get(jid, ()) if event.seq <= up_to), None)
            try:
                events.append(event.wire(device_id=made_by))
            except Malformed as exc:
                log.error("journal event #%d cannot be pushed (%s): recorded as rejected", event.seq, exc)
                malformed.append((event, str(exc)))
        return events, malformed

    def _damaged_journal(self, exc: Exception, unreadable: int) -> None:
        told = (
            said(
                "push: journal.db is damaged ({cause}): pushing what can be read; {n} event(s) could not be read",
                cause=str(exc),
                n=unreadable,
            )
            if unreadable
            else said("push: journal.db is damaged ({cause}): pushing what can be read", cause=str(exc))
        )
        text = told.english()
        if text != self._journal_damage:
            self._journal_damage = text
            log.error("%s", text)
            self._record_health(last_error=told, last_error_at=datetime.now(UTC).isoformat())

    def _push_one_by_one(self, events: list[Event], first: BatchRefused) -> list[EventResult]:
        """The server refused the batch as malformed: find the event(s) it refuses; those are
        recorded as rejected here (kept in the journal, never retried), the others go through.
        The time of such a result is the server's when it refused (its Date header), else ours."""
        log.warning("upload refused as a whole (%s); sending one by one", first.detail)
        return self.client.push_each(events)

    def heartbeat_step(self) -> bool:
        with self._lock:
            health = health_file.read(Till(self.replica.conn, None))
        self.client.heartbeat(
            HeartbeatRequest(
                version=self.version,
                pending=self.pending(),
                last_pull_at=health.last_pull_at,
                last_push_at=health.last_push_at,
                snapshot_cursor=health.cursor,
                device_time=datetime.now(UTC),
            )
        )
        return False

    # --- helpers ------------------------------------------------------------------------------

    def pending(self) -> int:
        """Events of the journal not yet acknowledged (the last count that could be read, when a
        damaged journal or a full disk does not let it be counted now)."""
        with self._lock:
            try:
                self._pending = Till(self.replica.conn, self._journal).pending() if self._journal else 0
            except (sqlite3.Error, LocalDatabaseError):
                pass
            return self._pending

    def _record_health(self, **values: str | Said | int | None) -> None:
        """Health in pushed.db's state; when even that cannot be written (a full disk), in the log only."""
        try:
            with self._lock:
                self.pushed.set_state(**values)
        except (sqlite3.Error, LocalDatabaseError, OSError) as exc:
            log.warning("could not record the agent's health in pushed.db (%s)", exc)

    def _check_replica(self) -> None:
        """SQLite found a file damaged: when it is the replica, move it aside and rebuild it."""
        with self._turns.short(), self._lock:
            try:
                result = self.replica.conn.execute("PRAGMA quick_check(5)").fetchall()
                if [r[0] for r in result] == ["ok"]:
                    return
                reason = "; ".join(r[0] for r in result)
            except sqlite3.Error as exc:
                if not is_damaged(exc):
                    return
                reason = str(exc)
            self.replica.close()
            self.replica = rebuild_replica(self.settings.replica_path, reason, self.pushed)
            self._cycle_mark = None

    def _error(self, loop: str, exc: Exception, wait: float) -> None:
        if isinstance(exc, (sqlite3.Error, OSError)):
            exc = translate(exc, self.settings.replica_path)
        text = f"{loop}: {exc}"
        log.warning("%s (retrying in %.1f s)", text, wait)
        told = (
            said(
                "{loop}: {title}: {detail}",
                loop=Said(LOOPS.get(loop, loop)),
                title=Said(exc.title),
                detail=exc.said or exc.detail,
            )
            if isinstance(exc, VoucherError)
            else text
        )
        self._record_health(last_error=told, last_error_at=datetime.now(UTC).isoformat())
        self.notifier.status(f"{loop} failing: {str(exc)[:100]}; retrying")

    def _note_skew(self) -> None:
        skew = self.client.last_skew_seconds
        if skew is None or round(skew) == self._skew_written:
            return
        self._skew_written = round(skew)
        self._record_health(clock_skew_seconds=self._skew_written)
        if abs(skew) > self.settings.clock_skew_warn_seconds:
            log.warning("this device's clock is %+d s off the server's", self._skew_written)

    def _revoked(self, exc: Revoked) -> bool:
        """Wipe the snapshot and stop; False when that could not be written yet (tried again)."""
        told = said(
            "device revoked by the server ({detail}); the snapshot was wiped, the journal kept. Enrol again.",
            detail=exc.said or exc.detail,
        )
        message = told.english()
        log.error(message)
        try:
            with self._turns.short(), self._lock:
                self.replica.wipe_snapshot()
                self.replica.set_health(
                    stopped=told, last_error=told, last_error_at=datetime.now(UTC).isoformat()
                )
        except (sqlite3.Error, LocalDatabaseError, OSError) as error:
            log.warning("could not wipe the snapshot yet (%s); trying again", error)
            return False
        self.exit_code = EXIT_REVOKED
        self.stopped_reason = message
        self.stop.set()
        return True


def _parts(page: SnapshotPage) -> Iterator[SnapshotPage]:
    """A page of more than PART vouchers (a catch-up's) in parts, each applied in its own
    transaction so that the push loop's writes go between two of them: every part but the last
    holds only vouchers and leaves the cursor where it is; the last brings the rest and the cursor.
    Each row is at a version the server had, and the cursor never passes a change not applied."""
    vouchers = page.vouchers
    if len(vouchers) <= PART:
        yield page
        return
    last = (len(vouchers) - 1) // PART * PART
    for start in range(0, last, PART):
        yield page.model_copy(
            update={
                "next_cursor": page.cursor,
                "complete": False,
                "batches": [],
                "types": [],
                "deleted": Deleted(),
                "problems": [],
                "vouchers": vouchers[start : start + PART],
            }
        )
    yield page.model_copy(update={"vouchers": vouchers[last:]})


def open_replica(settings: AgentSettings, pushed: Pushed, *, thorough: bool = False) -> Replica:
    """replica.db, checked (quick_check; integrity_check in full when `thorough`, after a run that
    did not stop cleanly) and rebuilt from cursor 0 if it is damaged; the journal is never touched.
    Any other error (a full disk, no permission) is raised in words and the file left as it is."""
    path = settings.replica_path
    try:
        replica = Replica(path, pushed)
    except LocalDatabaseError as exc:
        if not is_damaged(exc):
            raise
        return rebuild_replica(path, str(exc), pushed)
    try:
        result = replica.conn.execute(
            f"PRAGMA {'integrity_check' if thorough else 'quick_check'}(5)"
        ).fetchall()
        reason = None if [r[0] for r in result] == ["ok"] else "; ".join(r[0] for r in result)
    except sqlite3.DatabaseError as exc:
        if not is_damaged(exc):
            replica.close()
            raise translate(exc, path) from exc
        reason = str(exc)
    if reason is None:
        return replica
    replica.close()
    return rebuild_replica(path, reason, pushed)


def rebuild_replica(path: Path, reason: str, pushed: Pushed) -> Replica:
    """Move the damaged replica aside (with its -wal and -shm, kept, not deleted) and start a new one
    from cursor 0; until its snapshot is complete the kiosk says the voucher list is being rebuilt.
    The outcomes and push cursors in pushed.db stay: nothing is pushed again."""
    try:
        aside = move_aside(path)
    except OSError as exc:
        raise translate(exc, path, said("cannot move the damaged replica aside")) from exc
    log.error("replica %s is damaged (%s): moved to %s, rebuilding from cursor 0", path, reason, aside.name)
    pushed.forget_reflected()  # the new snapshot reflects nothing yet: the till overlays its events again
    replica = Replica(path, pushed)
    replica.note_rebuilt(said("replica was corrupt ({cause}); rebuilt from cursor 0", cause=reason[:200]))
    return replica


def _write_marker(path: Path) -> None:
    """A file present while an agent runs: found at the start, the last run did not stop cleanly."""
    try:
        path.write_text(f"{os.getpid()}\n")
    except OSError as exc:  # a full disk: the next start checks in full anyway when it can
        log.warning("could not write %s (%s)", path, exc)


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _top(conn: sqlite3.Connection) -> int:
    """The journal's highest sequence number (what its sequence table says, when it is damaged)."""
    try:
        return journal_file.last_seq(conn)
    except sqlite3.DatabaseError as exc:
        if not is_damaged(exc):
            raise
    try:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return row[0] if row else 0
    except sqlite3.DatabaseError:
        return 0


def _event_id_at(conn: sqlite3.Connection, seq: int) -> str | None:
    if seq <= 0:
        return None
    row = conn.execute("SELECT id FROM events WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else row[0]
