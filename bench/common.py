"""What every benchmark shares: figure lines, and around the harness's processes (the
server, the sync agent, head office's admin client: harness/) what the benchmarks measure
with, such as claims in parallel, peak memory, and the agent's replica read-only.

Benchmarks never run the server in their own process: they start `voucher-central serve` as a
separate process on a free loopback port (harness.ServerProcess), with a fresh database in a
temporary directory, and talk to it over HTTP with httpx, as a till or an admin tool would;
only the admin's API token is made straight in that database, as `voucher-central staff token
create` does. The sync agent runs the same way (`voucher-sync enrol`, `voucher-sync run`); only
the kiosk's side of the store host (`localdb.journal.Journal`, `localdb.till.Till`) is imported,
because a benchmark plays the kiosk.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness import AgentProcess, HeadOffice, ServerProcess

ROOT = Path(__file__).resolve().parent.parent
# Every till and claim of a benchmark comes from 127.0.0.1 with one staff token; the other rate
# limits stay at their defaults, as a real head office has them.
BENCH_LIMITS = {"enrolments_per_address": 100_000, "claims_per_token_per_minute": 1_000_000}


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


# -- the server and the agent as processes (the harness) ------------------------------------------


def bench_server(database_url: str, workdir: Path, name: str = "central", **env: str) -> ServerProcess:
    """`voucher-central serve` for a benchmark: its log is workdir/NAME.log (not started yet)."""
    return ServerProcess(
        database_url, log=workdir / f"{name}.log", settings=BENCH_LIMITS, name=name, cwd=workdir, **env
    )


def start_together(servers: list[ServerProcess]) -> list[ServerProcess]:
    """Start server processes at the same moment (so they migrate one empty database at once) and
    wait for all; a failed start stops every one of them."""
    try:
        for s in servers:
            s.start(wait=False)
        for s in servers:
            s.wait_ready()
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


def bench_agent(
    data_dir: Path, log: Path, settings: dict[str, str] | None = None, notify_socket: Path | None = None
) -> AgentProcess:
    """`voucher-sync` for a benchmark, with the agent's defaults except `settings`."""
    return AgentProcess(data_dir, log=log, settings=settings, notify_socket=notify_socket)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


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


def claim_many(
    admin: HeadOffice, claim_token: str, count: int, concurrency: int = 16, member_prefix: str = "member"
) -> tuple[int, dict[int, int]]:
    """`count` members each claim one voucher, over `concurrency` parallel connections.

    Returns (claims made, {status code: count} of refusals)."""
    made = 0
    refused: dict[int, int] = {}
    lock = threading.Lock()
    next_member = iter(range(count))
    # claims need a member's session or a token of head office
    http = client(admin.base_url, admin.token, connections=concurrency)

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
    admin: HeadOffice, size: int, identifier: str, concurrency: int = 2
) -> tuple[str, list[str], float]:
    """A redeemable batch of `size` vouchers, every one claimed by its own member.

    Returns (batch id, voucher ids, seconds taken)."""
    t0 = time.monotonic()
    batch = admin.generated_batch(size, identifier)
    bid = batch["id"]
    batch = admin.act(bid, "distribute", "redeemable")
    made, refused = claim_many(admin, batch["claim_token"], size, concurrency)
    if made != size:
        raise ApiFailure(f"only {made:,} of {size:,} claims made (refused: {refused})")
    ids = admin.voucher_ids(bid, claimed="true")
    return bid, ids, time.monotonic() - t0


def unclaimed_batch(admin: HeadOffice, size: int, identifier: str) -> tuple[str, float]:
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
    agent: AgentProcess,
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
