"""A head office (real server process on SQLite) and store hosts with the agent as a process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localdb.connect import open_reader
from localdb.journal import Journal
from localdb.till import Till
from support.server import ServerProcess
from support.store_host import AgentProcess, HeadOffice
from vouchers.codes import code_hash, normalise


@pytest.fixture
def server(tmp_path):
    with ServerProcess(f"sqlite:///{tmp_path / 'central.db'}", log=tmp_path / "server.log") as process:
        yield process


@pytest.fixture
def office(server) -> HeadOffice:
    return HeadOffice(server)


class Till_:
    """A till as the kiosk will drive it: replica read-only, journal written."""

    def __init__(self, data_dir: Path, agent: AgentProcess) -> None:
        self.data_dir = data_dir
        self.agent = agent
        self.journal = Journal(data_dir / "journal.db")
        self._replica = None

    @property
    def key(self) -> bytes:
        return bytes.fromhex(json.loads((self.data_dir / "device.json").read_text())["code_hash_key"])

    def view(self) -> Till:
        if self._replica is None:
            self._replica = open_reader(self.data_dir / "replica.db")
        return Till(self._replica, self.journal.conn)

    def lookup(self, code: str):
        if not (self.data_dir / "replica.db").exists():
            return None
        return self.view().lookup(code_hash(normalise(code), self.key))

    def redeem(self, code: str):
        found = self.lookup(code)
        assert found is not None, f"{code} not in the replica"
        return self.journal.append("redeem", found.voucher.id)

    def close(self):
        self.journal.close()
        if self._replica is not None:
            self._replica.close()


@pytest.fixture
def make_till(tmp_path, server, office):
    tills = []

    def make(store_id: str = "s1", name: str = "till", start: bool = True) -> Till_:
        data_dir = tmp_path / f"{store_id}-{name}"
        agent = AgentProcess(data_dir)
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
