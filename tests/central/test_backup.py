"""`voucher-central backup FILE`: a checked copy of a SQLite database, refusals in words, and the
restore drill: back up while a till's events arrive, restore into a new server, re-send."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from central.db.engine import Database
from central.db.migrate import upgrade
from central.db.revisions import head
from harness import HeadOffice, ServerProcess, wait_for

BIN = Path(sys.executable).parent


def backup(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "voucher-central"), "backup", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def migrated(path: Path) -> str:
    url = f"sqlite:///{path}"
    db = Database(url)
    try:
        upgrade(db)
        with db.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO stores (id, name, timezone, created_at) "
                "VALUES ('leeds', 'Leeds', 'Europe/London', '2026-01-01 00:00:00.000000')"
            )
    finally:
        db.dispose()
    return url


def rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def test_backup_copies_the_database_and_checks_the_copy(tmp_path):
    url = migrated(tmp_path / "central.db")
    copy = tmp_path / "backups" / "central-copy.db"
    copy.parent.mkdir()
    done = backup("--database", url, str(copy), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "integrity check ok" in done.stdout and f"schema revision {head()}" in done.stdout
    assert copy.stat().st_mode & 0o777 == 0o600  # staff hashes, members' addresses: not for others to read
    assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
    assert rows(copy, "SELECT version_num FROM alembic_version") == [(head(),)]
    assert rows(copy, "SELECT id, name FROM stores") == [("leeds", "Leeds")]
    assert sorted(p.name for p in copy.parent.iterdir()) == ["central-copy.db"]  # no partial file left


def test_backup_refuses_postgresql_in_words(tmp_path):
    done = backup(
        "--database",
        "postgresql+psycopg://vouchers@db.internal/vouchers",
        str(tmp_path / "x.db"),
        cwd=tmp_path,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "PostgreSQL" in done.stderr and "pg_dump -Fc" in done.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    "where, words",
    [
        ("no-such-dir/copy.db", "does not exist"),
        ("central.db/copy.db", "is not a directory"),
        (".", "is a directory"),
        ("central.db", "is the database itself"),
    ],
)
def test_backup_refuses_a_path_it_cannot_write_in_words(tmp_path, where, words):
    url = migrated(tmp_path / "central.db")
    done = backup("--database", url, where, cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert words in done.stderr, done.stderr
    assert rows(tmp_path / "central.db", "SELECT id FROM stores") == [("leeds",)]  # the database untouched


def test_a_failed_backup_leaves_the_old_copy_in_place(tmp_path):
    (tmp_path / "not-central.db").write_bytes(b"")  # a file, but no voucher-central database
    with closing(sqlite3.connect(tmp_path / "not-central.db")) as conn:
        conn.execute("CREATE TABLE t (x)")
    old = tmp_path / "copy.db"
    old.write_bytes(b"yesterday's backup")
    done = backup("--database", f"sqlite:///{tmp_path / 'not-central.db'}", str(old), cwd=tmp_path)
    assert done.returncode != 0 and "no schema revision" in done.stderr and "Traceback" not in done.stderr
    assert old.read_bytes() == b"yesterday's backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "not-central.db"]


class Till:
    """A till posting one redemption at a time over HTTP, remembering when each was sent and answered."""

    def __init__(self, url: str, token: str, voucher_ids: list[str]) -> None:
        self.url, self.token, self.voucher_ids = url, token, voucher_ids
        self.events: list[dict] = []
        self.sent: list[float] = []
        self.acked: list[float] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with httpx.Client(
                base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
            ) as c:
                for seq, voucher_id in enumerate(self.voucher_ids, 1):
                    if self.stop.is_set():
                        return
                    event = {
                        "id": str(uuid.uuid4()),
                        "kind": "redeem",
                        "voucher_id": voucher_id,
                        "at": datetime.now(UTC).isoformat(),
                        "device_seq": seq,
                    }
                    self.sent.append(time.monotonic())
                    answer = c.post("/api/v1/sync/events", json={"events": [event]})
                    answer.raise_for_status()
                    assert answer.json()["results"][0]["outcome"] == "accepted"
                    self.events.append(event)
                    self.acked.append(time.monotonic())
        except BaseException as exc:  # seen by the test
            self.error = exc


def outcomes(server: ServerProcess, token: str, events: list[dict]) -> list[str]:
    found = []
    for start in range(0, len(events), 100):
        answer = httpx.post(
            f"{server.url}/api/v1/sync/events",
            json={"events": events[start : start + 100]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        answer.raise_for_status()
        found += [r["outcome"] for r in answer.json()["results"]]
    return found


def ingest_counts(server: ServerProcess) -> dict[str, float]:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text  # loopback: no token needed
    return {
        s.labels["outcome"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "voucher_ingest_events_total"
    }


@pytest.mark.slow
def test_restore_drill_events_in_the_backup_answer_duplicate_and_later_ones_accepted(tmp_path):
    live, copy, restored = tmp_path / "live.db", tmp_path / "backup.db", tmp_path / "restored.db"
    with ServerProcess(f"sqlite:///{live}", log=tmp_path / "live.log") as server:
        office = HeadOffice(server)
        office.store("leeds")
        batch = office.batch(
            300, claimed=300
        )  # more than the till sends while a backup runs on a busy machine
        voucher_ids = [office.voucher(code)["id"] for code in batch["codes"]]
        code = office.enrolment_code("leeds")
        device = httpx.post(
            f"{server.url}/api/v1/devices/enrol",
            json={"enrolment_code": code, "device_name": "t1"},
            timeout=30,
        ).json()
        till = Till(server.url, device["token"], voucher_ids)
        till.thread.start()
        wait_for(lambda: len(till.acked) >= 20 or till.error, 60, "20 events acknowledged")
        started = time.monotonic()
        done = backup("--database", f"sqlite:///{live}", str(copy), cwd=tmp_path)
        ended = time.monotonic()
        assert done.returncode == 0, done.stderr
        after = len(till.acked)
        wait_for(
            lambda: len(till.acked) >= after + 20 or till.error or not till.thread.is_alive(),
            60,
            "20 more events acknowledged",
        )
        till.stop.set()
        till.thread.join(30)
        assert till.error is None, repr(till.error)
    events = till.events
    in_copy = {r[0] for r in rows(copy, "SELECT id FROM events")}
    # the copy is the database as of one commit: a prefix of what the till sent, one at a time
    k = len(in_copy)
    assert in_copy == {e["id"] for e in events[:k]}
    assert all(i < k for i in range(len(events)) if till.acked[i] < started)  # answered before: in the copy
    assert all(i >= k for i in range(len(events)) if till.sent[i] > ended)  # sent after: not in it
    assert 20 <= k <= len(events) - 20
    assert any(started < t < ended for t in till.sent)  # the till kept sending while the backup ran

    shutil.copyfile(copy, restored)  # the restore: the copy in place of the database, a new server on it
    with ServerProcess(f"sqlite:///{restored}", log=tmp_path / "restored.log") as server:
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        resent = outcomes(server, device["token"], events)  # the till's journal, pushed from its start
        assert resent == ["duplicate"] * k + ["accepted"] * (len(events) - k)
        assert outcomes(server, device["token"], events) == ["duplicate"] * len(
            events
        )  # and again: nothing twice
        counted = HeadOffice(server).admin.get(f"/batches/{batch['id']}").json()["metrics"]["redeemed"]
        redemptions = HeadOffice(server).ledger("leeds")
        counts = ingest_counts(server)
    assert counted == len(events) == len({e["voucher_id"] for e in redemptions if e["kind"] == "redeem"})
    assert len(redemptions) == len(events)
    assert counts["accepted"] == len(events) - k and counts["duplicate"] == k + len(events)
