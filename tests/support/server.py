"""The real central server as a separate process on loopback, for tests that kill it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support.api import ADMIN_TOKEN, RELAXED_LIMITS

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(
        self, database_url: str, *, port: int | None = None, log: Path | None = None, **env: str
    ) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        relaxed = {
            f"VOUCHER_{name.upper()}": str(value) for name, value in RELAXED_LIMITS.items()
        }  # one address
        self.env = {**os.environ, "VOUCHER_ADMIN_TOKEN": ADMIN_TOKEN, **relaxed, **env}
        self.log = log
        self.process: subprocess.Popen | None = None
        self._staff_token: str | None = None

    def start(self, timeout: float = 30) -> ServerProcess:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                str(BIN / "voucher-central"),
                "serve",
                "--database",
                self.database_url,
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not come up")

    def staff_token(self) -> str:
        """A personal API token of an admin of this server's database (made once)."""
        if self._staff_token is None:
            from central.db.engine import Database
            from support.api import staff_token

            db = Database(self.database_url)
            try:
                self._staff_token = staff_token(db)
            finally:
                db.dispose()
        return self._staff_token

    def client(self, token: str | None = None) -> httpx.Client:
        """An admin client: a personal API token (the shared admin token only bootstraps)."""
        token = token or self.staff_token()
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a power cut or the OOM killer would do."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
