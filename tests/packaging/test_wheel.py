"""The programs as a store host or head office installs them: the wheel built from this tree,
installed with one extra into a fresh virtualenv outside the checkout, each program run from
that virtualenv's bin/ (the other tests use the editable .venv, which cannot see a file left
out of the wheel: kiosk/app.tcss once was).

The wheel is built once per module from a copy of the working tree (what git would commit,
committed or not), so the checkout gets no build/ directory; the two virtualenvs ('till' and
'central') are made by README.md's install lines from that copy, side by side, once per module."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.e2e import query
from support.kiosk_files import make_settings
from support.under_systemd import run_as_under_systemd, screen_lines

from harness import FAST_ENV, free_port, spawn, wait_for
from harness.terminal import TmuxTerminal

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("central", "kiosk", "sync", "localdb", "vouchers", "configfile", "hub")
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
PROGRAMS = {
    "voucher-kiosk": "till",
    "voucher-sync": "till",
    "voucher-central": "central",
    "voucher-hub": "hub",
}
# what each extra must not bring: import name -> its distribution's name in `pip list`
NOT_IN = {
    "till": {
        "fastapi": "fastapi",
        "starlette": "starlette",
        "uvicorn": "uvicorn",
        "sqlalchemy": "sqlalchemy",
        "alembic": "alembic",
        "psycopg": "psycopg",
    },
    "central": {"textual": "textual", "cv2": "opencv-python-headless", "pyzbar": "pyzbar"},
    "hub": {
        "textual": "textual",
        "cv2": "opencv-python-headless",
        "pyzbar": "pyzbar",
        "sqlalchemy": "sqlalchemy",
        "alembic": "alembic",
        "psycopg": "psycopg",
    },
}
# the modules each program starts from, which must import from the virtualenv's site-packages
ENTRY_MODULES = {
    "till": ["kiosk.app", "kiosk.scanner", "sync.agent"],
    "central": ["central.app", "central.db.migrate"],
    "hub": ["hub.cli", "hub.app", "hub.upstream"],
}
ADMIN_TOKEN = "packaging-test-admin-token"
STORE = "leeds-01"
DEADLINE = 60  # generous for a loaded 2-core machine; every wait polls


def program_env(**extra: str) -> dict[str, str]:
    """This process's environment (pip's settings point at the local indexes), without anything
    that would make Python find the checkout or another virtualenv, or change a program's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSAFEPATH")
        and not k.startswith("VOUCHER_")
    }
    return {**env, **extra}


def tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


def run(
    argv: list[str | Path],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    check: bool = True,
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env or program_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert result.returncode == 0, (
            f"{' '.join(map(str, argv))} exited with {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def source_files() -> list[str]:
    """The working tree as git would commit it: tracked files and new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(name for name in listed.split("\0") if name and (REPO / name).is_file())


# --- the wheel and the three virtualenvs, once per module -------------------------------------------------


def copy_source(parent: Path) -> Path:
    """A copy of the working tree in parent/voucher-kiosk, standing in for /opt/voucher-kiosk."""
    copy = parent / "voucher-kiosk"
    for name in source_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, copy / name)
    return copy


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory) -> Path:
    """A copy of the working tree, standing in for /opt/voucher-kiosk of the install guide."""
    return copy_source(tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="module")
def wheel(source_tree, tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, source_tree], cwd=dist, timeout=300)
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def base_python() -> str:
    """The interpreter this test's virtualenv was made from (a venv made by a venv's python works too)."""
    for candidate in (Path(sys.base_prefix) / "bin" / "python3", Path(sys.base_prefix) / "bin" / "python"):
        if candidate.exists():
            return str(candidate)
    return sys.executable


def install_guide_lines(extra: str) -> list[str]:
    """README.md's commands that make the virtualenv and install the extra, as the guide gives them."""
    text = (REPO / "README.md").read_text()
    heading = (
        "## A shop with several tills"
        if extra == "hub"
        else "## Installing on store hardware and at head office"
    )
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    lines = [
        line.split("#", 1)[0].strip()
        for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
        for line in block.splitlines()
    ]
    make = [line for line in lines if line.startswith("python3 -m venv ")]
    install = [line for line in lines if " install " in line and f"[{extra}]" in line]
    assert make and install, f"README.md's install guide has no venv or pip line for [{extra}]"
    return [make[0], install[0]]


@pytest.fixture(scope="module")
def venvs(tmp_path_factory) -> dict[str, Path]:
    """{'till': V, 'central': V, 'hub': V}: README.md's install lines for each extra, with the source
    tree and the virtualenv in temporary directories for /opt/voucher-kiosk; all installs at once.
    Each install has its own source tree, as each machine does: pip builds the wheel inside the
    tree, and two builds in one tree trip over each other's build/ directory."""
    root = tmp_path_factory.mktemp("venvs")
    installs = {}
    for extra in ("till", "central", "hub"):
        venv, log = root / extra, root / f"{extra}.log"
        source = copy_source(root / f"{extra}-source")
        script = " && ".join(install_guide_lines(extra))
        script = (
            script.replace("/opt/voucher-kiosk/.venv", str(venv))
            .replace("/opt/voucher-kiosk", str(source))
            .replace("python3 -m venv", f"{base_python()} -m venv", 1)
            .replace("/bin/pip install ", "/bin/pip install --quiet ", 1)
        )
        with open(log, "wb") as out:
            process = subprocess.Popen(
                ["sh", "-c", script],
                cwd=root,
                env=program_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        installs[extra] = (venv, log, process)
    try:
        for extra, (venv, log, process) in installs.items():
            code = process.wait(300)
            assert code == 0, f"installing [{extra}] as README.md says failed ({code}):\n{tail(log)}"
    finally:
        for _, _, process in installs.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return {extra: venv for extra, (venv, _, _) in installs.items()}


def bin_of(venvs: dict[str, Path], program: str) -> Path:
    return venvs[PROGRAMS[program]] / "bin" / program


# --- the wheel's contents -----------------------------------------------------------------------------


def test_the_wheel_is_named_for_the_projects_version(wheel):
    assert wheel.name.startswith(f"voucher_kiosk-{VERSION}-"), wheel.name


def test_the_wheel_holds_every_file_of_the_packages(wheel):
    """Templates, static files, migrations, the kiosk's stylesheet: whatever is in a package
    directory in git is in the wheel (package-data in pyproject.toml must say so)."""
    in_git = [name for name in source_files() if name.split("/")[0] in PACKAGES]
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    missing_data = [name for name in in_git if not name.endswith(".py") and name not in in_wheel]
    assert not missing_data, (
        "files the programs read at run time are not in the wheel; add them to "
        f"[tool.setuptools.package-data] in pyproject.toml: {missing_data}"
    )
    missing_modules = [name for name in in_git if name.endswith(".py") and name not in in_wheel]
    assert not missing_modules, (
        f"modules not in the wheel (a directory without __init__.py?): {missing_modules}"
    )


# --- each extra: its own libraries and no other's --------------------------------------------------------


IMPORT_PROBE = textwrap.dedent("""
    import importlib, json, sys
    found = {}
    for name in sys.argv[1:]:
        try:
            module = importlib.import_module(name)
            found[name] = {"file": getattr(module, "__file__", None)}
        except ImportError as exc:
            found[name] = {"error": type(exc).__name__, "missing": getattr(exc, "name", None), "text": str(exc)}
    print(json.dumps(found))
""")


@pytest.mark.parametrize("extra", ["till", "central", "hub"])
def test_an_extra_brings_no_other_programs_libraries(venvs, extra, tmp_path):
    venv = venvs[extra]
    probe = run([venv / "bin" / "python", "-c", IMPORT_PROBE, *NOT_IN[extra]], cwd=tmp_path)
    found = json.loads(probe.stdout)
    imported = {
        name: r
        for name, r in found.items()
        if r.get("error") != "ModuleNotFoundError" or r.get("missing") != name
    }
    assert not imported, f"the '{extra}' virtualenv can import what it should not have: {imported}"
    listed = run([venv / "bin" / "pip", "list", "--format=json"], cwd=tmp_path)
    names = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert not names & set(NOT_IN[extra].values()), f"'pip list' of the '{extra}' virtualenv: {sorted(names)}"


@pytest.mark.parametrize("extra", ["till", "central", "hub"])
def test_an_extra_brings_what_its_programs_import(venvs, extra, tmp_path):
    venv = venvs[extra]
    probe = run([venv / "bin" / "python", "-c", IMPORT_PROBE, *ENTRY_MODULES[extra]], cwd=tmp_path)
    found = json.loads(probe.stdout)
    for name, result in found.items():
        assert "error" not in result, f"{name} does not import in the '{extra}' virtualenv: {result}"
        assert Path(result["file"]).is_relative_to(venv), f"{name} imported from {result['file']}, not {venv}"


# --- each program, from its virtualenv's bin/ ------------------------------------------------------------


@pytest.mark.parametrize("program", list(PROGRAMS))
def test_a_program_has_help(venvs, program, tmp_path):
    result = run([bin_of(venvs, program), "--help"], cwd=tmp_path, timeout=60)
    assert f"usage: {program}" in result.stdout


@pytest.mark.parametrize("program", list(PROGRAMS))
def test_a_program_says_its_version(venvs, program, tmp_path):
    result = run([bin_of(venvs, program), "--version"], cwd=tmp_path, timeout=60)
    assert result.stdout.strip() == f"{program} {VERSION}", result.stdout


def test_the_kiosk_not_enrolled_says_so_in_one_line(venvs, tmp_path):
    """A data directory without the device identity: exit status non-zero, and one line of words
    for the person at the till (not a traceback)."""
    data_dir = tmp_path / "till"
    data_dir.mkdir()
    try:
        result = run(
            [bin_of(venvs, "voucher-kiosk"), "run", "--data-dir", data_dir],
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"voucher-kiosk run without an identity did not exit:\n{exc.stderr}") from None
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"start-up error not one line:\n{result.stderr}"
    assert "enrol" in lines[0].lower(), lines[0]


# --- head office and a till, installed from the wheel, end to end ---------------------------------------


class Program:
    """One long-running program as a process, its output in a log; always stopped at the end."""

    def __init__(self, argv: list[str | Path], log: Path, cwd: Path, env: dict[str, str]) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.process = spawn(  # dies with the test run, however it ends
                [str(a) for a in argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then SIGKILL if it does not stop in time; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


@pytest.fixture
def processes() -> Iterator[list[Program]]:
    started: list[Program] = []
    yield started
    for program in started:
        program.stop()


@pytest.fixture
def terminal(tmp_path) -> Iterator[TmuxTerminal]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (the kiosk needs a real terminal)")
    workdir = tmp_path / "tmux"
    workdir.mkdir()
    terminal = TmuxTerminal(workdir)
    yield terminal
    terminal.close()


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def start_head_office(venvs, tmp_path: Path, processes: list[Program]) -> tuple[str, dict[str, str]]:
    """`voucher-central serve` on a SQLite file; its URL, and the environment of its admin CLI."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = program_env(VOUCHER_ADMIN_TOKEN=ADMIN_TOKEN, VOUCHER_SERVER=url)
    server = Program(
        [
            bin_of(venvs, "voucher-central"),
            "serve",
            "--database",
            f"sqlite:///{tmp_path / 'c.db'}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        tmp_path / "central.log",
        tmp_path,
        env,
    )
    processes.append(server)

    def up() -> bool:
        assert server.running(), f"voucher-central serve exited with {server.process.returncode}"
        return healthy(url)

    try:
        wait_for(up, DEADLINE, "GET /healthz")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nserver log:\n{tail(server.log)}") from None
    # the admin token bootstraps the first staff account; the admin commands use its own token
    first = httpx.post(
        f"{url}/api/v1/staff/bootstrap",
        json={"email": "hq@example.com"},
        timeout=30,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert first.status_code == 201, first.text
    return url, {**program_env(VOUCHER_SERVER=url), "VOUCHER_TOKEN": first.json()["token"]}


def test_head_office_and_a_till_installed_from_the_wheel(venvs, tmp_path, processes, terminal):
    # head office: the server, and its admin CLI making a store, an enrolment code and a batch
    url, admin_env = start_head_office(venvs, tmp_path, processes)

    def central(*args: str) -> subprocess.CompletedProcess:
        return run([bin_of(venvs, "voucher-central"), *args], cwd=tmp_path, env=admin_env, timeout=DEADLINE)

    def central_json(*args: str):
        return json.loads(central(*args, "--json").stdout)

    central("store", "create", STORE, "Leeds Briggate", "--timezone", "Europe/London")
    batch = central_json(
        "batch", "create", "--identifier", "Wheel Spring", "--serial-start", "1", "--serial-end", "20"
    )
    bid = batch["id"]
    central("batch", "add-type", bid, "--name", "Std", "--value", "£5 off")
    for step in ("validate", "generate", "wait", "distribute", "redeemable"):
        central("batch", step, bid)
    batch = central_json("batch", "show", bid)
    assert batch["state"] == "redeemable" and batch["metrics"]["total"] == 20, batch
    # head office claims one on behalf of a member (members sign in by mail on the claim page)
    claim = httpx.post(
        f"{url}/api/v1/claims",
        json={"claim_token": batch["claim_token"], "member_id": "m1@example.com"},
        timeout=30,
        headers={"Authorization": f"Bearer {admin_env['VOUCHER_TOKEN']}"},
    )
    assert claim.status_code == 201, claim.text
    code = claim.json()["code"]
    enrolment = central_json("store", "enrolment-code", STORE)["code"]

    # the till: enrol, then the agent pulls the snapshot into replica.db
    till_env = program_env(**FAST_ENV)
    data_dir = tmp_path / "till"
    sync = bin_of(venvs, "voucher-sync")
    enrolled = run(
        [sync, "enrol", "--data-dir", data_dir, "--server", url, "--code", enrolment, "--name", "till-1"],
        cwd=tmp_path,
        env=till_env,
        timeout=DEADLINE,
    )
    assert f"store {STORE}" in enrolled.stdout, enrolled.stdout
    agent = Program([sync, "run", "--data-dir", data_dir], tmp_path / "agent.log", tmp_path, till_env)
    processes.append(agent)

    def pulled() -> bool:
        assert agent.running(), f"voucher-sync run exited with {agent.process.returncode}"
        meta = dict(tuple(r) for r in query(data_dir / "replica.db", "SELECT key, value FROM meta"))
        claimed = query(
            data_dir / "replica.db", "SELECT count(*) FROM vouchers WHERE batch_id = ? AND claimed", bid
        )
        return bool(meta.get("last_pull_at")) and int(meta.get("cursor") or 0) > 0 and claimed[0][0] == 1

    try:
        wait_for(pulled, DEADLINE, "a pull of the snapshot into replica.db")
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\nagent log:\n{tail(agent.log)}\nserver log:\n{tail(tmp_path / 'central.log')}"
        ) from None
    status = run([sync, "status", "--data-dir", data_dir], cwd=tmp_path, env=till_env, timeout=DEADLINE)
    assert f"store {STORE}" in status.stdout, status.stdout

    # the cashier's screen in a real terminal: it draws, a typed code gets its verdict, Ctrl+Q quits
    exit_file = tmp_path / "kiosk.exit"
    kiosk = [str(bin_of(venvs, "voucher-kiosk")), "run", "--data-dir", str(data_dir)]
    script = (
        f"unset PYTHONPATH PYTHONHOME VIRTUAL_ENV; cd {shlex.quote(str(tmp_path))} && {shlex.join(kiosk)}; "
        f"echo EXIT=$? > {shlex.quote(str(exit_file))}"
    )
    terminal.start(
        ["sh", "-c", script],
        {
            "LANG": "C.UTF-8",
            "VOUCHER_KIOSK_BELL": "false",
            "VOUCHER_KIOSK_VERDICT_SECONDS": "600",
            "VOUCHER_KIOSK_ALLOW_QUIT": "true",  # Ctrl+Q below
        },
    )
    terminal.wait_screen(
        lambda s: "Scan or type a voucher code, then Enter" in s, DEADLINE, "the kiosk's scan input"
    )
    terminal.type(code)

    def verdict(screen: str) -> bool:
        flat = " ".join(screen.split())
        return "ACCEPTED" in flat and code in flat

    terminal.wait_screen(verdict, DEADLINE, f"ACCEPTED for {code}")

    # the agent pushes the redemption: head office counts it
    def reported() -> bool:
        return central_json("store", "redemptions", STORE)["summary"]["accepted"] == 1

    try:
        wait_for(reported, DEADLINE, "the redemption at head office")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nagent log:\n{tail(agent.log)}") from None

    terminal.press("C-q")
    wait_for(lambda: exit_file.exists() and exit_file.read_text().strip(), DEADLINE, "the kiosk's exit")
    assert exit_file.read_text().strip() == "EXIT=0", f"{exit_file.read_text()}\nscreen:\n{terminal.screen()}"

    # SIGTERM stops the agent cleanly
    assert agent.stop() == 0, f"voucher-sync run on SIGTERM:\n{tail(agent.log)}"


def test_the_kiosk_without_its_stylesheet_exits_1_with_one_line_and_the_traceback_in_the_journal(
    venvs, tmp_path
):
    """The bug that started tests/packaging: app.tcss missing from site-packages. Textual fails
    inside the app; the till must not exit 0 (systemd would not see a failure) nor draw a
    traceback on the cashier's screen. Last in the module: it takes the file away for a moment."""
    data_dir = tmp_path / "till"
    make_settings(data_dir)
    probe = run(
        [
            venvs["till"] / "bin" / "python",
            "-c",
            "import kiosk, pathlib; print(pathlib.Path(kiosk.__file__).parent)",
        ],
        cwd=tmp_path,
    )
    stylesheet = Path(probe.stdout.strip()) / "app.tcss"
    aside = stylesheet.with_name("app.tcss.aside")
    stylesheet.rename(aside)
    try:
        code, screen, journal = run_as_under_systemd(
            [str(bin_of(venvs, "voucher-kiosk")), "run", "--data-dir", str(data_dir)], program_env(), DEADLINE
        )
    finally:
        aside.rename(stylesheet)
    assert code == 1, (screen, journal)
    lines = screen_lines(screen)
    assert len(lines) == 1 and lines[0].startswith("voucher-kiosk cannot start: StylesheetError"), screen
    assert "Traceback" not in screen and "app.tcss" in lines[0]
    assert "<3>Traceback (most recent call last):" in journal.splitlines(), journal
