"""The till's files are the owner's alone: the directory 0700, each database and its -wal and
-shm 0600, even under the usual umask 0022 (which would give SQLite's own files 0644).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from harness import FAST, AgentProcess, HeadOffice, ServerProcess, wait_for
from localdb.journal import Journal
from localdb.replica import Replica

PAGE = {
    "cursor": 0,
    "next_cursor": 5,
    "complete": True,
    "store": {"id": "s1", "timezone": "Europe/London"},
    "batches": [],
    "types": [],
    "vouchers": [],
    "deleted": {"batches": [], "types": [], "vouchers": []},
}


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def modes(directory: Path, name: str) -> dict[str, int]:
    return {suffix: mode(directory / f"{name}{suffix}") for suffix in ("", "-wal", "-shm")}


@pytest.fixture(autouse=True)
def umask_0022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_files_and_their_wal_and_shm_are_0600_in_a_new_0700_directory(tmp_path):
    data_dir = tmp_path / "var" / "till"
    replica = Replica(data_dir / "replica.db")
    replica.apply_page(PAGE)  # a write: the -wal and -shm exist while the writer is open
    journal = Journal(data_dir / "journal.db")
    journal.append("redeem", "b1.1")
    try:
        assert mode(data_dir) == 0o700
        assert (
            mode(data_dir.parent) == 0o755
        )  # parents as the umask says: only the till's own directory is ours
        assert modes(data_dir, "replica.db") == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
        assert modes(data_dir, "journal.db") == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
        assert mode(data_dir / "journal.db.writer") == 0o600
    finally:
        replica.close()
        journal.close()


def test_files_of_an_earlier_install_are_brought_to_0600(tmp_path):
    """A till installed before: SQLite made its files 0644, and a crash left the -wal and -shm."""
    path = tmp_path / "replica.db"
    earlier = sqlite3.connect(path)
    earlier.execute("PRAGMA journal_mode=WAL")
    earlier.execute("CREATE TABLE t (x)")
    earlier.execute("INSERT INTO t VALUES (1)")
    earlier.commit()
    assert modes(tmp_path, "replica.db") == {"": 0o644, "-wal": 0o644, "-shm": 0o644}
    replica = Replica(path)
    try:
        assert modes(tmp_path, "replica.db") == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
    finally:
        replica.close()
        earlier.close()


def test_a_directory_the_operator_made_is_left_as_it_is(tmp_path):
    data_dir = tmp_path / "till"
    data_dir.mkdir(mode=0o750)
    Replica(data_dir / "replica.db").close()
    assert mode(data_dir) == 0o750 and mode(data_dir / "replica.db") == 0o600


def test_enrol_and_the_agent_keep_the_till_private(tmp_path):
    """Real processes under umask 0022: enrol makes the directory 0700 and the identity 0600, the
    agent's replica.db and its -wal and -shm are 0600."""
    with ServerProcess(f"sqlite:///{tmp_path / 'central.db'}", log=tmp_path / "server.log") as server:
        office = HeadOffice(server)
        office.store("s1")
        data_dir = tmp_path / "till"
        agent = AgentProcess(data_dir, settings=FAST)
        result = agent.enrol(server.url, office.enrolment_code("s1"))
        assert result.returncode == 0, result.stderr
        assert mode(data_dir) == 0o700 and mode(data_dir / "device.json") == 0o600
        agent.start()
        try:
            wait_for(
                lambda: (data_dir / "replica.db-shm").exists() and agent.status().startswith("healthy"),
                what="the agent's first pull",
            )
            assert modes(data_dir, "replica.db") == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
            assert mode(data_dir) == 0o700
        finally:
            assert agent.stop() == 0
