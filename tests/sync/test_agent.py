"""The sync agent as a real process against a real server on loopback."""

from __future__ import annotations

import os
import stat

from harness import FAST, wait_for
from vouchers.lifecycle import State
from vouchers.status import Status


def synced(till, code, **expect):
    def check():
        found = till.lookup(code)
        return found is not None and all(
            getattr(found.voucher, k, None) == v or getattr(found.batch, k, None) == v
            for k, v in expect.items()
        )

    return check


def test_enrol_keeps_the_token_secret(office, server, tmp_path):
    from harness import AgentProcess

    office.store("s1")
    agent = AgentProcess(tmp_path / "till", settings=FAST)
    result = agent.enrol(server.url, office.enrolment_code("s1"))
    assert result.returncode == 0 and "Enrolled as device" in result.stdout
    identity = tmp_path / "till" / "device.json"
    assert stat.S_IMODE(os.stat(identity).st_mode) == 0o600
    token = __import__("json").loads(identity.read_text())["token"]
    assert token not in result.stdout + result.stderr
    again = agent.enrol(server.url, "WRNG-CODE")
    assert again.returncode == 1 and "Enrolment code not valid" in again.stderr


def test_redemption_reaches_head_office_within_a_second(office, make_till):
    office.store("s1")
    batch = office.batch(20, claimed=3)
    till = make_till()
    wait_for(synced(till, batch["codes"][0], status=Status.UNUSED), what="first sync")
    event = till.redeem(batch["codes"][0])  # bench/ measures how soon; here: it arrives, once
    wait_for(lambda: office.voucher(batch["codes"][0])["status"] == "used", 10, "server sees the redemption")
    wait_for(lambda: till.view().pending() == 0, what="outcome recorded")
    voucher = office.voucher(batch["codes"][0])
    assert voucher["history"][0]["id"] == event.id and voucher["redemption"]["store_id"] == "s1"
    assert "pending events 0" in till.agent.status()


def test_head_office_changes_reach_the_till(office, make_till):
    office.store("s1")
    batch = office.batch(10, claimed=1)
    till = make_till()
    code = batch["codes"][0]
    wait_for(synced(till, code, state=State.REDEEMABLE), what="first sync")
    office.admin.post(f"/batches/{batch['id']}/pause").raise_for_status()  # claims paused: still redeemable
    claims = "SELECT claims FROM batches WHERE id = ?"
    wait_for(
        lambda: till.view().replica.execute(claims, (batch["id"],)).fetchone()[0] == "paused", 10, "pause"
    )
    for action, state in (("lock", State.LOCKED), ("redeemable", State.REDEEMABLE), ("void", State.VOID)):
        office.admin.post(f"/batches/{batch['id']}/{action}").raise_for_status()
        wait_for(synced(till, code, state=state), 10, f"{action} reaches the till")
    office.admin.delete(f"/batches/{batch['id']}", params={"confirm": 10}).raise_for_status()
    wait_for(lambda: till.lookup(code) is None, 10, "deletion reaches the till")


def test_offline_for_a_while_then_every_event_arrives_once(office, server, make_till):
    office.store("s1")
    batch = office.batch(40, claimed=30)
    till = make_till()
    wait_for(synced(till, batch["codes"][-1], status=Status.UNUSED), what="first sync")
    server.stop()
    events = [till.redeem(code) for code in batch["codes"]]
    wait_for(lambda: "last error" in till.agent.status(), 10, "the agent reports the server down")
    assert till.view().pending() == 30
    server.start()
    wait_for(lambda: till.view().pending() == 0, 30, "backlog pushed")
    ledger = office.ledger("s1")
    assert sorted(e["id"] for e in ledger) == sorted(e.id for e in events)
    assert all(e["result"]["outcome"] == "accepted" for e in ledger)
    assert office.admin.get(f"/batches/{batch['id']}").json()["metrics"]["redeemed"] == 30


def test_two_stores_redeem_the_same_voucher_offline(office, server, make_till):
    office.store("s1")
    office.store("s2")
    batch = office.batch(5, claimed=1)
    code = batch["codes"][0]
    a, b = make_till("s1", "a"), make_till("s2", "b")
    for till in (a, b):
        wait_for(synced(till, code, status=Status.UNUSED), what="first sync")
    server.stop()
    a.redeem(code)
    b.redeem(code)
    server.start()
    wait_for(lambda: a.view().pending() == 0 and b.view().pending() == 0, 30, "both pushed")

    def seen():  # the loser's own conflict, and the winner's (won), once its next pull brings it
        return sorted((p.outcome, p.won) for t in (a, b) for p in t.view().problems())

    wait_for(lambda: seen() == [("conflict", False), ("conflict", True)], 30, "both stores see the conflict")
    loser = a if not a.view().problems()[0].won else b
    assert "1 conflict(s)" in loser.agent.status() and "already used at store" in loser.agent.status()
    ledger = {e["id"]: e["result"]["outcome"] for s in ("s1", "s2") for e in office.ledger(s)}
    assert sorted(ledger.values()) == ["accepted", "conflict"]


def test_a_revoked_device_wipes_its_snapshot_and_keeps_its_journal(office, make_till):
    office.store("s1")
    batch = office.batch(5, claimed=2)
    till = make_till()
    wait_for(synced(till, batch["codes"][0], status=Status.UNUSED), what="first sync")
    till.redeem(batch["codes"][0])
    wait_for(lambda: till.view().pending() == 0, what="pushed")
    device_id = __import__("json").loads((till.data_dir / "device.json").read_text())["device_id"]
    office.admin.post(f"/devices/{device_id}/revoke").raise_for_status()
    assert till.agent.process.wait(30) == 3
    assert till.lookup(batch["codes"][1]) is None
    assert till.journal.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    status = till.agent.status()
    assert "STOPPED" in status and "revoked" in status
    log = till.agent.log.read_text()
    assert "revoked" in log


def test_a_till_on_the_command_line_offline_and_back(office, server, make_till):
    """The issue's walk-through: enrol, run, redeem, watch status, lose the server, keep redeeming, reconcile."""
    import subprocess
    import sys
    from pathlib import Path

    kiosk = str(Path(sys.executable).parent / "voucher-kiosk")
    office.store("s1")
    batch = office.batch(10, claimed=3)
    till = make_till()
    wait_for(synced(till, batch["codes"][2], status=Status.UNUSED), what="first sync")

    def redeem(code: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [kiosk, "redeem", code, "--data-dir", str(till.data_dir)],
            capture_output=True,
            text=True,
            timeout=30,
        )

    first = redeem(batch["codes"][0].lower().replace("-", " "))
    assert first.returncode == 0 and first.stdout.startswith("ACCEPTED") and "£5 off" in first.stdout
    again = redeem(batch["codes"][0])
    assert again.returncode == 1 and again.stdout.startswith("ALREADY_USED") and "this shop" in again.stdout
    assert redeem("not a code").stdout.startswith("INVALID_CODE")
    server.stop()
    offline = redeem(batch["codes"][1])
    assert offline.returncode == 0 and offline.stdout.startswith("ACCEPTED")
    wait_for(lambda: "last error" in till.agent.status(), 10, "the agent notices the server is down")
    assert "pending events" in till.agent.status()
    server.start()
    wait_for(lambda: "pending events 0" in till.agent.status(), 30, "reconciled")
    kinds = sorted((e["kind"], e["result"]["outcome"]) for e in office.ledger("s1"))
    assert kinds == [("redeem", "accepted"), ("redeem", "accepted")]
    assert office.admin.get(f"/batches/{batch['id']}").json()["metrics"]["redeemed"] == 2
