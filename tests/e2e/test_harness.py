"""The harness's promises about the processes it starts: none outlives the run that started it,
even one killed with SIGKILL; a failed start leaves nothing running and says why."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from harness import Child, ServerProcess, StartFailed, spawn, wait_for

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 30


def gone(pid: int) -> bool:
    """No such process, or only its zombie (dead, waiting for whoever reaps orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_a_server_dies_with_the_run_that_started_it_even_one_killed_with_sigkill(tmp_path):
    """A stand-in for a pytest run: a Python process starts a server through the harness and is
    killed with SIGKILL (a CI time limit, Ctrl+C twice); the server must not live on."""
    run = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from harness import ServerProcess
        server = ServerProcess({f"sqlite:///{tmp_path / 'central.db'}"!r}, log=Path({str(tmp_path / "server.log")!r}))
        server.start()
        print(server.pid, server.url, flush=True)
        time.sleep(600)
        """
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", run], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        line = runner.stdout.readline()  # the run's first line, once the server answers
        pid, url = line.split()
        pid = int(pid)
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        runner.send_signal(signal.SIGKILL)
        runner.wait(DEADLINE)
        wait_for(lambda: gone(pid), DEADLINE, f"the server (pid {pid}) gone after its run was killed")
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_program_in_a_tmux_terminal_dies_with_the_run_that_started_it(tmp_path):
    """tmux daemonises (its server is no child of the run): the harness's lifeline ends it."""
    run = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from harness.terminal import TmuxTerminal
        terminal = TmuxTerminal(Path({str(tmp_path)!r})).start(["sleep", "600"], {{}})
        print(terminal.pid, terminal.socket, flush=True)
        time.sleep(600)
        """
    )
    runner = subprocess.Popen([sys.executable, "-c", run], stdout=subprocess.PIPE, text=True)
    try:
        pid, socket = runner.stdout.readline().split()
        assert not gone(int(pid))
        runner.send_signal(signal.SIGKILL)
        runner.wait(DEADLINE)
        wait_for(
            lambda: gone(int(pid)), DEADLINE, "the program in the terminal gone after its run was killed"
        )
        wait_for(
            lambda: (
                subprocess.run(["tmux", "-L", socket, "has-session"], capture_output=True).returncode != 0
            ),
            DEADLINE,
            "the tmux server gone",
        )
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()


@pytest.mark.postgres
def test_the_tests_postgresql_dies_with_the_run_that_started_it(tmp_path):
    """pg_ctl daemonises the server: the harness's lifeline stops it."""
    from support.postgres import require_postgres_bin

    run = textwrap.dedent(
        f"""
        import sys, time
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        from support.postgres import PostgresServer
        server = PostgresServer({str(require_postgres_bin())!r}).start()
        print((server.data_dir / "postmaster.pid").read_text().split()[0], flush=True)
        time.sleep(600)
        """
    )
    runner = subprocess.Popen([sys.executable, "-c", run], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(runner.stdout.readline())
        assert not gone(pid)
        runner.send_signal(signal.SIGKILL)
        runner.wait(DEADLINE)
        wait_for(lambda: gone(pid), DEADLINE, "PostgreSQL gone after its run was killed")
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()


def test_a_server_that_cannot_start_leaves_nothing_and_says_why(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the database's directory should be")
    server = ServerProcess(f"sqlite:///{blocked / 'central.db'}", log=tmp_path / "server.log")
    with pytest.raises(StartFailed) as failed:
        server.start()
    # the log's tail: the server said, in words, which database it could not use (no traceback)
    assert "exited with" in str(failed.value) and "The database cannot be used" in str(failed.value)
    assert "Traceback" not in (tmp_path / "server.log").read_text()
    assert gone(server.pid) and not server.alive()


def test_a_child_not_ready_by_its_deadline_is_killed_with_what_it_logged(tmp_path):
    child = Child(
        [sys.executable, "-c", "import time; print('still warming up', flush=True); time.sleep(600)"],
        log=tmp_path / "slow.log",
        name="slow",
    ).start()
    wait_for(lambda: "warming" in (tmp_path / "slow.log").read_text(), DEADLINE, "the child's first line")
    started = time.monotonic()
    with pytest.raises(StartFailed, match="still warming up"):
        child.wait_ready(lambda: False, timeout=0.5, what="slow ready")
    assert time.monotonic() - started < DEADLINE
    assert gone(child.pid)


def test_stopping_a_child_stops_what_it_started(tmp_path):
    """A program's own children are in its process group, and go with it."""
    pid_file = tmp_path / "grandchild.pid"
    child = Child(
        ["sh", "-c", f"sleep 600 & echo $! > {pid_file}; wait"], log=tmp_path / "sh.log", name="sh"
    ).start()
    grandchild = int(
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), DEADLINE, "the pid")
    )
    assert not gone(grandchild)
    child.stop(timeout=5)
    wait_for(lambda: gone(grandchild), DEADLINE, "the child's own child gone")


def test_a_child_in_its_own_session_does_not_get_the_terminals_signals():
    """Ctrl+C on the run's terminal reaches the run, which then stops its children in order."""
    child = spawn([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        assert os.getsid(child.pid) == child.pid != os.getsid(0)
    finally:
        child.kill()
        child.wait()


def test_no_shipped_package_imports_the_harness_and_the_wheel_leaves_it_out():
    """The harness is the test bench around the programs, never part of them."""
    import ast
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(Path("harness").match(pattern) for pattern in shipped)
    importers, scanned = [], 0
    for pattern in shipped:
        for package in ROOT.glob(pattern.rstrip("*")):
            for module in package.rglob("*.py"):
                scanned += 1
                for node in ast.walk(ast.parse(module.read_text(), str(module))):
                    names = (
                        [a.name for a in node.names]
                        if isinstance(node, ast.Import)
                        else [node.module or ""]
                        if isinstance(node, ast.ImportFrom)
                        else []
                    )
                    importers += [str(module) for n in names if n.split(".")[0] == "harness"]
    assert scanned > 50 and importers == []
