"""The systemd units: systemd-analyze verifies them and scores their hardening, and they start
the programs, with the settings and credentials, that the code really has."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from central.settings import CentralSettings
from configfile.credentials import secret_fields
from hub.settings import CONFIG_ENV as HUB_CONFIG_ENV
from hub.settings import HubSettings
from hub.settings import load_settings as load_hub
from kiosk.settings import CONFIG_ENV as KIOSK_CONFIG_ENV
from kiosk.settings import KioskSettings
from kiosk.settings import load_settings as load_kiosk
from localdb import identity
from sync.settings import CONFIG_ENV as SYNC_CONFIG_ENV
from sync.settings import AgentSettings
from sync.settings import load_settings as load_sync

ROOT = Path(__file__).parent.parent
UNITS = ROOT / "systemd"
CONFIG = ROOT / "config"
INSTALLED_VENV = "/opt/voucher-kiosk/.venv"
VENV = Path(sys.prefix)  # the venv running these tests, where this checkout's programs are installed

# unit -> (program, arguments, highest overall exposure systemd-analyze security may give)
EXPECTED = {
    "voucher-sync.service": ("voucher-sync", ["run"], 5.0),
    "voucher-kiosk.service": ("voucher-kiosk", ["run"], 7.0),
    "voucher-central.service": ("voucher-central", ["serve"], 5.0),
    "voucher-hub.service": ("voucher-hub", ["serve"], 5.0),
}
PROGRAMS = {program for program, _, _ in EXPECTED.values()}
GROUPS = {"store", "batch", "voucher", "device", "problem", "staff", "integration"}
NESTED = {("staff", "token")}  # groups inside a group  # voucher-central commands that take an action
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze is not installed (scripts/setup installs the Debian package systemd)",
)


def directives(unit: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment of a unit file, in order, repeats kept."""
    section, found = "", []
    for line in (UNITS / unit).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def values(unit: str, key: str, section: str = "Service") -> list[str]:
    return [v for s, k, v in directives(unit) if s == section and k == key]


def environment(unit: str) -> dict[str, str]:
    return dict(item.split("=", 1) for line in values(unit, "Environment") for item in shlex.split(line))


def credentials(unit: str) -> dict[str, str]:
    return dict(v.split(":", 1) for v in values(unit, "LoadCredential"))


@pytest.fixture(scope="module")
def testable_units(tmp_path_factory) -> Path:
    """The units with the install location of the venv replaced by the venv under test, so that
    verify checks that the programs they start really exist and are executable."""
    directory = tmp_path_factory.mktemp("units")
    for unit in EXPECTED:
        text = (UNITS / unit).read_text()
        assert INSTALLED_VENV in text
        (directory / unit).write_text(text.replace(INSTALLED_VENV, str(VENV)))
    return directory


def test_every_unit_is_tested():
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(EXPECTED)


@pytest.mark.parametrize("unit", EXPECTED)
def test_unit_starts_the_right_program(unit):
    program, arguments, _ = EXPECTED[unit]
    [exec_start] = values(unit, "ExecStart")
    argv = shlex.split(exec_start)
    assert argv == [f"{INSTALLED_VENV}/bin/{program}", *arguments]
    # and the program has that command (a renamed subcommand would fail here)
    answer = subprocess.run(
        [VENV / "bin" / program, *arguments, "--help"], capture_output=True, text=True, timeout=60
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith(f"usage: {program} {' '.join(arguments)}")


@needs_analyze
@pytest.mark.parametrize("unit", EXPECTED)
def test_systemd_analyze_verify_is_silent(unit, testable_units):
    result = subprocess.run(
        [ANALYZE, "verify", "--recursive-errors=no", "--man=no", str(testable_units / unit)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=testable_units,
    )
    output = result.stdout + result.stderr
    print(output)
    assert [line for line in output.splitlines() if unit in line] == [], output
    assert result.returncode == 0, output


@needs_analyze
@pytest.mark.parametrize("unit", EXPECTED)
def test_security_exposure_is_low(unit, testable_units, capsys, record_property):
    limit = EXPECTED[unit][2]
    result = subprocess.run(
        [ANALYZE, "security", "--offline=yes", "--no-pager", str(testable_units / unit)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=testable_units,
    )
    match = re.search(rf"Overall exposure level for {re.escape(unit)}: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    record_property("exposure", exposure)
    with capsys.disabled():
        print(f"\n{unit}: overall exposure {exposure} {match.group(2)} (limit {limit})")
    assert exposure <= limit, result.stdout


def test_agent_and_kiosk_share_user_state_directory_and_identity():
    sync, kiosk = "voucher-sync.service", "voucher-kiosk.service"
    for key in ("User", "Group", "StateDirectory", "StateDirectoryMode", "LoadCredential"):
        assert values(sync, key) == values(kiosk, key) != [], key
    assert values(sync, "StateDirectoryMode") == ["0700"]
    [state] = values(sync, "StateDirectory")
    data_dirs = environment(sync)["VOUCHER_SYNC_DATA_DIR"], environment(kiosk)["VOUCHER_KIOSK_DATA_DIR"]
    assert data_dirs == (f"/var/lib/{state}",) * 2
    assert credentials(sync) == credentials(kiosk) == {"identity": "/etc/voucher-kiosk/identity.json"}


@pytest.mark.parametrize(
    ("unit", "prefix", "config_env", "load"),
    [
        ("voucher-sync.service", AgentSettings.model_config["env_prefix"], SYNC_CONFIG_ENV, load_sync),
        ("voucher-kiosk.service", KioskSettings.model_config["env_prefix"], KIOSK_CONFIG_ENV, load_kiosk),
    ],
)
def test_store_programs_read_the_identity_credential(unit, prefix, config_env, load, tmp_path, monkeypatch):
    """The unit's environment, with %d standing for the credentials directory, points the
    program's settings at the credential; the identity there loads."""
    env = environment(unit)
    assert set(env) >= {config_env, f"{prefix}DATA_DIR", f"{prefix}IDENTITY_FILE"}
    assert env[f"{prefix}IDENTITY_FILE"] == "%d/identity"
    assert env[config_env] == f"/etc/voucher-kiosk/{'sync' if 'sync' in unit else 'kiosk'}.toml"
    creds = tmp_path / "credentials"
    creds.mkdir()
    identity.save(
        creds / "identity", identity.Identity("https://hq.example", "d1", "leeds", "tok", "ab" * 32)
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("%d", str(creds)))
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    example = CONFIG / ("sync.example.toml" if "sync" in unit else "kiosk.example.toml")
    settings = load(example)  # the installed file is a copy of the example
    assert settings.identity_path == creds / "identity"
    assert identity.load(settings.identity_path).store_id == "leeds"


def test_hub_reads_its_identity_credential_and_keeps_its_own_state_directory(tmp_path, monkeypatch):
    """The hub's identity is a credential like the agent's, but its own file (it is another device
    of the store), and hub.db lives in a state directory of its own."""
    unit = "voucher-hub.service"
    env = environment(unit)
    prefix = HubSettings.model_config["env_prefix"]
    assert env[HUB_CONFIG_ENV] == "/etc/voucher-kiosk/hub.toml"
    assert env[f"{prefix}IDENTITY_FILE"] == "%d/identity"
    [state] = values(unit, "StateDirectory")
    assert (
        env[f"{prefix}STATE_DIR"] == f"/var/lib/{state}"
        and state != values("voucher-sync.service", "StateDirectory")[0]
    )
    assert values(unit, "StateDirectoryMode") == ["0700"]
    hub_identity = credentials(unit)["identity"]
    assert (
        hub_identity.startswith("/etc/voucher-kiosk/")
        and hub_identity != credentials("voucher-sync.service")["identity"]
    )
    creds = tmp_path / "credentials"
    creds.mkdir()
    identity.save(
        creds / "identity", identity.Identity("https://hq.example", "h1", "leeds", "tok", "ab" * 32)
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("%d", str(creds)))
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    settings = load_hub(CONFIG / "hub.example.toml")  # the installed file is a copy of the example
    assert settings.identity_path == creds / "identity"
    assert settings.database_path == Path(f"/var/lib/{state}/hub.db")
    assert identity.load(settings.identity_path).device_id == "h1"


def test_hub_tells_systemd_when_it_is_ready():
    unit = "voucher-hub.service"
    assert values(unit, "Type") == ["notify"] and values(unit, "Restart") == ["on-failure"]


def test_server_reads_its_admin_token_credential():
    unit = "voucher-central.service"
    creds = credentials(unit)
    assert list(creds) == ["admin_token"] and set(creds) <= set(secret_fields(CentralSettings))
    assert creds["admin_token"].startswith("/etc/voucher-kiosk/")
    env = environment(unit)
    assert env == {
        "VOUCHER_CENTRAL_CONFIG": "/etc/voucher-kiosk/central.toml"
    }  # no secret in the environment
    assert not any("TOKEN" in name for name in env)


def test_agent_is_a_watched_notify_service():
    unit = "voucher-sync.service"
    assert values(unit, "Type") == ["notify"] and values(unit, "WatchdogSec") != []
    assert values(unit, "Restart") == ["on-failure"] and values(unit, "RestartPreventExitStatus") == ["3"]


def test_kiosk_owns_tty1_and_falls_back_to_a_login_prompt():
    unit = "voucher-kiosk.service"
    assert values(unit, "Conflicts", "Unit") == ["getty@tty1.service"]
    assert values(unit, "OnFailure", "Unit") == ["getty@tty1.service"]
    assert values(unit, "TTYPath") == ["/dev/tty1"] and values(unit, "StandardInput") == ["tty"]
    # the screen on the tty; errors, with their tracebacks, to the journal (kiosk/crash.py moves
    # Textual's drawing from standard error to the tty when $JOURNAL_STREAM names standard error)
    assert values(unit, "StandardOutput") == ["tty"] and values(unit, "StandardError") == ["journal"]
    assert values(unit, "SyslogLevelPrefix") in ([], ["yes"])  # "<3>" lines are recorded at priority err
    assert environment(unit)["TERM"] == "linux"
    assert values(unit, "SupplementaryGroups") == ["video"]
    assert sorted(values(unit, "DeviceAllow")) == ["/dev/tty1 rw", "char-video4linux rw"]
    assert values(unit, "PrivateDevices") == []  # it would hide the tty and the camera


@pytest.mark.parametrize("unit", EXPECTED)
def test_units_are_enabled_for_boot(unit):
    assert values(unit, "WantedBy", "Install") == ["multi-user.target"]


def test_example_configs_name_no_secret_values():
    """The settings the units use are copies of these; secrets come as credentials only."""
    text = "\n".join(p.read_text() for p in CONFIG.glob("*.example.toml"))
    assert not re.search(r"^\s*(admin_token|token|code_hash_key)\s*=", text, re.MULTILINE)


def install_guide_commands() -> list[list[str]]:
    """Every command line of README.md's install sections (the store host's and head office's, and
    the shop hub's) that runs one of the installed programs, from the program on (environment
    assignments and a runuser prefix dropped)."""
    text = (ROOT / "README.md").read_text()
    sections = [
        text.split(heading, 1)[1].split("\n## ", 1)[0]
        for heading in ("## Installing on store hardware and at head office", "## A shop with several tills")
        if heading in text
    ]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", "\n".join(sections), re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            starts = [
                i for i, word in enumerate(argv) if word in {f"{INSTALLED_VENV}/bin/{p}" for p in PROGRAMS}
            ]
            if starts:
                commands.append([Path(argv[starts[0]]).name, *argv[starts[0] + 1 :]])
    return commands


def test_install_guide_uses_real_commands_and_options():
    commands = install_guide_commands()
    assert {argv[0] for argv in commands} == PROGRAMS
    for argv in commands:
        depth = 2 if argv[0] == "voucher-central" and argv[1] in GROUPS else 1
        if depth == 2 and tuple(argv[1:3]) in NESTED:
            depth = 3
        command = argv[1 : 1 + depth]
        answer = subprocess.run(
            [VENV / "bin" / argv[0], *command, "--help"], capture_output=True, text=True, timeout=60
        )
        assert answer.returncode == 0, (argv, answer.stderr)
        for option in (word.split("=")[0] for word in argv[1 + depth :] if word.startswith("--")):
            assert re.search(rf"{re.escape(option)}\b(?!-)", answer.stdout), (argv, option)


def test_install_guide_puts_secrets_where_the_units_load_them():
    text = (ROOT / "README.md").read_text()
    for unit in EXPECTED:
        for name, source in credentials(unit).items():
            assert source in text and f"credential `{name}`" in text, (unit, name)
    # enrolment writes the identity where the store units load it from
    source = credentials("voucher-sync.service")["identity"]
    assert f"{AgentSettings.model_config['env_prefix']}IDENTITY_FILE={source} " in text.replace("\\\n", " ")
