"""What every benchmark shares: a real server process, an admin client, and figure lines;
for the store-host benchmarks also the sync agent as a process and its replica, read-only.

Benchmarks never import the server: they start `voucher-central serve` as a separate
process on a free loopback port, with a fresh database in a temporary directory, and talk
to it over HTTP with httpx, as a till or an admin tool would. The sync agent runs the same
way (`voucher-sync enrol`, `voucher-sync run`); only the kiosk's side of the store host
(`localdb.journal.Journal`, `localdb.till.Till`) is imported, because a benchmark plays the
kiosk.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "bench-admin-" + secrets.token_hex(12)
BENCH_STAFF = "bench@bench.test"
API_TOKENS: dict[
    str, str
] = {}  # server URL -> a personal API token of an admin (the admin token only bootstraps)


# -- printing -------------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def heading(text: str) -> None:
    say()
    say(f"== {text} " + "=" * max(0, 76 - len(text)))


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


@dataclass
class Figure:
    bench: str
    name: str
    value: float | str
    unit: str = ""
    target: tuple[str, float] | None = None  # ("<=", 30) or (">=", 2000)
    fmt: str = "{:,.1f}"

    @property
    def verdict(self) -> str | None:
        if self.target is None or isinstance(self.value, str):
            return None
        op, limit = self.target
        ok = self.value <= limit if op == "<=" else self.value >= limit
        return "PASS" if ok else "MISS"

    def line(self) -> str:
        value = self.value if isinstance(self.value, str) else self.fmt.format(self.value)
        text = f"  {self.bench + ': ' + self.name:<52} {value:>14} {self.unit:<12}"
        if self.target is not None:
            op, limit = self.target
            text += f" target {op} {self.fmt.format(limit)} {self.unit}  {self.verdict}"
        return text.rstrip()


@dataclass
class Report:
    bench: str
    figures: list[Figure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def figure(
        self,
        name: str,
        value: float | str,
        unit: str = "",
        target: tuple[str, float] | None = None,
        fmt: str = "{:,.1f}",
    ) -> Figure:
        fig = Figure(self.bench, name, value, unit, target, fmt)
        self.figures.append(fig)
        say(fig.line())
        return fig

    def check(self, ok: bool, what: str) -> bool:
        """A correctness assertion: printed either way, collected when it fails."""
        say(f"  {self.bench}: check {'OK  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(what)
        return ok


# -- the server process ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command() -> list[str]:
    """The installed `voucher-central` script of this virtualenv."""
    for candidate in (
        Path(sys.executable).parent / "voucher-central",
        ROOT / ".venv" / "bin" / "voucher-central",
    ):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("voucher-central")
    if found:
        return [found]
    return [sys.executable, "-m", "central.cli"]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


class Server:
    """`voucher-central serve` as a child process on a free loopback port."""

    def __init__(self, database_url: str, workdir: Path, name: str = "central", **env: str) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.name = name
        self.env = env
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> Server:
        for _ in range(5):
            self.port = free_port()
            env = {
                **os.environ,
                "VOUCHER_ADMIN_TOKEN": ADMIN_TOKEN,
                "VOUCHER_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
                "VOUCHER_ENROLMENTS_PER_ADDRESS": "100000",  # every till of a benchmark enrols from 127.0.0.1
                "VOUCHER_CLAIMS_PER_TOKEN_PER_MINUTE": "1000000",  # the setup claims with one staff token
                **self.env,
            }
            env.pop("VOUCHER_CENTRAL_CONFIG", None)
            log = open(self.log_path, "ab")
            cmd = [
                *server_command(),
                "serve",
                "--database",
                self.database_url,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ]
            self.proc = subprocess.Popen(
                cmd, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
            if not wait:
                return self
            try:
                self.wait_ready()
                return self
            except PortTaken:
                self.stop()
        raise RuntimeError(f"{self.name}: could not bind a free port; see {self.log_path}")

    def personal_token(self) -> str:
        """A new API token of the benchmarks' admin account (made first if need be), through
        `voucher-central staff` on this host's database, as head office makes one."""
        env = {k: v for k, v in os.environ.items() if k != "VOUCHER_CENTRAL_CONFIG"}
        subprocess.run(
            [
                *server_command(),
                "staff",
                "add",
                BENCH_STAFF,
                "--role",
                "admin",
                "--database",
                self.database_url,
            ],
            input=secrets.token_urlsafe(18) + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )  # fails when the account exists already (a reused database): fine
        made = subprocess.run(
            [
                *server_command(),
                "staff",
                "token",
                "create",
                BENCH_STAFF,
                "--name",
                "bench",
                "--database",
                self.database_url,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        if made.returncode != 0 or not made.stdout.strip():
            raise RuntimeError(f"{self.name}: no API token: {made.stderr.strip()[:300]}")
        return made.stdout.split()[0]

    def wait_ready(self, timeout: float = 120) -> None:
        """Until /healthz answers; then the benchmarks' API token for this server is made."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                tail = self.log_tail()
                if "address already in use" in tail.lower():
                    raise PortTaken(tail)
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{tail}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    API_TOKENS[self.url] = self.personal_token()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def errors_in_log(self) -> list[str]:
        """Tracebacks and 5xx answers the server logged."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [
            line
            for line in text.splitlines()
            if "Traceback" in line or "ERROR" in line or '" 500' in line or '" 503' in line
        ]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Server:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PortTaken(RuntimeError):
    pass


class WorkDir:
    """A temporary directory, removed at the end unless kept."""

    def __init__(self, prefix: str, keep: bool = False, path: Path | None = None) -> None:
        self.keep = keep or path is not None
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            self.path = path
        else:
            self.path = Path(tempfile.mkdtemp(prefix=f"voucher-bench-{prefix}-"))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.keep:
            say(f"  (kept {self.path})")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def sqlite_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def copy_sqlite(source: Path, dest: Path) -> None:
    """Copy a SQLite database left by another run (and its WAL, if it has one) to `dest`."""
    if not source.exists():
        raise SystemExit(f"{source} does not exist (make one with 'python -m bench generate --keep DIR')")
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{dest}{suffix}")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- talking to it ----------------------------------------------------------------------------


class ApiFailure(RuntimeError):
    pass


def client(
    base_url: str, token: str | None = None, connections: int = 10, timeout: float = 300
) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=f"{base_url}/api/v1",
        headers=headers,
        timeout=timeout,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def call(http: httpx.Client, method: str, path: str, expect: int | Iterable[int] = 200, **kw: Any) -> Any:
    response = http.request(method, path, **kw)
    allowed = {expect} if isinstance(expect, int) else set(expect)
    if response.status_code not in allowed:
        raise ApiFailure(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
    return response.json() if response.content else None


class Admin:
    """The admin side of the API, enough to walk batches through their life cycle."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = client(base_url, API_TOKENS.get(base_url, ADMIN_TOKEN))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def store(self, store_id: str, timezone: str = "UTC") -> dict:
        return call(
            self.http,
            "POST",
            "/stores",
            201,
            json={"id": store_id, "name": f"Store {store_id}", "timezone": timezone},
        )

    def device(self, store_id: str, name: str, base_url: str | None = None) -> dict:
        """Enrol a device at a store (through `base_url`, another server process, if given)."""
        code = self.enrolment_code(store_id)
        with client(base_url or self.base_url) as http:
            return call(
                http, "POST", "/devices/enrol", 201, json={"enrolment_code": code, "device_name": name}
            )

    def enrolment_code(self, store_id: str) -> str:
        return call(self.http, "POST", f"/stores/{store_id}/enrolment-codes", 201)["code"]

    def new_batch(self, size: int, identifier: str, initial_status: str = "unused") -> dict:
        """A validated batch with one type covering serials 1..size."""
        batch = call(
            self.http,
            "POST",
            "/batches",
            201,
            json={
                "identifier": identifier,
                "description": "benchmark",
                "serial_start": 1,
                "serial_end": size,
            },
        )
        bid = batch["id"]
        call(
            self.http,
            "POST",
            f"/batches/{bid}/types",
            201,
            json={"name": "Std", "value": "£5 off", "initial_status": initial_status},
        )
        return call(self.http, "POST", f"/batches/{bid}/validate", 200)

    def get(self, batch_id: str) -> dict:
        return call(self.http, "GET", f"/batches/{batch_id}")

    def generate(self, batch_id: str) -> None:
        call(self.http, "POST", f"/batches/{batch_id}/generate", 202)

    def wait_generated(
        self,
        batch_id: str,
        timeout: float = 1800,
        poll: float = 0.1,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.get(batch_id)
            if batch["state"] == "generated":
                return batch
            if batch["state"] != "generating":
                raise ApiFailure(f"batch {batch_id} went to {batch['state']} while generating")
            if progress and batch.get("generation"):
                progress(batch["generation"]["done"], batch["generation"]["total"])
            time.sleep(poll)
        raise ApiFailure(f"batch {batch_id} not generated after {timeout}s")

    def act(self, batch_id: str, *actions: str) -> dict:
        batch = {}
        for action in actions:
            batch = call(self.http, "POST", f"/batches/{batch_id}/{action}", 200)
        return batch

    def generated_batch(self, size: int, identifier: str, timeout: float = 1800) -> dict:
        batch = self.new_batch(size, identifier)
        self.generate(batch["id"])
        return self.wait_generated(batch["id"], timeout)

    def voucher_ids(self, batch_id: str, **params: Any) -> list[str]:
        """Every matching voucher's `id`, page by page with the cursor."""
        ids: list[str] = []
        cursor = None
        while True:
            query = {"limit": 10_000, **params}
            if cursor is not None:
                query["cursor"] = cursor
            page = call(self.http, "GET", f"/batches/{batch_id}/vouchers", params=query)
            ids.extend(v["id"] for v in page["vouchers"])
            cursor = page["next_cursor"]
            if cursor is None:
                return ids


def claim_many(
    base_url: str, claim_token: str, count: int, concurrency: int = 16, member_prefix: str = "member"
) -> tuple[int, dict[int, int]]:
    """`count` members each claim one voucher, over `concurrency` parallel connections.

    Returns (claims made, {status code: count} of refusals)."""
    made = 0
    refused: dict[int, int] = {}
    lock = threading.Lock()
    next_member = iter(range(count))
    # claims need a member's session or a token of head office
    http = client(base_url, API_TOKENS.get(base_url, ADMIN_TOKEN), connections=concurrency)

    def worker() -> None:
        nonlocal made
        while True:
            with lock:
                i = next(next_member, None)
            if i is None:
                return
            body = {"claim_token": claim_token, "member_id": f"{member_prefix}-{i}@bench.test"}
            for attempt in range(5):
                try:
                    response = http.post("/claims", json=body)
                except httpx.TransportError:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                if response.status_code >= 500:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                break
            with lock:
                if response.status_code == 201:
                    made += 1
                else:
                    refused[response.status_code] = refused.get(response.status_code, 0) + 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    http.close()
    return made, refused


def claimed_batch(
    admin: Admin, base_url: str, size: int, identifier: str, concurrency: int = 2
) -> tuple[str, list[str], float]:
    """A redeemable batch of `size` vouchers, every one claimed by its own member.

    Returns (batch id, voucher ids, seconds taken)."""
    t0 = time.monotonic()
    batch = admin.generated_batch(size, identifier)
    bid = batch["id"]
    batch = admin.act(bid, "distribute", "redeemable")
    made, refused = claim_many(base_url, batch["claim_token"], size, concurrency)
    if made != size:
        raise ApiFailure(f"only {made:,} of {size:,} claims made (refused: {refused})")
    ids = admin.voucher_ids(bid, claimed="true")
    return bid, ids, time.monotonic() - t0


def unclaimed_batch(admin: Admin, size: int, identifier: str) -> tuple[str, float]:
    """A redeemable batch of `size` vouchers nobody claimed (bulk for the server's tables and the
    till's snapshot). Returns (batch id, seconds taken)."""
    t0 = time.monotonic()
    bid = admin.generated_batch(size, identifier)["id"]
    admin.act(bid, "distribute", "redeemable")
    return bid, time.monotonic() - t0


def add_extra_vouchers_argument(p: Any) -> None:
    p.add_argument(
        "--extra-vouchers",
        type=int,
        default=0,
        metavar="N",
        help="also a redeemable batch of N unclaimed vouchers on the server, which the till pulls too "
        "(a server and a replica of realistic size; default 0)",
    )


# -- the store host: sync agent, replica, journal ----------------------------------------------


def sync_command() -> list[str]:
    """The installed `voucher-sync` script of this virtualenv."""
    for candidate in (Path(sys.executable).parent / "voucher-sync", ROOT / ".venv" / "bin" / "voucher-sync"):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("voucher-sync")
    if found:
        return [found]
    return [sys.executable, "-m", "sync.cli"]


def agent_settings(pairs: list[str] | None) -> dict[str, str]:
    """`KEY=VALUE` options (agent settings, e.g. push_poll_seconds=0.05) as a dict."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--agent-setting takes KEY=VALUE, not {pair!r}")
        out[key.strip().lower().removeprefix("voucher_sync_")] = value.strip()
    return out


def add_agent_arguments(p: Any) -> None:
    p.add_argument(
        "--agent-setting",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="override one of the agent's settings (sync/settings.py) through its VOUCHER_SYNC_KEY "
        "environment variable, e.g. push_poll_seconds=0.05; repeatable (default: the agent's own)",
    )


def describe_settings(settings: dict[str, str]) -> str:
    if not settings:
        return "the agent's defaults (no VOUCHER_SYNC_* setting changed)"
    return "the agent's defaults except " + ", ".join(
        f"VOUCHER_SYNC_{k.upper()}={v}" for k, v in settings.items()
    )


class Notifications:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET: when did the agent say READY=1."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.exists():
            path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            now = time.monotonic()
            self.messages.extend((now, line) for line in data.decode(errors="replace").splitlines())

    def first(self, line: str, after: float = 0.0) -> float | None:
        """monotonic() when `line` first arrived after `after`, if it did."""
        return next((t for t, m in list(self.messages) if m == line and t >= after), None)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        self.sock.close()


class SyncAgent:
    """`voucher-sync` of this virtualenv as a process with its own data directory.

    `settings` are agent settings (sync/settings.py) passed as VOUCHER_SYNC_<KEY>; every other
    VOUCHER_SYNC_* variable of the calling environment is removed, so the agent runs with its
    defaults unless told otherwise."""

    def __init__(
        self,
        data_dir: Path,
        log_path: Path,
        settings: dict[str, str] | None = None,
        notify_socket: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.settings = dict(settings or {})
        self.notify_socket = notify_socket
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCHER_SYNC_")}
        env.pop("NOTIFY_SOCKET", None)
        env.pop("WATCHDOG_USEC", None)
        env.update({f"VOUCHER_SYNC_{k.upper()}": v for k, v in self.settings.items()})
        if self.notify_socket is not None:
            env["NOTIFY_SOCKET"] = str(self.notify_socket)
        return env

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def replica_path(self) -> Path:
        return self.data_dir / "replica.db"

    @property
    def pushed_path(self) -> Path:
        return self.data_dir / "pushed.db"

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.db"

    def _cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*sync_command(), *args, "--data-dir", str(self.data_dir)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def enrol(self, server_url: str, code: str, name: str) -> None:
        done = self._cli("enrol", "--server", server_url, "--code", code, "--name", name)
        if done.returncode != 0:
            raise RuntimeError(f"voucher-sync enrol -> {done.returncode}: {done.stderr.strip()[:500]}")

    def status(self) -> str:
        return self._cli("status").stdout

    @property
    def token(self) -> str:
        """The device token `enrol` wrote to device.json (for the benchmark's own look at the server)."""
        return json.loads((self.data_dir / "device.json").read_text())["token"]

    def start(self) -> SyncAgent:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [*sync_command(), "run", "--data-dir", str(self.data_dir)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM, as systemd stops it; the agent's exit code (SIGKILL after `timeout`)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def log_problems(self) -> list[str]:
        """WARNING and ERROR lines (and tracebacks) of the agent's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [
            line
            for line in text.splitlines()
            if line.startswith(("WARNING", "ERROR", "CRITICAL")) or "Traceback" in line
        ]

    def __enter__(self) -> SyncAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def proc_status(pid: int) -> dict[str, int]:
    """The kB fields of /proc/PID/status (VmRSS, VmHWM, …) in bytes."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if len(parts) == 2 and parts[1] == "kB":
                    out[key] = int(parts[0]) * 1024
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far (/proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemoryWatch:
    """Peak resident memory of a process: the kernel's high-water mark (VmHWM) read at the end,
    and VmRSS sampled every `interval` seconds meanwhile (the larger of the two is the peak)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.max_rss = 0
        self.hwm = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        status = proc_status(self.pid)
        self.max_rss = max(self.max_rss, status.get("VmRSS", 0))
        self.hwm = max(self.hwm, status.get("VmHWM", 0))

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self._read()

    @property
    def peak(self) -> int:
        return max(self.max_rss, self.hwm)

    def stop(self) -> int:
        """Stop watching (call while the process still lives); returns the peak in bytes."""
        self._read()
        self._stop.set()
        self._thread.join(timeout=2)
        return self.peak


def read_only(path: Path, timeout: float = 60, table: str = "meta") -> sqlite3.Connection:
    """A read-only connection to a store-host file, once its writer has created `table` in it."""
    deadline = time.monotonic() + timeout
    while True:
        if path.exists():
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=30, check_same_thread=False
            )
            try:
                if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
                    return conn
            except sqlite3.Error:
                pass
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} not created within {timeout} s")
        time.sleep(0.05)


def replica_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def snapshot_end(base_url: str, token: str) -> int:
    """The cursor a complete pull ends at: the smallest cursor C ≥ 1 after which the snapshot
    has no change, found with one-row pages (a binary search, some 50 cheap requests)."""
    with client(base_url, token, connections=1) as http:

        def empty(cursor: int) -> bool:
            page = call(http, "GET", "/sync/snapshot", params={"cursor": cursor, "limit": 1})
            return page["complete"] and not (
                page["batches"] or page["types"] or page["vouchers"] or any(page["deleted"].values())
            )

        lo, hi = 0, 1  # invariant: the page after lo has changes, the page after hi has none
        while not empty(hi):
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if empty(mid) else (mid, hi)
        return hi if lo > 0 or not empty(0) else 0


def wait_synced(
    agent: SyncAgent,
    end_cursor: int,
    expected_vouchers: int,
    timeout: float = 600,
    poll: float = 0.05,
    progress: Callable[[int], None] | None = None,
) -> float:
    """Poll replica.db read-only until its cursor reached `end_cursor` and it holds
    `expected_vouchers`; returns monotonic() of the poll that first saw it so."""
    conn = read_only(agent.replica_path, timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not agent.alive():
                raise RuntimeError(f"the agent exited before its pull was complete; see {agent.log_path}")
            seen = time.monotonic()
            cursor = int(replica_meta(conn, "cursor") or 0)
            if progress:
                progress(cursor)
            if cursor >= end_cursor:
                count = conn.execute("SELECT count(*) FROM vouchers").fetchone()[0]
                if count != expected_vouchers:
                    raise RuntimeError(
                        f"replica at cursor {cursor} holds {count:,} vouchers, not {expected_vouchers:,}"
                    )
                return seen
            time.sleep(poll)
    finally:
        conn.close()
    raise RuntimeError(f"replica not synced within {timeout} s; see {agent.log_path}")
