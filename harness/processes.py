"""Child processes that cannot outlive the run that started them.

Every program the tests, the benchmarks or the demo start goes through `Child`: it runs in its
own process group (`start_new_session`), so stopping it stops whatever it started, and on Linux
it gets SIGKILL from the kernel the moment its parent dies (prctl PR_SET_PDEATHSIG), so a test
run killed by a CI time limit or a second Ctrl+C leaves nothing running. The signal is tied to
the thread that started the child: start children from a thread that outlives them (the main
thread, as pytest and the benchmarks do).

A start-up that fails (the program exits, or is not ready by the deadline) kills and reaps the
child before the error leaves, and the error carries the tail of the child's log.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# A deadline for a program to come up that holds on a busy two-core machine (a server imports
# FastAPI and SQLAlchemy and migrates its database first: a second or two when idle, ten and more
# when every core is taken by a parallel test run).
START_DEADLINE = 60.0
POLL = 0.05
BIN = Path(sys.executable).parent
PR_SET_PDEATHSIG = 1


class StartFailed(RuntimeError):
    """A child exited, or was not ready by its deadline; the message ends with its log's tail."""


def program(name: str) -> str:
    """The path of one of this virtualenv's console scripts (voucher-central, voucher-sync ...)."""
    return str(BIN / name)


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago (bind races are retried by the caller)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(condition: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """The first true value of `condition()`, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(POLL)


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGKILL the child when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None

    prctl = libc.prctl  # looked up here: the child between fork and exec only calls it

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl: no signal will come
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: Any = subprocess.DEVNULL,
    stdout: Any = None,
    stderr: Any = None,
    new_session: bool = True,
    **popen: Any,
) -> subprocess.Popen:
    """subprocess.Popen that dies with this process. `new_session=False` keeps the child in our
    process group (and so on our terminal): the demo's kiosk in the foreground needs that."""
    return subprocess.Popen(
        [str(a) for a in argv],
        env=None if env is None else dict(env),
        cwd=cwd,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=new_session,
        # runs between fork and exec: one prctl and one getppid, nothing that takes a lock
        preexec_fn=_die_with_parent(os.getpid()),  # noqa: PLW1509
        **popen,
    )


class Child:
    """One program as a child process, its output (stdout and stderr) in a log file.

    Without a `log`, the output goes to a temporary file that is removed when the child stops."""

    def __init__(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
        cwd: Path | None = None,
        name: str | None = None,
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.env = env
        self.cwd = cwd
        self.name = name or Path(self.argv[0]).name
        self._own_log = log is None
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> Child:
        if self.log is None:
            fd, path = tempfile.mkstemp(prefix=f"harness-{self.name}-", suffix=".log")
            os.close(fd)
            self.log = Path(path)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = spawn(self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace") if self.log else ""
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"

    def wait_ready(self, ready: Callable[[], bool], timeout: float = START_DEADLINE, what: str = "") -> None:
        """Poll `ready()` until it holds; if the child exits first, or the deadline passes, the
        child is killed and reaped and StartFailed says why, with the log's tail."""
        what = what or f"{self.name} ready"
        deadline = time.monotonic() + timeout
        try:
            while True:
                if not self.alive():
                    raise StartFailed(
                        f"{self.name} exited with {self.returncode} before {what}; "
                        f"the end of {self.log}:\n{self.log_tail()}"
                    )
                if ready():
                    return
                if time.monotonic() >= deadline:
                    raise StartFailed(
                        f"{what}: not within {timeout:.0f} s; the end of {self.log}:\n{self.log_tail()}"
                    )
                time.sleep(POLL)
        except BaseException:
            self.kill()
            raise

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def kill(self) -> int | None:
        """SIGKILL to the child and everything in its process group, as a power cut would."""
        if self.process is None:
            return None
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(30)
        return self.process.returncode

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM to the child (a clean shutdown), SIGKILL after `timeout`; then whatever is left
        of its process group goes too. Returns the child's exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._signal_group(signal.SIGKILL)  # anything the child started and left behind
        if self._own_log and self.log is not None:
            self.log.unlink(missing_ok=True)
        return self.process.returncode


# The guard's program: it reads the pids to watch, one a line, until its standard input ends;
# a line "release" means the run ended cleanly and there is nothing to do.
_GUARD = """
import json, os, signal, subprocess, sys
argv, pids = json.loads(sys.argv[1]), []
for line in sys.stdin:
    if line.strip() == "release":
        sys.exit(0)
    pids.append(int(line))
if argv:
    subprocess.run(argv, capture_output=True, timeout=30)
for pid in pids:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
"""


class Lifeline:
    """A guard for what a parent-death signal cannot reach: a program that daemonises (a tmux
    server) is no child of ours. The guard is a small process of its own session reading a pipe
    from us; when we die, however we die, the pipe ends, and it runs `on_death` (e.g. `tmux
    kill-server`) and SIGKILLs every pid it was given. `release()` after a clean stop."""

    def __init__(self, on_death: Sequence[str] = ()) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _GUARD, json.dumps(list(on_death))],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl+C on our terminal is not our death
            text=True,
        )

    def watch(self, pid: int) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{pid}\n")
        self.process.stdin.flush()

    def release(self) -> None:
        """We stopped what we started ourselves: the guard leaves without doing anything."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.write("release\n")
                self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
