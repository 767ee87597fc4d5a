"""A private, throwaway PostgreSQL server for the test session.

Nothing here touches the Debian cluster: each ``PostgresServer`` runs
``initdb`` into its own temporary directory and starts ``postgres`` on a free
loopback port with its own socket directory, so several pytest-xdist workers
can each start one at the same time.

PostgreSQL refuses to run as root; when the tests run as root the server is
run as the ``postgres`` system user (created by Debian's ``postgresql``
package) through ``runuser``.

Typical use in a conftest::

    @pytest.fixture(scope="session")
    def postgres_server():
        bin_dir = require_postgres_bin()      # skips, or fails when required
        server = PostgresServer(bin_dir)
        server.start()
        yield server
        server.stop()
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from harness.processes import Lifeline

__all__ = [
    "ENV_REQUIRED",
    "PostgresServer",
    "PostgresStartError",
    "find_postgres_bin",
    "postgres_required",
    "require_postgres_bin",
]

#: Set to ``required`` (as ``make test`` and CI do) to turn "no PostgreSQL
#: binaries" from a skip into a failure.
ENV_REQUIRED = "VOUCHER_TEST_POSTGRES"
#: Optional override for the directory holding initdb/pg_ctl/postgres.
ENV_BIN = "VOUCHER_TEST_PG_BIN"

_BINARIES = ("initdb", "pg_ctl", "postgres")
_RUN_AS = "postgres"
_SUPERUSER = "postgres"


class PostgresStartError(RuntimeError):
    """initdb or pg_ctl failed; the message carries their output and the log."""


def _has_binaries(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / name, os.X_OK) for name in _BINARIES)


def _version_key(bin_dir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin
    version = Path(bin_dir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_postgres_bin() -> Path | None:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None.

    Looks at ``$VOUCHER_TEST_PG_BIN``, then ``/usr/lib/postgresql/*/bin``
    (newest version first), then ``PATH``.
    """
    override = os.environ.get(ENV_BIN)
    if override:
        path = Path(override)
        return path if _has_binaries(path) else None

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if _has_binaries(Path(candidate)):
            return Path(candidate)

    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        # Debian's /usr/bin/pg_ctl is a wrapper script; resolve real binaries.
        for path in (Path(pg_ctl).parent, Path(os.path.realpath(pg_ctl)).parent):
            if _has_binaries(path):
                return path
    return None


def postgres_required() -> bool:
    """True when ``VOUCHER_TEST_POSTGRES=required`` (make test, CI)."""
    return os.environ.get(ENV_REQUIRED, "").strip().lower() == "required"


def require_postgres_bin() -> Path:
    """``find_postgres_bin()``, or skip the test (fail when required)."""
    import pytest

    bin_dir = find_postgres_bin()
    if bin_dir is not None:
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(_RUN_AS)
            except KeyError:
                msg = (
                    f"PostgreSQL refuses to run as root and there is no {_RUN_AS!r} "
                    "system user to run it as (install the Debian 'postgresql' "
                    "package, or run scripts/setup)"
                )
                if postgres_required():
                    pytest.fail(msg, pytrace=False)
                pytest.skip(msg)
        return bin_dir

    msg = (
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
        "/usr/lib/postgresql/*/bin or on PATH; run scripts/setup (installs the "
        f"Debian 'postgresql' package) or set {ENV_BIN}"
    )
    if postgres_required():
        pytest.fail(f"{msg} [{ENV_REQUIRED}=required]", pytrace=False)
    pytest.skip(msg)
    raise AssertionError("unreachable")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _world_traversable(path: Path) -> bool:
    """Every directory from / down to ``path`` can be entered by others."""
    path = path.resolve()
    for directory in (path, *path.parents):
        try:
            if not directory.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


class PostgresServer:
    """A throwaway PostgreSQL server on 127.0.0.1, trust auth, user ``postgres``.

    ``start()`` creates a fresh cluster in a temporary directory and starts it
    on a free port; ``stop()`` kills it (``-m immediate``) and removes the
    directory. Usable as a context manager.
    """

    def __init__(
        self, bin_dir: Path | str | None = None, *, start_attempts: int = 5, durable: bool = False
    ) -> None:
        found = Path(bin_dir) if bin_dir is not None else find_postgres_bin()
        if found is None:
            raise PostgresStartError("PostgreSQL server binaries not found (see find_postgres_bin)")
        self.bin_dir = found
        self.start_attempts = start_attempts
        self.durable = durable  # fsync on, as in production (benchmarks); tests run without it
        self.port: int | None = None
        self.root: Path | None = None
        self._running = False
        self._as_root = os.geteuid() == 0
        self._lifeline: Lifeline | None = None  # stops the server if this process dies first

    # -- paths --------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        assert self.root is not None, "server not started"
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None, "server not started"
        return self.root / "sock"

    @property
    def log_file(self) -> Path:
        assert self.root is not None, "server not started"
        return self.root / "postgres.log"

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> PostgresServer:
        if self._running:
            return self
        self.root = self._make_root()
        try:
            self._initdb()
            last_error: PostgresStartError | None = None
            for _ in range(self.start_attempts):
                port = _free_port()
                try:
                    self._pg_ctl_start(port)
                except PostgresStartError as exc:
                    # Another process (e.g. another xdist worker's server) may
                    # have taken the port between _free_port() and bind().
                    last_error = exc
                    if (
                        "already in use" in str(exc)
                        or "could not bind" in str(exc)
                        or "could not create any TCP/IP sockets" in str(exc)
                    ):
                        continue
                    raise
                self.port = port
                self._running = True
                atexit.register(self.stop)
                # pg_ctl daemonises the server: a run killed with SIGKILL would leave it running
                self._lifeline = Lifeline(
                    self._cmd("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate")
                )
                return self
            assert last_error is not None
            raise last_error
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            raise

    def stop(self) -> None:
        if self.root is None:
            return
        if self._running:
            subprocess.run(
                self._cmd("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w"),
                cwd=self.root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            self._running = False
            atexit.unregister(self.stop)
            if self._lifeline is not None:
                self._lifeline.release()
                self._lifeline = None
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
        self.port = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- connecting ---------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL for ``dbname`` on this server."""
        self._check_running()
        return f"postgresql+psycopg://{_SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq/psycopg connection string for ``dbname``."""
        self._check_running()
        return f"host=127.0.0.1 port={self.port} user={_SUPERUSER} dbname={dbname}"

    def create_database(self, name: str) -> str:
        """Create database ``name``; returns its SQLAlchemy URL."""
        from psycopg import sql

        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` (if it exists), disconnecting its clients."""
        from psycopg import sql

        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # -- internals ----------------------------------------------------------

    def _check_running(self) -> None:
        if not self._running:
            raise RuntimeError("PostgresServer is not running (call start())")

    def _admin(self, statement: object) -> None:
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def _make_root(self) -> Path:
        base = Path(tempfile.gettempdir())
        if self._as_root and not _world_traversable(base):
            base = Path("/tmp")  # the postgres user must reach the data dir
        # Short path: the Unix socket path must stay under ~100 characters.
        root = Path(tempfile.mkdtemp(prefix="voucher-pg-", dir=base))
        self.root = root
        (root / "data").mkdir(mode=0o700)
        (root / "sock").mkdir(mode=0o700)
        if self._as_root:
            user = pwd.getpwnam(_RUN_AS)
            for path in (root, root / "data", root / "sock"):
                os.chown(path, user.pw_uid, user.pw_gid)
        return root

    def _cmd(self, binary: str, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / binary), *args]
        if self._as_root:
            cmd = ["runuser", "-u", _RUN_AS, "--", *cmd]
        return cmd

    def _run(self, binary: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        # Don't let a caller's libpq settings leak into pg_ctl's readiness check.
        for key in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE"):
            env.pop(key, None)
        env["LC_ALL"] = "C"
        return subprocess.run(
            self._cmd(binary, *args),
            cwd=self.root,  # the postgres user may not be able to read the caller's cwd
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )

    def _initdb(self) -> None:
        result = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "--auth=trust",
            f"--username={_SUPERUSER}",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        if result.returncode != 0:
            raise PostgresStartError(
                f"initdb failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )

    def _pg_ctl_start(self, port: int) -> None:
        durability = (
            "-c fsync=on -c synchronous_commit=on -c full_page_writes=on "
            if self.durable
            else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {self.socket_dir} "
            + durability
            + "-c max_connections=200 -c shared_buffers=256MB"
        )
        result = self._run(
            "pg_ctl",
            "-w",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
        )
        if result.returncode != 0:
            try:
                log = self.log_file.read_text(errors="replace")
            except OSError:
                log = "(no log)"
            # Stop a half-started server before a retry on another port.
            subprocess.run(
                self._cmd("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate"),
                cwd=self.root,
                capture_output=True,
                check=False,
            )
            try:
                self.log_file.unlink()
            except OSError:
                pass
            raise PostgresStartError(
                f"pg_ctl start on port {port} failed (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n--- postgres log ---\n{log}"
            )
