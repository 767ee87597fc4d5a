"""Both sides of a conflict, and a way to close it: the store whose redemption won sees the
conflict too (status, manager view, its redemptions report, head office's list); a review by
either store's manager (an event from the till) or by head-office staff (the CLI) closes it for
both, with its note and author, and the tills' status becomes healthy again."""

from __future__ import annotations

import json
import os
import subprocess

from harness import BIN, wait_for
from vouchers.status import Status


def _conflicts(till):
    return [p for p in till.view().problems() if p.outcome == "conflict"]


def _status(till) -> tuple[int, dict]:
    answer = subprocess.run(
        [str(BIN / "voucher-sync"), "status", "--json", "--data-dir", str(till.data_dir)],
        env=till.agent.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return answer.returncode, json.loads(answer.stdout)


def _both_redeem_offline(office, server, a, b, code):
    for till in (a, b):
        wait_for(
            lambda till=till: (f := till.lookup(code)) is not None and f.voucher.status is Status.UNUSED,
            60,
            "first sync",
        )
    server.stop()
    a.redeem(code)
    b.redeem(code)
    server.start()
    wait_for(lambda: a.view().pending() == 0 and b.view().pending() == 0, 60, "both pushed")
    wait_for(lambda: _conflicts(a) and _conflicts(b), 60, "both stores see the conflict")
    [pa], [pb] = _conflicts(a), _conflicts(b)
    assert pa.event_id == pb.event_id and pa.won != pb.won
    return (a, b) if pa.won else (b, a)


def test_the_winning_store_sees_the_conflict_and_the_losers_review_closes_it_for_both(
    office, server, make_till
):
    office.store("s1")
    office.store("s2")
    batch = office.batch(5, claimed=1)
    a, b = make_till("s1", "a"), make_till("s2", "b")
    winner, loser = _both_redeem_offline(office, server, a, b, batch["codes"][0])
    winner_store = "s1" if winner is a else "s2"
    loser_store = "s2" if winner is a else "s1"

    [won] = _conflicts(winner)
    assert won.won and won.store_id == loser_store and f"store {loser_store}" in won.details()
    assert "redeemed it first" in won.details()
    for till in (winner, loser):
        code, health = _status(till)
        assert code == 1 and "1 conflict(s) to review" in health["problems"], health
    report = office.admin.get(f"/stores/{winner_store}/redemptions").json()
    assert report["summary"]["conflicts_won"] == 1 and report["summary"]["conflict"] == 0
    listed = office.admin.get("/problems", params={"store": winner_store, "reviewed": "false"}).json()
    assert [p["event_id"] for p in listed] == [won.event_id] and listed[0]["store_id"] == loser_store

    # the loser's manager reviews it at the till: a review event, pushed like a redemption
    [lost] = _conflicts(loser)
    assert not lost.won
    loser.journal.append(
        "review", lost.voucher_id, reviews=lost.event_id, reason="gave the discount once; fine"
    )
    wait_for(lambda: all(p.reviewed for p in _conflicts(winner)), 60, "the review reaches the winning store")
    [closed] = _conflicts(winner)
    assert (
        closed.review_note == "gave the discount once; fine" and f"store {loser_store}" in closed.reviewed_by
    )
    wait_for(lambda: _status(loser)[0] == 0 and _status(winner)[0] == 0, 60, "both tills healthy again")
    [at_office] = office.admin.get("/problems", params={"store": winner_store, "reviewed": "true"}).json()
    assert at_office["reviewed"]["note"] == "gave the discount once; fine"
    kinds = [
        (e["kind"], e["result"]["outcome"])
        for e in office.admin.get(f"/vouchers/{batch['codes'][0]}").json()["history"]
    ]
    assert ("review", "accepted") in kinds


def test_head_office_reviews_with_the_cli_and_both_tills_see_who_and_why(office, server, make_till):
    office.store("s1")
    office.store("s2")
    batch = office.batch(5, claimed=1)
    a, b = make_till("s1", "a"), make_till("s2", "b")
    winner, loser = _both_redeem_offline(office, server, a, b, batch["codes"][0])
    [problem] = _conflicts(loser)
    env = {**os.environ, "VOUCHER_SERVER": server.url, "VOUCHER_TOKEN": server.staff_token()}
    cli = str(BIN / "voucher-central")
    listed = subprocess.run([cli, "problem", "list"], env=env, capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0 and problem.event_id in listed.stdout and "OPEN" in listed.stdout
    done = subprocess.run(
        [cli, "problem", "review", problem.event_id, "--note", "refunded at s2", "--by", "Ann HQ"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    again = subprocess.run(
        [cli, "problem", "review", problem.event_id, "--note", "twice", "--by", "Bob HQ"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (
        again.returncode == 1
        and "Already reviewed by Ann HQ" in again.stderr
        and "Traceback" not in again.stderr
    )
    for till in (winner, loser):
        wait_for(
            lambda till=till: all(p.reviewed for p in _conflicts(till)), 60, "the review reaches the till"
        )
        [seen] = _conflicts(till)
        assert (seen.reviewed_by, seen.review_note) == ("Ann HQ", "refunded at s2")
    history = office.admin.get(f"/vouchers/{batch['codes'][0]}").json()["history"]
    assert [e["author"] for e in history if e["kind"] == "review"] == ["Ann HQ"]


def test_a_review_of_another_stores_own_problem_is_rejected(office, server, make_till):
    """A till may close its own store's problems and the conflicts its store won, nothing else."""
    office.store("s1")
    office.store("s2")
    office.store("s3")
    batch = office.batch(5, claimed=1)
    a, b = make_till("s1", "a"), make_till("s2", "b")
    _both_redeem_offline(office, server, a, b, batch["codes"][0])
    [problem] = _conflicts(a)
    c = make_till("s3", "c")
    wait_for(lambda: c.lookup(batch["codes"][0]) is not None, 60, "the third till's first sync")
    event = c.journal.append("review", problem.voucher_id, reviews=problem.event_id, reason="not mine")
    wait_for(lambda: c.view().pending() == 0, 60, "pushed")
    outcome = (
        c.view()
        .replica.execute("SELECT outcome, reason FROM outcomes WHERE event_id = ?", (event.id,))
        .fetchone()
    )
    assert tuple(outcome) == ("rejected", "UNKNOWN_PROBLEM")
    assert not c.view().problems()  # neither the other stores' conflict nor its own refused review
    assert not any(p.reviewed for p in _conflicts(a))
