"""The three programs as real processes: head office (`voucher-central serve` on a SQLite file),
a till's sync agent (`voucher-sync enrol`, `voucher-sync run`) and the cashier's screen
(`voucher-kiosk run` in a real terminal, tmux), driven only through the HTTP API, the command
line, the keyboard, a camera folder and what the screen shows."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import segno
from support.e2e import query

from harness import FAST, AgentProcess, ServerProcess, wait_for
from harness.terminal import TmuxTerminal
from vouchers.verdict import Verdict
from words.verdicts import REASONS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (the kiosk needs a real terminal)"
    ),
]

BIN = Path(sys.executable).parent
STORE = "leeds"
DEADLINE = 60  # generous for a loaded 2-core machine; every wait polls fast


# --- fixtures: every process is stopped, and the tmux server killed, whatever the test did ----------


@pytest.fixture
def server(tmp_path):
    holder = {"process": ServerProcess(f"sqlite:///{tmp_path / 'central.db'}", log=tmp_path / "central.log")}
    try:
        holder["process"].start(timeout=DEADLINE)
        yield holder  # a test that restarts the server puts the new process here first
    finally:
        holder["process"].stop()


@pytest.fixture
def admin(server):
    with server["process"].client() as client:
        yield client


@pytest.fixture
def agents():
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        agent.stop()


@pytest.fixture
def terminals(tmp_path):
    opened: list[TmuxTerminal] = []

    def open_terminal() -> TmuxTerminal:
        workdir = tmp_path / f"tmux{len(opened)}"
        workdir.mkdir()
        terminal = TmuxTerminal(workdir)
        opened.append(terminal)
        return terminal

    yield open_terminal
    for terminal in opened:
        terminal.close()


# --- the story, step by step ---------------------------------------------------------------------------


def redeemable_batch(admin: httpx.Client, url: str, members: int) -> tuple[dict, list[str]]:
    """A store and a batch walked through its life cycle by the admin API; `members` claims."""
    admin.post("/stores", json={"id": STORE, "name": "Leeds", "timezone": "Europe/London"}).raise_for_status()
    batch = admin.post(
        "/batches",
        json={"identifier": "Spring Email", "description": "e2e", "serial_start": 1000, "serial_end": 1049},
    ).json()
    bid = batch["id"]
    admin.post(
        f"/batches/{bid}/types",
        json={
            "name": "Std",
            "serial_start": 1000,
            "serial_end": 1019,
            "value": "£5 off",
            "min_purchase": "£20",
            "initial_status": "unused",
        },
    ).raise_for_status()
    assert admin.post(f"/batches/{bid}/validate").json()["state"] == "validated"
    assert admin.post(f"/batches/{bid}/generate").status_code == 202
    wait_for(lambda: admin.get(f"/batches/{bid}").json()["state"] == "generated", DEADLINE, "generation")
    for step in ("distribute", "redeemable"):
        assert admin.post(f"/batches/{bid}/{step}").json()["state"] == step.replace(
            "distribute", "distributed"
        )
    batch = admin.get(f"/batches/{bid}").json()
    assert batch["metrics"]["total"] == 20
    codes = []
    # head office claims on behalf of members (a member's own sign-in by mail is in tests/web)
    for i in range(members):
        answer = admin.post(
            "/claims", json={"claim_token": batch["claim_token"], "member_id": f"m{i}@example.com"}
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "unused"
        codes.append(answer.json()["code"])
    return batch, codes


def enrolled_till(
    admin: httpx.Client, url: str, data_dir: Path, agents: list, start: bool = True
) -> tuple[AgentProcess, dict]:
    agent = AgentProcess(data_dir, settings=FAST)
    data_dir.mkdir(parents=True)
    code = admin.post(f"/stores/{STORE}/enrolment-codes").json()["code"]
    result = agent.enrol(url, code, "till-1")
    assert result.returncode == 0, result.stderr
    identity = json.loads((data_dir / "device.json").read_text())
    assert identity["store_id"] == STORE and (data_dir / "device.json").stat().st_mode & 0o077 == 0
    agents.append(agent)
    if start:
        agent.start()
    return agent, identity


def replica_batch(data_dir: Path, batch_id: str) -> tuple[str | None, int]:
    """(state, claimed vouchers) of a batch in the till's replica, as the agent wrote it."""
    rows = query(
        data_dir / "replica.db",
        "SELECT b.state, (SELECT count(*) FROM vouchers v WHERE v.batch_id = b.id "
        "AND v.claimed) AS claimed FROM batches b WHERE b.id = ?",
        batch_id,
    )
    return (rows[0]["state"], rows[0]["claimed"]) if rows else (None, 0)


def journal(data_dir: Path) -> list[tuple[str, str, str | None]]:
    return [
        (r["id"], r["kind"], r["verdict"])
        for r in query(data_dir / "journal.db", "SELECT id, kind, verdict FROM events ORDER BY seq")
    ]


def scan_times(data_dir: Path) -> dict[str, datetime]:
    """The device's time of each journaled event, by event id."""
    rows = query(data_dir / "journal.db", "SELECT id, at FROM events")
    return {r["id"]: datetime.fromisoformat(r["at"]) for r in rows}


def start_kiosk(terminal: TmuxTerminal, data_dir: Path, camera: Path | None = None) -> TmuxTerminal:
    argv = [str(BIN / "voucher-kiosk"), "run", "--data-dir", str(data_dir)]
    if camera is not None:
        argv += ["--camera", str(camera)]
    env = {
        "LANG": "C.UTF-8",
        "VOUCHER_KIOSK_BELL": "false",
        "VOUCHER_KIOSK_VERDICT_SECONDS": "600",
        "VOUCHER_KIOSK_FILE_FPS": "30",
        "VOUCHER_KIOSK_OFFLINE_AFTER_SECONDS": "5",
        "VOUCHER_KIOSK_ALLOW_QUIT": "true",  # the terminal is closed with Ctrl+Q
    }
    terminal.start(argv, env)
    terminal.wait_screen(
        lambda s: "Scan or type a voucher code, then Enter" in s, DEADLINE, "the kiosk's scan input"
    )
    return terminal


def verdict_for(code: str, headline: str, *words: str):
    """The screen shows `headline` with this code (the panel holds one decision at a time); the
    words may be wrapped over lines."""

    def shown(screen: str) -> bool:
        flat = " ".join(screen.split())
        return headline in flat and code in flat and all(w in flat for w in words)

    return shown


def voucher_row(admin: httpx.Client, batch_id: str, code: str) -> dict:
    rows = admin.get(f"/batches/{batch_id}/vouchers", params={"code": code}).json()["vouchers"]
    assert len(rows) == 1
    return rows[0]


# --- the tests -------------------------------------------------------------------------------------------


def test_a_voucher_goes_from_head_office_to_the_till_and_back(server, admin, agents, terminals, tmp_path):
    url = server["process"].url
    batch, (typed, shown, after_lock) = redeemable_batch(admin, url, members=3)
    bid = batch["id"]
    till = tmp_path / "till"
    agent, identity = enrolled_till(admin, url, till, agents)
    wait_for(lambda: replica_batch(till, bid) == ("redeemable", 3), DEADLINE, "the batch in the replica")
    assert f"store {STORE}" in agent.status()

    # the camera: an image folder holding one QR code, read once when the kiosk starts
    camera = tmp_path / "camera"
    camera.mkdir()
    segno.make_qr(shown).save(str(camera / "0001.png"), scale=8, border=4)
    kiosk = start_kiosk(terminals(), till, camera)
    kiosk.wait_screen(
        verdict_for(shown, "ACCEPTED", REASONS[Verdict.ACCEPTED], "£5 off", "Spring Email"),
        DEADLINE,
        "the camera's voucher accepted",
    )
    kiosk.wait_screen(
        lambda s: "camera: end of the video" in s, DEADLINE, "the camera folder read to its end"
    )

    # a wedge scanner (or a cashier) types the next one, in lower case without dashes
    kiosk.type(typed.replace("-", "").lower())
    screen = kiosk.wait_screen(
        verdict_for(typed, "ACCEPTED", "minimum purchase £20"), DEADLINE, "the typed voucher accepted"
    )
    assert shown not in screen  # the new decision replaced the camera's
    assert [kind for _, kind, _ in journal(till)] == ["redeem", "redeem"]

    # the agent pushes: head office counts both, at this store and this device
    def pushed() -> bool:
        return admin.get(f"/batches/{bid}").json()["metrics"]["redeemed"] == 2

    wait_for(pushed, DEADLINE, "both redemptions at head office")
    metrics = admin.get(f"/batches/{bid}").json()["metrics"]
    assert metrics == {"total": 20, "claimed": 3, "redeemed": 2, "available": 17, "redemption_rate": 66.7}
    for code in (typed, shown):
        row = voucher_row(admin, bid, code)
        assert row["status"] == "used"
        assert (
            row["redemption"]["store_id"] == STORE and row["redemption"]["device_id"] == identity["device_id"]
        )
    report = admin.get(f"/stores/{STORE}/redemptions").json()
    assert report["summary"] == {
        "accepted": 2,
        "conflict": 0,
        "rejected": 0,
        "reverted": 0,
        "conflicts_won": 0,
    }
    assert sorted(e["id"] for e in report["events"]) == sorted(
        i for i, kind, _ in journal(till) if kind == "redeem"
    )
    times = scan_times(till)  # the ledger keeps the device's time of the scan, apart from its receive time
    assert all(datetime.fromisoformat(e["at"]) == times[e["id"]] for e in report["events"])
    kiosk.wait_screen(lambda s: "nothing pending" in s, DEADLINE, "the status line: nothing pending")

    # head office locks the batch; once the agent has pulled it, the till refuses the third voucher
    assert admin.post(f"/batches/{bid}/lock").json()["state"] == "locked"
    wait_for(lambda: replica_batch(till, bid)[0] == "locked", DEADLINE, "the lock in the replica")
    kiosk.type(after_lock)
    kiosk.wait_screen(
        verdict_for(after_lock, "REFUSED", REASONS[Verdict.BATCH_LOCKED]), DEADLINE, "refused: locked"
    )
    wait_for(
        lambda: [k for _, k, v in journal(till)] == ["redeem", "redeem", "refused"],
        DEADLINE,
        "refusal journaled",
    )
    assert journal(till)[-1][2] == "BATCH_LOCKED"

    # the refused scan reaches head office for the record, and changes nothing
    def refused_at_head_office() -> list[dict]:
        history = admin.get(f"/vouchers/{after_lock}").json()["history"]
        return [e for e in history if e["kind"] == "refused"]

    refused = wait_for(refused_at_head_office, DEADLINE, "the refused event at head office")
    assert len(refused) == 1
    assert refused[0]["id"] == journal(till)[-1][0]
    assert (refused[0]["verdict"], refused[0]["store_id"], refused[0]["device_id"]) == (
        "BATCH_LOCKED",
        STORE,
        identity["device_id"],
    )
    assert voucher_row(admin, bid, after_lock)["status"] == "unused"
    assert admin.get(f"/batches/{bid}").json()["metrics"]["redeemed"] == 2
    wait_for(lambda: "pending events 0" in agent.status(), DEADLINE, "the agent's backlog empty")
    status = agent.status()
    assert "0 conflict(s), 0 rejection(s)" in status, status
    assert kiosk.alive()


def test_the_till_keeps_redeeming_while_head_office_is_down(server, admin, agents, terminals, tmp_path):
    process = server["process"]
    batch, (offline_code, later_code) = redeemable_batch(admin, process.url, members=2)
    bid = batch["id"]
    till = tmp_path / "till"
    agent, identity = enrolled_till(admin, process.url, till, agents, start=False)
    # the kiosk starts first: no snapshot yet, so nothing can be redeemed, and it says why
    kiosk = start_kiosk(terminals(), till)
    kiosk.wait_screen(lambda s: "never synced" in s, DEADLINE, "the status line: never synced")
    kiosk.type(offline_code)
    kiosk.wait_screen(
        verdict_for("No snapshot yet", "CHECK", REASONS[Verdict.LOADING]), DEADLINE, "no snapshot"
    )
    agent.start()
    wait_for(lambda: replica_batch(till, bid) == ("redeemable", 2), DEADLINE, "the batch in the replica")
    kiosk.wait_screen(lambda s: "online" in s and "OFFLINE" not in s, DEADLINE, "the status line online")

    process.stop()
    assert process.process.returncode is not None
    kiosk.wait_screen(lambda s: "OFFLINE" in s, DEADLINE, "the status line OFFLINE")
    kiosk.type(offline_code)
    kiosk.wait_screen(verdict_for(offline_code, "ACCEPTED", "£5 off"), DEADLINE, "accepted while offline")
    kiosk.wait_screen(lambda s: "1 pending" in s, DEADLINE, "the status line: 1 pending")
    # the same voucher again, still offline: the till's own journal says it is used
    kiosk.type(offline_code)
    kiosk.wait_screen(
        verdict_for(offline_code, "REFUSED", REASONS[Verdict.ALREADY_USED]),
        DEADLINE,
        "refused: already used (from the journal)",
    )
    wait_for(lambda: [k for _, k, _ in journal(till)] == ["redeem", "refused"], DEADLINE, "both journaled")
    assert "pending events 2" in agent.status()

    # head office comes back on the same database file and port; the backlog arrives exactly once
    restarted = server["process"] = ServerProcess(process.database_url, port=process.port, log=process.log)
    restarted.start(timeout=DEADLINE)
    kiosk.wait_screen(
        lambda s: "nothing pending" in s and "OFFLINE" not in s, DEADLINE, "backlog pushed, online"
    )
    with restarted.client() as office:
        assert office.get(f"/batches/{bid}").json()["metrics"]["redeemed"] == 1
        history = office.get(f"/vouchers/{offline_code}").json()["history"]
        journal_ids = [i for i, _, _ in journal(till)]
        assert sorted(e["id"] for e in history) == sorted(journal_ids)  # one each: redeem and refused
        redeem = next(e for e in history if e["kind"] == "redeem")
        assert redeem["result"]["outcome"] == "accepted"
        row = voucher_row(office, bid, offline_code)
        assert row["redemption"]["device_id"] == identity["device_id"]
        report = office.get(f"/stores/{STORE}/redemptions").json()
        assert [e["id"] for e in report["events"]] == [journal_ids[0]]

        # and the till still works on line: the second voucher goes through at once
        kiosk.type(later_code)
        kiosk.wait_screen(verdict_for(later_code, "ACCEPTED"), DEADLINE, "accepted after the restart")
        wait_for(lambda: office.get(f"/batches/{bid}").json()["metrics"]["redeemed"] == 2, DEADLINE, "pushed")
        assert len(office.get(f"/stores/{STORE}/redemptions").json()["events"]) == 2

    # systemd stops the kiosk with SIGTERM: a clean exit that gives the terminal back
    os.kill(kiosk.pid, signal.SIGTERM)
    kiosk.wait_exited()
    assert "Scan or type a voucher code" not in kiosk.screen()  # it left the alternate screen on its way out
