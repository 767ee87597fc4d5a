"""`voucher-hub` as people run it: every command has help, every failure is said in words with
no traceback, `serve` tells systemd when it is ready and answers its waiting tills at once when
stopped, and `enrol` refuses a code made for a till."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from harness import HeadOffice, ServerProcess, free_port, program, wait_for
from harness.hub import FAST_HUB, HubProcess
from hub.store import HubStore
from localdb.identity import Identity, save
from vouchers.wire import SnapshotPage, StoreDevice

DEADLINE = 60  # a program's start on a busy two-core machine
STORE = "s1"
TILL = "till-token"


def hub_command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [program("voucher-hub"), *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def in_words(done: subprocess.CompletedProcess) -> str:
    """The command's error: one line or a few, starting 'error:', and never a traceback."""
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert done.stderr.startswith("error: "), done.stderr
    return done.stderr


@pytest.mark.parametrize("command", ["enrol", "serve", "status"])
def test_every_command_has_help(command):
    done = hub_command(command, "--help")
    assert done.returncode == 0 and done.stdout.startswith(f"usage: voucher-hub {command}")
    assert "--config" in done.stdout and "--state-dir" in done.stdout


def test_failures_are_said_in_words(tmp_path):
    state = ["--state-dir", str(tmp_path / "hub")]
    status = hub_command("status", *state)
    assert status.returncode == 2 and "hub.db" in in_words(status)
    serve = hub_command("serve", *state)
    assert serve.returncode == 1 and "voucher" in in_words(serve).lower()  # not enrolled: what to run
    no_server = hub_command("enrol", "ABCD-EFGH", *state)
    assert no_server.returncode == 1 and "--server" in in_words(no_server)
    down = hub_command("enrol", "ABCD-EFGH", "--server", f"http://127.0.0.1:{free_port()}", *state)
    assert down.returncode == 1 and "unreachable" in in_words(down).lower()
    config = tmp_path / "hub.toml"
    config.write_text("prot = 8470\n")
    wrong = hub_command("status", "--config", str(config))
    assert wrong.returncode == 2 and "prot" in in_words(wrong) and str(config) in wrong.stderr


def seeded_hub_db(state: Path) -> None:
    """hub.db as a hub leaves it that has had head office's snapshot once (one till, one voucher),
    and the hub's identity: the hub serves it with head office down."""
    save(
        state / "device.json",
        Identity(f"http://127.0.0.1:{free_port()}", "hub-1", STORE, "hub-tok", "22" * 32),
    )
    store = HubStore(state / "hub.db")
    try:
        store.set_devices(
            [StoreDevice(device_id="till-1", name="till 1", role="till", token_hash=sha(TILL), revoked=False)]
        )
        page = {
            "cursor": 0,
            "next_cursor": 3,
            "complete": True,
            "store": {"id": STORE, "timezone": "Europe/London"},
            "batches": [],
            "types": [],
            "vouchers": [],
            "deleted": {},
        }
        store.apply_upstream(SnapshotPage.from_wire(page), store.begin_pull())
    finally:
        store.close()


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_serve_tells_systemd_it_is_ready_and_answers_waiting_tills_when_stopped(tmp_path):
    """Head office down: the hub serves what hub.db holds, says READY=1 once listening, and on
    SIGTERM answers a till's waiting request at once and exits 0."""
    state = tmp_path / "hub"
    state.mkdir()
    seeded_hub_db(state)
    notify = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify))
    listener.settimeout(DEADLINE)
    hub = HubProcess(state, settings=FAST_HUB, NOTIFY_SOCKET=str(notify))
    till = {"Authorization": f"Bearer {TILL}"}
    try:
        hub.start(timeout=DEADLINE)
        messages = listener.recv(4096).decode()
        assert "READY=1" in messages and STORE in messages
        # a till's token the hub cannot check (head office down): 503 in words, never 401
        answer = httpx.get(
            f"{hub.url}/api/v1/sync/snapshot", headers={"Authorization": "Bearer x"}, timeout=DEADLINE
        )
        assert answer.status_code == 503 and answer.headers["retry-after"]
        head = httpx.get(f"{hub.url}/api/v1/sync/snapshot", headers=till, timeout=DEADLINE).json()[
            "next_cursor"
        ]
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(
                httpx.get,
                f"{hub.url}/api/v1/sync/snapshot",
                params={"cursor": head, "wait": 60},
                headers=till,
                timeout=DEADLINE + 60,
            )
            wait_for(
                lambda: httpx.get(f"{hub.url}/healthz", timeout=DEADLINE).json()["waiting"] == 1,
                DEADLINE,
                "the till waiting at the hub",
            )
            status = hub.status()  # beside the running hub
            assert status.returncode == 0 and f"store {STORE} (Europe/London)" in status.stdout
            assert "till  till-1  till 1   last heartbeat never" in status.stdout
            started = time.monotonic()
            hub.child.process.send_signal(signal.SIGTERM)
            answered = waiting.result(DEADLINE)
            assert answered.status_code == 200 and answered.json()["wait"] == 60
            assert time.monotonic() - started < 30  # not the 60 s it asked to wait
        assert hub.child.process.wait(DEADLINE) == 0
        assert "STOPPING=1" in listener.recv(4096).decode()
        assert hub.log_problems() == []
    finally:
        hub.stop()
        listener.close()


def test_enrolment_takes_a_hub_code_and_refuses_a_till_code(tmp_path):
    root = tmp_path / "central"
    root.mkdir()
    with ServerProcess(f"sqlite:///{root / 'central.db'}", log=root / "central.log") as server:
        office = HeadOffice(server)
        office.store(STORE)
        state = tmp_path / "hub"
        hub = HubProcess(state, server=server.url)
        till_code = hub.cli("enrol", office.enrolment_code(STORE))
        assert till_code.returncode == 1 and "hub" in in_words(till_code)
        assert not (state / "device.json").exists()  # nothing saved
        hub_code = office.api.post(f"/stores/{STORE}/enrolment-codes", {"role": "hub"})["code"]
        done = hub.enrol(hub_code, "back office")
        assert f"store {STORE}" in done.stdout
        identity = json.loads((state / "device.json").read_text())
        assert (state / "device.json").stat().st_mode & 0o077 == 0
        assert identity["token"] not in done.stdout + done.stderr
        # head office knows it as the store's hub
        devices = office.http.get(
            "/sync/devices", headers={"Authorization": f"Bearer {identity['token']}"}
        ).json()["devices"]
        me = next(d for d in devices if d["device_id"] == identity["device_id"])
        assert (
            me["role"] == "hub" and me["token_hash"] == hashlib.sha256(identity["token"].encode()).hexdigest()
        )
        office.close()


def test_python_dash_m_hub_is_the_same_command():
    done = subprocess.run(
        [str(Path(program("python"))), "-m", "hub", "--version"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 0 and done.stdout.startswith("voucher-hub ")


def test_status_of_a_hub_that_ran(tmp_path):
    """What `voucher-hub status` says of a hub that has never reached head office."""
    state = tmp_path / "hub"
    state.mkdir()
    save(
        state / "device.json",
        Identity(f"http://127.0.0.1:{free_port()}", "hub-1", STORE, "hub-tok", "22" * 32),
    )
    hub = HubProcess(state, settings=FAST_HUB)
    try:
        hub.start(timeout=DEADLINE)
        wait_for(hub.database_path.exists, DEADLINE, "hub.db")
    finally:
        hub.stop()
    text = hub.status()
    assert text.returncode == 0 and "Traceback" not in text.stdout + text.stderr
    assert "no snapshot from head office yet" in text.stdout
    assert "last contact with head office  never" in text.stdout
    as_json = json.loads(hub.status("--json").stdout)
    assert as_json["store_id"] is None and as_json["unforwarded"] == 0 and as_json["last_contact_at"] is None
    assert "hub-tok" not in text.stdout + json.dumps(as_json)
