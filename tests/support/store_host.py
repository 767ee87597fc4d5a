"""A store host for tests: a real central server process, an enrolled device, the agent as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from support.server import ServerProcess

BIN = Path(sys.executable).parent
FAST = {
    "VOUCHER_SYNC_PULL_INTERVAL_SECONDS": "0.2",
    "VOUCHER_SYNC_PUSH_POLL_SECONDS": "0.05",
    "VOUCHER_SYNC_HEARTBEAT_SECONDS": "1",
    "VOUCHER_SYNC_BACKOFF_INITIAL_SECONDS": "0.05",
    "VOUCHER_SYNC_BACKOFF_MAX_SECONDS": "0.5",
    "VOUCHER_SYNC_TIMEOUT_SECONDS": "3",
}


def wait_for(condition: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


class HeadOffice:
    """Admin helpers over a running central server."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.admin = server.client()

    def store(self, store_id: str, timezone: str = "Europe/London") -> None:
        self.admin.post(
            "/stores", json={"id": store_id, "name": store_id, "timezone": timezone}
        ).raise_for_status()

    def enrolment_code(self, store_id: str) -> str:
        return self.admin.post(f"/stores/{store_id}/enrolment-codes").json()["code"]

    def batch(self, size: int, claimed: int = 0, **fields) -> dict:
        bid = self.admin.post(
            "/batches", json={"identifier": "Test", "serial_start": 1, "serial_end": size, **fields}
        ).json()["id"]
        self.admin.post(f"/batches/{bid}/types", json={"name": "Std", "value": "£5 off"}).raise_for_status()
        for step in ("validate", "generate"):
            self.admin.post(f"/batches/{bid}/{step}").raise_for_status()
        wait_for(lambda: self.admin.get(f"/batches/{bid}").json()["state"] == "generated", 120, "generation")
        for step in ("distribute", "redeemable"):
            self.admin.post(f"/batches/{bid}/{step}").raise_for_status()
        batch = self.admin.get(f"/batches/{bid}").json()
        batch["codes"] = [
            self.admin.post(
                "/claims", json={"claim_token": batch["claim_token"], "member_id": f"m{i}@example.com"}
            ).json()["code"]
            for i in range(claimed)
        ]
        return batch

    def voucher(self, code: str) -> dict:
        return self.admin.get(f"/vouchers/{code}").json()

    def ledger(self, store_id: str) -> list[dict]:
        return self.admin.get(f"/stores/{store_id}/redemptions").json()["events"]


class AgentProcess:
    """`voucher-sync run` as a real process."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, **FAST, **env}
        self.process: subprocess.Popen | None = None
        self.log = data_dir / "agent.log"

    def enrol(self, server_url: str, code: str, name: str = "till") -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                str(BIN / "voucher-sync"),
                "enrol",
                "--data-dir",
                str(self.data_dir),
                "--server",
                server_url,
                "--code",
                code,
                "--name",
                name,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def start(self) -> AgentProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(BIN / "voucher-sync"), "run", "--data-dir", str(self.data_dir)],
            env=self.env,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
        )
        return self

    def status(self) -> str:
        return subprocess.run(
            [str(BIN / "voucher-sync"), "status", "--data-dir", str(self.data_dir)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode if self.process else None


def alive(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
