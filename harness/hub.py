"""The shop's hub as a real process: `voucher-hub enrol`, `serve` and `status` with a state
directory of its own, on a free loopback port, as systemd runs it on a shop's machine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from harness.processes import START_DEADLINE, Child, StartFailed, free_port, program

# Hub settings (hub/settings.py) for tests: quick turns, short backoff, short timeouts.
FAST_HUB = {
    "pull_interval_seconds": "0.2",
    "push_poll_seconds": "0.1",
    "devices_seconds": "0.5",
    "heartbeat_seconds": "1",
    "backoff_initial_seconds": "0.05",
    "backoff_max_seconds": "0.5",
    "timeout_seconds": "3",
}


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class HubProcess:
    """`voucher-hub` of this virtualenv with its own state directory.

    `settings` are hub settings passed as VOUCHER_HUB_<KEY>; every other VOUCHER_HUB_* variable of
    the calling environment is removed. Without a `port`, a free one is chosen, and chosen again
    if another process takes it first; the port is kept across restarts, so the tills' `server`
    setting stays right."""

    def __init__(
        self,
        state_dir: Path,
        *,
        server: str | None = None,
        port: int | None = None,
        settings: dict[str, str] | None = None,
        log: Path | None = None,
        **env: str,
    ) -> None:
        self.state_dir = state_dir
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.log = log or state_dir.parent / f"{state_dir.name}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCHER_HUB_")}
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.update({f"VOUCHER_HUB_{k.upper()}": str(v) for k, v in (settings or {}).items()})
        self.env["VOUCHER_HUB_STATE_DIR"] = str(state_dir)
        self.env["VOUCHER_HUB_HOST"] = "127.0.0.1"
        if server is not None:
            self.env["VOUCHER_HUB_SERVER"] = server
        self.env.update(env)
        self.child: Child | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.child is not None, "the hub was not started"
        return self.child.pid

    @property
    def database_path(self) -> Path:
        return self.state_dir / "hub.db"

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """One `voucher-hub` command on this state directory (it ends by itself; not a Child)."""
        return subprocess.run(
            [program("voucher-hub"), *args],
            env=self.env,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def enrol(self, code: str, name: str = "hub", *, check: bool = True) -> subprocess.CompletedProcess:
        """`voucher-hub enrol CODE`; with `check`, a failure raises with the command's error."""
        done = self.cli("enrol", code, "--name", name)
        if check and done.returncode != 0:
            raise RuntimeError(f"voucher-hub enrol -> {done.returncode}: {done.stderr.strip()[:500]}")
        return done

    def status(self, *args: str) -> subprocess.CompletedProcess:
        return self.cli("status", *args)

    def _spawn(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        argv = [program("voucher-hub"), "serve", "--port", str(self.port)]
        self.child = Child(argv, env=self.env, log=self.log, name="voucher-hub").start()

    def start(self, timeout: float = START_DEADLINE) -> HubProcess:
        """Start and wait until /healthz answers; a failed start leaves nothing running and says why."""
        for _ in range(5):
            self._spawn()
            assert self.child is not None
            try:
                self.child.wait_ready(
                    lambda: _answers(self.url), timeout, f"voucher-hub answering on {self.url}"
                )
                return self
            except StartFailed as exc:
                if self.fixed_port or "address already in use" not in str(exc).lower():
                    raise
            self.port = free_port()  # another process took the port first: try another
        raise StartFailed(f"voucher-hub: no free port after 5 tries; see {self.log}")

    def alive(self) -> bool:
        return self.child is not None and self.child.alive()

    def log_tail(self, lines: int = 40) -> str:
        return self.child.log_tail(lines) if self.child else "(not started)"

    def log_problems(self) -> list[str]:
        """Tracebacks and ERROR lines of the hub's log."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if "Traceback" in line or " ERROR " in line]

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a power cut would do."""
        if self.child is not None:
            self.child.kill()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (SIGKILL after `timeout`); the hub's exit code."""
        return self.child.stop(timeout) if self.child else None

    def __enter__(self) -> HubProcess:
        return self.start() if not self.alive() else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
