"""The store host's sync agent as a real process: `voucher-sync enrol`, `run` and `status`
with a data directory of its own, as systemd runs it on a till."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from harness.processes import Child, program

# Agent settings (sync/settings.py) for tests: quick turns, short backoff, short timeouts.
FAST = {
    "pull_interval_seconds": "0.2",
    "push_poll_seconds": "0.05",
    "heartbeat_seconds": "1",
    "backoff_initial_seconds": "0.05",
    "backoff_max_seconds": "0.5",
    "timeout_seconds": "3",
}
FAST_ENV = {f"VOUCHER_SYNC_{k.upper()}": v for k, v in FAST.items()}  # the same, as the environment


class AgentProcess:
    """`voucher-sync` of this virtualenv with its own data directory.

    `settings` are agent settings passed as VOUCHER_SYNC_<KEY>; every other VOUCHER_SYNC_*
    variable of the calling environment is removed, so the agent runs with its own defaults
    unless told otherwise. `env` adds to the environment as given (the `env` of the instance,
    which a test may change before `start`)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        settings: dict[str, str] | None = None,
        log: Path | None = None,
        notify_socket: Path | None = None,
        **env: str,
    ) -> None:
        self.data_dir = data_dir
        self.settings = dict(settings or {})
        self.log = log or data_dir / "agent.log"
        self.notify_socket = notify_socket
        # a plain dict, which a test may change before `start` (NOTIFY_SOCKET, WATCHDOG_USEC ...)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCHER_SYNC_")}
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.pop("WATCHDOG_USEC", None)
        self.env.update({f"VOUCHER_SYNC_{k.upper()}": v for k, v in self.settings.items()})
        if notify_socket is not None:
            self.env["NOTIFY_SOCKET"] = str(notify_socket)
        self.env.update(env)
        self.child: Child | None = None
        self.started_at = 0.0

    @property
    def process(self):  # the Popen, for a test's own look (returncode, wait, poll)
        return self.child.process if self.child else None

    @property
    def pid(self) -> int:
        assert self.child is not None
        return self.child.pid

    @property
    def log_path(self) -> Path:
        return self.log

    @property
    def replica_path(self) -> Path:
        return self.data_dir / "replica.db"

    @property
    def pushed_path(self) -> Path:
        return self.data_dir / "pushed.db"

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.db"

    @property
    def token(self) -> str:
        """The device token `enrol` wrote to device.json (for a look at the server as the till)."""
        token: str = json.loads((self.data_dir / "device.json").read_text())["token"]
        return token

    def cli(
        self, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """One `voucher-sync` command on this data directory (it ends by itself; not a Child);
        `env` adds to the agent's environment for this command."""
        return subprocess.run(
            [program("voucher-sync"), *args, "--data-dir", str(self.data_dir)],
            env={**self.env, **(env or {})},
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def enrol(self, server_url: str, code: str, name: str = "till", *, check: bool = False):
        """`voucher-sync enrol`; with `check`, a failure raises with the command's error."""
        # a one-off command: the product's own request timeout, not FAST's (an enrolment through a
        # hub is two requests to head office, which a loaded machine may take seconds to answer)
        done = self.cli(
            "enrol",
            "--server",
            server_url,
            "--code",
            code,
            "--name",
            name,
            env={"VOUCHER_SYNC_TIMEOUT_SECONDS": "30"},
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"voucher-sync enrol -> {done.returncode}: {done.stderr.strip()[:500]}")
        return done

    def status(self, *args: str) -> str:
        return self.cli("status", *args).stdout

    def start(self) -> AgentProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [program("voucher-sync"), "run", "--data-dir", str(self.data_dir)]
        self.started_at = time.monotonic()
        self.child = Child(argv, env=self.env, log=self.log, name="voucher-sync").start()
        return self

    def alive(self) -> bool:
        return self.child is not None and self.child.alive()

    def log_problems(self) -> list[str]:
        """WARNING and ERROR lines (and tracebacks) of the agent's log."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return [
            line
            for line in text.splitlines()
            if line.startswith(("WARNING", "ERROR", "CRITICAL")) or "Traceback" in line
        ]

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, as systemd stops it (SIGKILL after `timeout`); the agent's exit code."""
        return self.child.stop(timeout) if self.child else None

    def __enter__(self) -> AgentProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
