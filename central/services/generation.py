"""Background voucher generation with progress that survives a server restart.

A job is the batch row itself: `generated` is the progress, `generation_next_serial` the
resume point, and a lease (`generation_owner`, `generation_lease_until`) says which server
process works on it. Each chunk of vouchers is committed with the progress in one
transaction, so a killed process loses at most the chunk in flight; whoever holds the lease
next (the same process after a restart, or another one) carries on from the resume point.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import RowMapping, or_, select, update
from sqlalchemy.exc import IntegrityError

from central.db.engine import Database, next_seq, next_seqs
from central.db.schema import batches, meta, utcnow
from central.services import batches as batch_service
from central.services.ids import new_id
from vouchers.codes import code_hash, new_codes
from vouchers.lifecycle import State, finish_generation

log = logging.getLogger(__name__)

STEPS = 100  # progress is committed at least this often in a job: every 1 %


@dataclass(frozen=True)
class Progress:
    """How far a generation job is, as its page shows it. `seconds_left` is estimated from the rate
    so far (None until there is one); `resumes_at` is set when the process that held the job has
    stopped (a restart): another takes it over when that process's lease runs out."""

    state: str
    done: int
    total: int
    error: str | None
    seconds_left: float | None
    resumes_at: datetime | None

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, 100 * self.done // self.total)


def chunk_for(total: int, chunk: int) -> int:
    """Vouchers per transaction of a job: the setting, but never more than 1 % of the batch."""
    return max(1, min(chunk, total // STEPS))


class Generator:
    """Runs generation jobs in threads of this server process."""

    def __init__(self, db: Database, *, chunk: int, lease_seconds: int, poll_seconds: float = 2.0) -> None:
        self.db = db
        self.chunk = chunk
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.owner = new_id("gen")
        self._stop = threading.Event()
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None
        self.started_at = utcnow()
        self._since: dict[str, tuple[datetime, int]] = {}  # batch id → (when this process began, done then)
        self._seen: dict[str, tuple[datetime, int]] = {}  # a job elsewhere: when this process first saw it

    def lease_until(self):
        return utcnow() + self.lease

    def start(self) -> None:
        """Resume jobs left by a stopped process, and keep watching for abandoned ones."""
        self._supervisor = threading.Thread(target=self._supervise, name="generation-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in [self._supervisor, *self._running.values()]:
            if thread is not None:
                thread.join(timeout=10)

    def kick(self, batch_id: str) -> None:
        """Start working on a batch whose lease this process holds."""
        with self._lock:
            if batch_id in self._running and self._running[batch_id].is_alive():
                return
            thread = threading.Thread(
                target=self._run, args=(batch_id,), name=f"generate-{batch_id}", daemon=True
            )
            self._running[batch_id] = thread
            thread.start()

    def _supervise(self) -> None:
        while not self._stop.is_set():
            try:
                for batch_id in self._take_over_abandoned():
                    self.kick(batch_id)
            except Exception:  # the database may be briefly unavailable; try again next round
                log.exception("generation supervisor round failed")
            self._stop.wait(self.poll_seconds)

    def _take_over_abandoned(self) -> list[str]:
        query = select(batches.c.id).where(
            batches.c.state == State.GENERATING.value,
            or_(
                batches.c.generation_lease_until.is_(None),
                batches.c.generation_lease_until < utcnow(),
                batches.c.generation_owner == self.owner,
            ),
        )
        with self.db.read() as conn:
            if not conn.execute(query).first():
                return []
        taken = []
        with self.db.write() as conn:
            for batch_id in list(conn.execute(query).scalars()):
                conn.execute(
                    update(batches)
                    .where(batches.c.id == batch_id)
                    .values(generation_owner=self.owner, generation_lease_until=self.lease_until())
                )
                taken.append(batch_id)
        return taken

    def _run(self, batch_id: str) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if not self._step(batch_id):
                        return
                except IntegrityError:
                    log.warning("code collision while generating %s; retrying the chunk", batch_id)
        except Exception as exc:
            log.exception("generation of %s stopped; the supervisor will resume it", batch_id)
            self._record_error(batch_id, f"{exc.__class__.__name__}: {exc}"[:1000])
        finally:
            with self._lock:
                self._running.pop(batch_id, None)

    def _record_error(self, batch_id: str, text: str) -> None:
        """Show head office why the job is stuck (GET /batches/{id} → generation.error)."""
        try:
            with self.db.write() as conn:
                conn.execute(update(batches).where(batches.c.id == batch_id).values(generation_error=text))
        except Exception:
            log.exception("could not record the generation error of %s", batch_id)

    def _step(self, batch_id: str) -> bool:
        """Generate and commit one chunk; False when the job is finished or not ours."""
        with self.db.write() as conn:
            row = conn.execute(select(batches).where(batches.c.id == batch_id)).mappings().first()
            if row is None or row["state"] != State.GENERATING or row["generation_owner"] != self.owner:
                return False
            types = batch_service.type_rows(conn, batch_id)
            self._since.setdefault(batch_id, (utcnow(), row["generated"]))
            serials = _next_serials(types, row["generation_next_serial"], chunk_for(row["total"], self.chunk))
            if not serials:
                conn.execute(
                    update(batches)
                    .where(batches.c.id == batch_id)
                    .values(
                        state=finish_generation(row["state"]).value,
                        generation_owner=None,
                        generation_lease_until=None,
                        generation_next_serial=None,
                        updated_at=utcnow(),
                        change_seq=next_seq(conn),
                    )
                )
                self._since.pop(batch_id, None)
                return False
            key = bytes.fromhex(
                conn.execute(select(meta.c.value).where(meta.c.key == "code_hash_key")).scalar_one()
            )
            seqs = next_seqs(conn, len(serials))
            rows = [
                (batch_id, serial, type_id, code, code_hash(code, key), seq)
                for (serial, type_id), code, seq in zip(serials, new_codes(len(serials)), seqs, strict=True)
            ]
            conn.exec_driver_sql(_insert_sql(conn), rows)  # plain tuples: the hot loop of generation
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(
                    generated=row["generated"] + len(rows),
                    generation_next_serial=serials[-1][0] + 1,
                    generation_lease_until=self.lease_until(),
                    generation_error=None,
                )
            )
        return True

    def progress(self, row: RowMapping, now: datetime | None = None) -> Progress:
        """A batch row's generation progress, with the time left and, when the process generating it
        stopped, when another takes over."""
        now = now or utcnow()
        done, total = row["generated"], row["total"]
        if row["state"] != State.GENERATING:
            self._seen.pop(row["id"], None)
            return Progress(row["state"], total, total, None, None, None)
        lease_until = row["generation_lease_until"]
        resumes_at = None
        if row["generation_owner"] != self.owner and lease_until is not None:
            heard = lease_until - self.lease  # the owner's last commit renewed its lease
            if heard < self.started_at or now - heard > self.lease / 2:
                resumes_at = max(lease_until, now)
        elif row["generation_owner"] is None:
            resumes_at = now
        if resumes_at is not None:
            self._seen.pop(row["id"], None)  # its rate is timed afresh once another process resumes it
        # the rate since this process began the job or, for a job elsewhere, since it first saw it
        start, done_then = self._since.get(row["id"]) or self._seen.setdefault(row["id"], (now, done))
        seconds_left = None
        elapsed = (now - start).total_seconds()
        if resumes_at is None and done > done_then and elapsed > 0:
            seconds_left = (total - done) * elapsed / (done - done_then)
        return Progress(row["state"], done, total, row["generation_error"], seconds_left, resumes_at)


def _insert_sql(conn) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return (
        "INSERT INTO vouchers (batch_id, serial, type_id, code, code_hash, change_seq) "
        f"VALUES ({', '.join([mark] * 6)})"
    )


def _next_serials(types, start: int | None, limit: int) -> list[tuple[int, str]]:
    """Up to `limit` (serial, type id) pairs from `start` on, walking the types in serial order."""
    if start is None:
        return []
    out: list[tuple[int, str]] = []
    for t in types:
        lo = max(start, t["serial_start"])
        hi = t["serial_end"]
        if lo > hi:
            continue
        take = min(hi - lo + 1, limit - len(out))
        out.extend((s, t["id"]) for s in range(lo, lo + take))
        if len(out) >= limit:
            break
    return out
