"""A head office (real server process on SQLite) and store hosts with the agent as a process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import FAST, AgentProcess, HeadOffice, ServerProcess
from localdb.connect import open_reader
from localdb.journal import Journal
from localdb.till import Till
from vouchers.codes import code_hash, normalise


@pytest.fixture
def server(tmp_path):
    with ServerProcess(f"sqlite:///{tmp_path / 'central.db'}", log=tmp_path / "server.log") as process:
        yield process


@pytest.fixture
def office(server) -> HeadOffice:
    return HeadOffice(server)


class Till_:
    """A till as the kiosk will drive it: replica read-only, journal written. The journal is opened
    for writing on first use only, so a test may let the kiosk's own CLI be its one writer instead."""

    def __init__(self, data_dir: Path, agent: AgentProcess) -> None:
        self.data_dir = data_dir
        self.agent = agent
        self._journal: Journal | None = None
        self._journal_reader = None
        self._replica = None

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self.data_dir / "journal.db")
        return self._journal

    @property
    def key(self) -> bytes:
        return bytes.fromhex(json.loads((self.data_dir / "device.json").read_text())["code_hash_key"])

    def view(self) -> Till:
        if self._replica is None:
            self._replica = open_reader(self.data_dir / "replica.db")
        if self._journal is not None:
            return Till(self._replica, self._journal.conn)
        if self._journal_reader is None and (self.data_dir / "journal.db").exists():
            self._journal_reader = open_reader(self.data_dir / "journal.db")
        return Till(self._replica, self._journal_reader)

    def lookup(self, code: str):
        if not (self.data_dir / "replica.db").exists():
            return None
        return self.view().lookup(code_hash(normalise(code), self.key))

    def redeem(self, code: str):
        found = self.lookup(code)
        assert found is not None, f"{code} not in the replica"
        return self.journal.append("redeem", found.voucher.id)

    def close(self):
        for handle in (self._journal, self._journal_reader, self._replica):
            if handle is not None:
                handle.close()


@pytest.fixture
def make_till(tmp_path, server, office):
    tills = []

    def make(store_id: str = "s1", name: str = "till", start: bool = True) -> Till_:
        data_dir = tmp_path / f"{store_id}-{name}"
        agent = AgentProcess(data_dir, settings=FAST)
        result = agent.enrol(server.url, office.enrolment_code(store_id), name)
        assert result.returncode == 0, result.stderr
        till = Till_(data_dir, agent)
        tills.append(till)
        if start:
            agent.start()
        return till

    yield make
    for till in tills:
        till.agent.stop()
        till.close()
