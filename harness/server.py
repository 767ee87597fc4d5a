"""Head office as a real process: `voucher-central serve` on a free loopback port.

The tests that kill or restart the server, the agent's tests and every benchmark use this one
class; the ASGI app in-process (tests/support/api.py) serves the rest of the tests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from harness.processes import START_DEADLINE, Child, StartFailed, free_port, program

ADMIN_TOKEN = "test-admin-token-0123456789"  # the shared admin token: it only bootstraps staff
STAFF_EMAIL = "admin@tests.example"  # the admin whose personal API token the helpers use
CHEAP_HASHES = 12  # scrypt cost (log2 N) of that account's password: the default, 17, takes ~0.3-1 s

# Every client of a test or benchmark comes from one address (loopback): the rate limits there
# are far above anything they do. tests/central/test_limits.py tests the limits at their defaults.
LIMIT_SETTINGS = (
    "member_sign_in_per_address",
    "member_sign_in_per_account",
    "member_codes_per_address",
    "claims_per_address",
    "claims_per_member",
    "claims_per_token_per_minute",
    "enrolments_per_address",
    "device_requests_per_minute",
    "device_requests_per_address_per_minute",
    "staff_sign_in_failures_per_address",
)
RELAXED_LIMITS: dict[str, Any] = {name: 100_000 for name in LIMIT_SETTINGS}


def staff_token(db: Any, email: str = STAFF_EMAIL, role: str = "admin") -> str:
    """A personal API token of a staff account (made if need be), straight in the database, as
    `voucher-central staff token create` does: the shared admin token only bootstraps."""
    from central.services import staff
    from vouchers.errors import Conflict

    with db.write() as conn:
        try:
            staff.add(conn, email, "a password nobody types", role=role, log2_n=CHEAP_HASHES)
        except Conflict:
            pass
        token: str = staff.create_token(conn, email, "harness", 30).token
        return token


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class ServerProcess:
    """`voucher-central serve --database URL` as a child process on loopback.

    `settings` are server settings passed as VOUCHER_<NAME> (the rate limits relaxed unless
    given); `env` adds to or overrides the environment as given (it is a plain dict, `env` of
    the instance, which a test may change before `start`). Without a `port`, a free one is
    chosen, and chosen again if another process takes it first."""

    def __init__(
        self,
        database_url: str,
        *,
        port: int | None = None,
        log: Path | None = None,
        settings: dict[str, Any] | None = None,
        name: str = "central",
        cwd: Path | None = None,
        **env: str,
    ) -> None:
        self.database_url = database_url
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.log = log
        self.name = name
        self.cwd = cwd
        given = RELAXED_LIMITS if settings is None else settings
        self.env = {k: v for k, v in os.environ.items() if k != "VOUCHER_CENTRAL_CONFIG"}
        self.env.update({"VOUCHER_ADMIN_TOKEN": ADMIN_TOKEN, "VOUCHER_PUBLIC_URL": self.url})
        self.env.update({f"VOUCHER_{k.upper()}": str(v) for k, v in given.items()})
        self.env.update(env)
        self._own_public_url = "VOUCHER_PUBLIC_URL" not in env
        self.child: Child | None = None
        self._staff_token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def process(self):  # the Popen, for a test's own look (returncode, poll)
        return self.child.process if self.child else None

    @property
    def pid(self) -> int:
        assert self.child is not None
        return self.child.pid

    def _spawn(self) -> None:
        argv = [program("voucher-central"), "serve", "--database", self.database_url]
        argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        if self._own_public_url:  # links in mail and on claim pages lead to this server
            self.env["VOUCHER_PUBLIC_URL"] = self.url
        self.child = Child(argv, env=self.env, log=self.log, cwd=self.cwd, name=self.name).start()

    def start(self, timeout: float = START_DEADLINE, *, wait: bool = True) -> ServerProcess:
        """Start and wait until /healthz answers; a failed start leaves nothing running."""
        self._spawn()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = START_DEADLINE) -> ServerProcess:
        for _ in range(5):
            assert self.child is not None
            try:
                self.child.wait_ready(
                    lambda: healthy(self.url), timeout, f"{self.name} answering on {self.url}"
                )
                return self
            except StartFailed as exc:
                if self.fixed_port or "address already in use" not in str(exc).lower():
                    raise
            self.port = free_port()  # another process took the port first: try another
            self._spawn()
        raise StartFailed(f"{self.name}: no free port after 5 tries; see {self.log}")

    def staff_token(self) -> str:
        """A personal API token of an admin of this server's database (made once)."""
        if self._staff_token is None:
            from central.db.engine import Database

            db = Database(self.database_url)
            try:
                self._staff_token = staff_token(db)
            finally:
                db.dispose()
        return self._staff_token

    def client(self, token: str | None = None, *, timeout: float = 30, connections: int = 10) -> httpx.Client:
        """A client of the API (/api/v1) with `token`, by default an admin's personal API token."""
        token = token or self.staff_token()
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    def alive(self) -> bool:
        return self.child is not None and self.child.alive()

    def log_tail(self, lines: int = 40) -> str:
        return self.child.log_tail(lines) if self.child else "(not started)"

    def errors_in_log(self) -> list[str]:
        """Tracebacks and 5xx answers the server logged."""
        try:
            text = self.log.read_text(errors="replace") if self.log else ""
        except OSError:
            return []
        markers = ("Traceback", "ERROR", '" 500', '" 503')
        return [line for line in text.splitlines() if any(m in line for m in markers)]

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a power cut or the OOM killer would do."""
        if self.child is not None:
            self.child.kill()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (SIGKILL after `timeout`); the server's exit code."""
        return self.child.stop(timeout) if self.child else None

    def __enter__(self) -> ServerProcess:
        return self.start() if not self.alive() else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
