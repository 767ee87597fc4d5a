"""`voucher-sync status`: healthy (0), degraded (1) and unreadable (2), as text and as JSON.

A monitoring script reads only the exit status and the JSON, so each reason to be degraded is
made here on real files (by a real agent against a real server, or by the project's own
Replica and Journal) and read back through the real command.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness import BIN, FAST_ENV, wait_for
from localdb.connect import open_reader
from localdb.health import Limits, assess
from localdb.journal import Journal
from localdb.replica import Replica
from localdb.till import Till
from vouchers.status import Status
from vouchers.wire import EventResult


def status(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "voucher-sync"), "status", "--data-dir", str(data_dir), *args],
        env={**os.environ, **FAST_ENV, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def status_json(data_dir: Path, **env: str) -> tuple[int, dict]:
    result = status(data_dir, "--json", **env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def synced(till, code):
    return lambda: (found := till.lookup(code)) is not None and found.voucher.status is Status.UNUSED


# --- a real till: agent process, head office server --------------------------------------------


def test_healthy_right_after_a_complete_sync_and_nothing_secret(office, make_till):
    office.store("s1")
    batch = office.batch(5, claimed=2)
    till = make_till()
    wait_for(synced(till, batch["codes"][0]), what="first sync")
    till.redeem(batch["codes"][0])
    wait_for(lambda: till.view().pending() == 0, what="the redemption pushed")
    code, report = wait_for(lambda: (r := status_json(till.data_dir))[0] == 0 and r, what="status healthy")
    assert report["status"] == "healthy" and report["problems"] == []
    assert report["store_id"] == "s1" and report["snapshot_complete"] is True and report["cursor"] > 0
    assert report["pending"] == 0 and report["conflicts"] == [] and report["rejections"] == []
    assert report["last_pull_at"] and report["last_push_at"] and report["stopped"] is None
    assert set(report) >= {
        "store_id",
        "cursor",
        "snapshot_complete",
        "pending",
        "last_pull_at",
        "last_push_at",
        "last_error",
        "last_error_at",
        "clock_skew_seconds",
        "stopped",
        "conflicts",
        "rejections",
        "problems",
        "status",
    }
    text = status(till.data_dir)
    assert text.returncode == 0 and text.stdout.splitlines()[0] == "healthy"
    assert "pending events 0" in text.stdout and "0 conflict(s), 0 rejection(s)" in text.stdout
    identity = json.loads((till.data_dir / "device.json").read_text())
    for secret in (identity["token"], identity["code_hash_key"]):
        assert secret not in json.dumps(report) and secret not in text.stdout + text.stderr


def test_an_agent_stopped_past_the_offline_limit_is_degraded(office, make_till):
    office.store("s1")
    batch = office.batch(3, claimed=1)
    till = make_till()
    wait_for(synced(till, batch["codes"][0]), what="first sync")
    wait_for(lambda: status(till.data_dir).returncode == 0, what="status healthy")
    assert till.agent.stop() == 0
    assert status(till.data_dir).returncode == 0  # stopped a moment ago: within the 15 minutes
    tiny = {"VOUCHER_SYNC_OFFLINE_LIMIT_MINUTES": "0.005"}  # 0.3 s
    code, report = wait_for(lambda: (r := status_json(till.data_dir, **tiny))[0] == 1 and r, 10, "offline")
    assert report["status"] == "degraded"
    assert [p for p in report["problems"] if p.startswith("offline: no successful pull for")]
    assert not [p for p in report["problems"] if p.startswith("stale")]  # 24 h by default
    stale = {"VOUCHER_SYNC_STALE_SNAPSHOT_HOURS": "0.0001"}  # 0.36 s
    code, report = wait_for(lambda: (r := status_json(till.data_dir, **stale))[0] == 1 and r, 10, "stale")
    assert [p for p in report["problems"] if p.startswith("stale snapshot: last pulled")]
    first = status(till.data_dir, **tiny).stdout.splitlines()[0]
    assert first.startswith("DEGRADED: offline: no successful pull for")


def test_a_revoked_agent_is_degraded_until_enrolled_again(office, server, make_till):
    office.store("s1")
    batch = office.batch(3, claimed=1)
    till = make_till()
    wait_for(synced(till, batch["codes"][0]), what="first sync")
    device_id = json.loads((till.data_dir / "device.json").read_text())["device_id"]
    office.admin.post(f"/devices/{device_id}/revoke").raise_for_status()
    assert till.agent.process.wait(30) == 3
    code, report = status_json(till.data_dir)
    assert code == 1 and report["stopped"] and "revoked" in report["stopped"]
    assert report["snapshot_complete"] is False and report["cursor"] == 0
    assert any(p.startswith("the agent stopped: device revoked") for p in report["problems"])
    assert "no snapshot: it was wiped or has not been pulled since" in report["problems"]
    assert till.agent.enrol(server.url, office.enrolment_code("s1")).returncode == 0
    till.agent.start()
    code, report = wait_for(lambda: (r := status_json(till.data_dir))[0] == 0 and r, what="healthy again")
    assert report["stopped"] is None and report["snapshot_complete"] is True


# --- each reason, on files the project's own classes write ---------------------------------------


def page(cursor: int, next_cursor: int, complete: bool = True) -> dict:
    return {
        "cursor": cursor,
        "next_cursor": next_cursor,
        "complete": complete,
        "store": {"id": "s1", "timezone": "Europe/London"},
        "batches": [
            {
                "id": "b1",
                "identifier": "Spring",
                "description": "",
                "state": "redeemable",
                "claims": "active",
                "valid_from": None,
                "valid_until": None,
                "stores": None,
            }
        ],
        "types": [
            {
                "id": "t1",
                "batch_id": "b1",
                "name": "Std",
                "value": "£5 off",
                "min_purchase": None,
                "initial_status": "unused",
            }
        ],
        "vouchers": [
            {
                "id": f"b1.{n}",
                "batch_id": "b1",
                "type_id": "t1",
                "serial": n,
                "code_hash": f"h{n}",
                "claimed": True,
                "status": "unused",
                "used_at": None,
                "used_store": None,
            }
            for n in (1, 2, 3)
        ],
        "deleted": {"batches": [], "types": [], "vouchers": []},
    }


def pushed(replica: Replica, journal: Journal, *outcomes: str) -> None:
    """One redemption per outcome, journaled and its outcome recorded as the agent would."""
    events = [journal.append("redeem", f"b1.{n}") for n, _ in enumerate(outcomes, 1)]
    results = [
        EventResult.from_wire(
            {
                "id": e.id,
                "outcome": o,
                "server_time": datetime.now(UTC).isoformat(),
                "reason": "ALREADY_USED" if o == "conflict" else "BATCH_LOCKED" if o == "rejected" else None,
                "winner": {"store_id": "s9", "device_id": "d9", "at": "2026-03-01T10:00:00+00:00"}
                if o == "conflict"
                else None,
            }
        )
        for e, o in zip(events, outcomes, strict=False)
    ]
    replica.pushed.record_outcomes([e.wire() for e in events], results, events[-1].seq)


def healthy_files(data_dir: Path) -> tuple[Replica, Journal]:
    replica, journal = Replica(data_dir / "replica.db"), Journal(data_dir / "journal.db")
    replica.apply_page(page(0, 10))
    pushed(replica, journal, "accepted")
    return replica, journal


def never_pulled(d):
    Replica(d / "replica.db").close()


def incomplete(d):
    replica = Replica(d / "replica.db")
    replica.apply_page(page(0, 10, complete=False))
    replica.close()


def conflict(d):
    replica, journal = healthy_files(d)
    pushed(replica, journal, "conflict")
    replica.close(), journal.close()


def rejection(d):
    replica, journal = healthy_files(d)
    pushed(replica, journal, "accepted", "rejected")
    replica.close(), journal.close()


def replaced_journal(d):
    replica, journal = healthy_files(d)
    pushed(replica, journal, "accepted", "accepted")  # push cursor 3
    journal.close()
    for name in ("journal.db", "journal.db-wal", "journal.db-shm"):
        (d / name).unlink(missing_ok=True)
    Journal(d / "journal.db").append("redeem", "b1.1")  # a fresh journal numbers from 1 again
    replica.close()


def missing_journal(d):
    replica, journal = healthy_files(d)
    journal.close()
    (d / "journal.db").unlink()
    replica.close()


def stopped(d):
    replica, journal = healthy_files(d)
    replica.set_health(stopped="device revoked by the server (test)")
    replica.close(), journal.close()


@pytest.mark.parametrize(
    "make, problem",
    [
        (never_pulled, "never pulled a snapshot from head office"),
        (incomplete, "incomplete snapshot: the last page pulled said more was to come"),
        (conflict, "1 conflict(s) to review"),
        (rejection, "1 rejection(s) to review"),
        (
            replaced_journal,
            (
                "journal.db was replaced: the journal before it is gone; head office had acknowledged 3 "
                "of its events; nothing it held was lost"
            ),
        ),
        (
            missing_journal,
            (
                "journal.db is missing: head office had acknowledged 1 event from the journal that was "
                "there; nothing it held was lost"
            ),
        ),
        (stopped, "the agent stopped: device revoked by the server (test)"),
    ],
)
def test_each_reason_to_be_degraded(tmp_path, make, problem):
    make(tmp_path)
    code, report = status_json(tmp_path)
    assert (code, report["status"], report["problems"]) == (1, "degraded", [problem])
    text = status(tmp_path)
    assert text.returncode == 1 and text.stdout.splitlines()[0] == f"DEGRADED: {problem}"


def test_the_same_files_healthy_and_the_outcomes_listed(tmp_path):
    replica, journal = healthy_files(tmp_path)
    assert status_json(tmp_path)[0] == 0
    pushed(replica, journal, "conflict", "rejected")
    replica.close(), journal.close()
    code, report = status_json(tmp_path)
    assert code == 1 and report["problems"] == ["1 conflict(s) to review", "1 rejection(s) to review"]
    [lost], [refused] = report["conflicts"], report["rejections"]
    assert (lost["outcome"], lost["winner_store"], lost["seq"]) == ("conflict", "s9", 2)
    assert lost["details"].startswith("already used at store s9 (device d9)")
    assert (refused["outcome"], refused["reason"], refused["seq"]) == ("rejected", "BATCH_LOCKED", 3)


def test_offline_and_stale_by_the_clock(tmp_path):
    """The same judgement the command makes, at chosen times: offline first, stale later."""
    replica, journal = healthy_files(tmp_path)
    till = Till(open_reader(tmp_path / "replica.db"), open_reader(tmp_path / "journal.db"))
    limits = Limits(offline=timedelta(minutes=15), stale=timedelta(hours=24))
    now = datetime.now(UTC)
    assert assess(till, limits, now).problems == ()
    later = assess(till, limits, now + timedelta(minutes=16))
    assert (
        later.degraded
        and len(later.problems) == 1
        and later.problems[0].startswith("offline: no successful pull")
    )
    much_later = assess(till, limits, now + timedelta(hours=25))
    assert [p.split(":")[0] for p in much_later.problems] == ["offline", "stale snapshot"]
    for conn in (till.replica, till.journal):
        conn.close()
    replica.close(), journal.close()


# --- cannot read the files: exit 2, one line, never a traceback -------------------------------------


def no_dir(d):
    return d / "nowhere"


def no_replica(d):
    return d


def garbage_replica(d):
    (d / "replica.db").write_bytes(os.urandom(8192))
    return d


def truncated_journal(d):
    replica, journal = healthy_files(d)
    for n in range(200):
        journal.append("refused", None, verdict="INVALID_CODE", reason="x" * 200)
    replica.close(), journal.close()
    size = (d / "journal.db").stat().st_size
    with open(d / "journal.db", "r+b") as f:
        f.truncate(size // 2)
    return d


def garbage_journal(d):
    replica, journal = healthy_files(d)
    replica.close(), journal.close()
    (d / "journal.db").write_bytes(b"not a database at all " * 500)
    return d


@pytest.mark.parametrize(
    "make, words",
    [
        (no_dir, "does not exist"),
        (no_replica, "no replica at"),
        (garbage_replica, "replica.db"),
        (truncated_journal, "journal.db"),
        (garbage_journal, "journal.db"),
    ],
)
def test_unreadable_files_exit_2_in_words(tmp_path, make, words):
    data_dir = make(tmp_path)
    text = status(data_dir)
    assert text.returncode == 2 and text.stdout == "", text.stdout
    assert "Traceback" not in text.stderr and len(text.stderr.strip().splitlines()) == 1, text.stderr
    assert text.stderr.startswith("error: ") and words in text.stderr
    result = status(data_dir, "--json")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert (
        report["status"] == "unreadable" and words in report["error"] and set(report) == {"status", "error"}
    )


def test_a_wrong_configuration_is_unreadable_too(tmp_path):
    (tmp_path / "sync.toml").write_text("offline_limit_minutes = -1\n")
    result = status(tmp_path, "--json", "--config", str(tmp_path / "sync.toml"))
    assert result.returncode == 2 and json.loads(result.stdout)["status"] == "unreadable"
    assert "offline_limit_minutes" in json.loads(result.stdout)["error"]


def test_help_names_the_exit_statuses_and_version_prints():
    result = subprocess.run(
        [str(BIN / "voucher-sync"), "status", "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert (
        "exit status:" in result.stdout and "0  healthy" in result.stdout and "1  degraded" in result.stdout
    )
    assert "2  the files cannot be read" in result.stdout
    version = subprocess.run(
        [str(BIN / "voucher-sync"), "--version"], capture_output=True, text=True, timeout=30
    )
    assert version.returncode == 0 and version.stdout.startswith("voucher-sync ")
    assert len(version.stdout.split()) == 2
