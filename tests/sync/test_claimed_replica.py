"""A till holds the claimed vouchers only (docs/DESIGN.md, "What a till holds"), with the real
server, agent and replica: a code it does not hold, never issued or never claimed, gets one answer
in words that cover both, and a claim brings the voucher to the till."""

from __future__ import annotations

from harness import wait_for
from kiosk.service import Redeemer
from localdb.replica import all_meta
from vouchers.codes import format_code, new_code
from vouchers.verdict import Verdict
from words.verdicts import REASONS


def test_an_unclaimed_voucher_is_unknown_at_the_till_until_its_claim_arrives(office, make_till):
    office.store("s1")
    batch = office.batch(8, claimed=2)
    listed = office.api.get(f"/batches/{batch['id']}/vouchers", params={"claimed": "false", "limit": 100})
    unclaimed = [v["code"] for v in listed["vouchers"]]
    till = make_till()

    def kiosk() -> Redeemer:
        return Redeemer(till.view(), till.journal, till.key)

    wait_for(
        lambda: (
            till.lookup(batch["codes"][1]) is not None
            and all_meta(till.view().replica).get("snapshot_complete") == "1"
        ),
        60,
        "the first sync",
    )
    replica = till.view().replica
    assert tuple(replica.execute("SELECT count(*), sum(NOT claimed) FROM vouchers").fetchone()) == (2, 0)
    assert len(unclaimed) == 6 and all(till.lookup(c) is None for c in unclaimed)
    for code in (unclaimed[0], format_code(new_code())):  # never claimed; never issued: one answer
        decision = kiosk().check(code)
        assert decision.verdict is Verdict.UNKNOWN and decision.reason == REASONS[Verdict.UNKNOWN]
        assert "not known here" in decision.reason and "never claimed" in decision.reason

    claimed = office.claim(batch, "late@example.com")
    assert claimed in unclaimed
    wait_for(lambda: kiosk().check(claimed).verdict is Verdict.ACCEPTED, 60, "the claim at the till")
    others = [c for c in unclaimed if c != claimed]
    assert all(kiosk().check(c).verdict is Verdict.UNKNOWN for c in others)

    office.act(batch["id"], "lock")  # a claimed voucher says why it is refused; an unclaimed one is not there
    wait_for(lambda: kiosk().check(claimed).verdict is Verdict.BATCH_LOCKED, 60, "the lock at the till")
    assert kiosk().check(others[0]).verdict is Verdict.UNKNOWN
    assert till.view().replica.execute("SELECT count(*) FROM vouchers").fetchone()[0] == 3
