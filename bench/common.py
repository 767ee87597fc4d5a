"""What every benchmark shares: a real server process, an admin client, and figure lines.

Benchmarks never import the server: they start `voucher-central serve` as a separate
process on a free loopback port, with a fresh database in a temporary directory, and talk
to it over HTTP with httpx, as a till or an admin tool would.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
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

    def figure(self, name: str, value: float | str, unit: str = "", target: tuple[str, float] | None = None,
               fmt: str = "{:,.1f}") -> Figure:
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
    for candidate in (Path(sys.executable).parent / "voucher-central", ROOT / ".venv" / "bin" / "voucher-central"):
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
                **self.env,
            }
            env.pop("VOUCHER_CENTRAL_CONFIG", None)
            log = open(self.log_path, "ab")
            cmd = [*server_command(), "serve", "--database", self.database_url, "--host", "127.0.0.1",
                   "--port", str(self.port)]
            self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
            log.close()
            if not wait:
                return self
            try:
                self.wait_ready()
                return self
            except PortTaken:
                self.stop()
        raise RuntimeError(f"{self.name}: could not bind a free port; see {self.log_path}")

    def wait_ready(self, timeout: float = 120) -> None:
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
        return [line for line in text.splitlines()
                if "Traceback" in line or "ERROR" in line or '" 500' in line or '" 503' in line]

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


# -- talking to it ----------------------------------------------------------------------------


class ApiFailure(RuntimeError):
    pass


def client(base_url: str, token: str | None = None, connections: int = 10, timeout: float = 300) -> httpx.Client:
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
        self.http = client(base_url, ADMIN_TOKEN)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def store(self, store_id: str, timezone: str = "UTC") -> dict:
        return call(self.http, "POST", "/stores", 201, json={"id": store_id, "name": f"Store {store_id}",
                                                              "timezone": timezone})

    def device(self, store_id: str, name: str, base_url: str | None = None) -> dict:
        """Enrol a device at a store (through `base_url`, another server process, if given)."""
        code = call(self.http, "POST", f"/stores/{store_id}/enrolment-codes", 201)["code"]
        with client(base_url or self.base_url) as http:
            return call(http, "POST", "/devices/enrol", 201, json={"enrolment_code": code, "device_name": name})

    def new_batch(self, size: int, identifier: str, initial_status: str = "unused") -> dict:
        """A validated batch with one type covering serials 1..size."""
        batch = call(self.http, "POST", "/batches", 201,
                     json={"identifier": identifier, "description": "benchmark", "serial_start": 1, "serial_end": size})
        bid = batch["id"]
        call(self.http, "POST", f"/batches/{bid}/types", 201,
             json={"name": "Std", "value": "£5 off", "initial_status": initial_status})
        return call(self.http, "POST", f"/batches/{bid}/validate", 200)

    def get(self, batch_id: str) -> dict:
        return call(self.http, "GET", f"/batches/{batch_id}")

    def generate(self, batch_id: str) -> None:
        call(self.http, "POST", f"/batches/{batch_id}/generate", 202)

    def wait_generated(self, batch_id: str, timeout: float = 1800, poll: float = 0.1,
                       progress: Callable[[int, int], None] | None = None) -> dict:
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


def claim_many(base_url: str, claim_token: str, count: int, concurrency: int = 16,
               member_prefix: str = "member") -> tuple[int, dict[int, int]]:
    """`count` members each claim one voucher, over `concurrency` parallel connections.

    Returns (claims made, {status code: count} of refusals)."""
    made = 0
    refused: dict[int, int] = {}
    lock = threading.Lock()
    next_member = iter(range(count))
    http = client(base_url, connections=concurrency)

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
