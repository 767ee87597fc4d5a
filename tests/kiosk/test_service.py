"""The redeem use case without Textual, on real replica and journal files: every verdict, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.service import APPROVAL, CONFIRM, Policy, Redeemer
from localdb.journal import Journal
from localdb.replica import Replica
from localdb.till import Till
from vouchers.codes import code_hash, format_code, new_codes
from vouchers.verdict import Verdict

KEY = bytes.fromhex("11" * 32)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
CODES = new_codes(20)


def batch(bid, state="redeemable", **fields):
    return {
        "id": bid,
        "identifier": f"Batch {bid}",
        "description": "",
        "state": state,
        "claims": "active",
        "valid_from": None,
        "valid_until": None,
        "stores": None,
        **fields,
    }


def voucher(n, bid, **fields):
    return {
        "id": f"{bid}.{n}",
        "batch_id": bid,
        "type_id": "t",
        "serial": n,
        "code_hash": code_hash(CODES[n], KEY),
        "claimed": True,
        "status": "unused",
        "used_at": None,
        "used_store": None,
        **fields,
    }


CASES = [  # (verdict, batch, voucher fields)
    (Verdict.BATCH_VOID, batch("void", "void", valid_until="2020-01-01"), {"status": "used"}),
    (Verdict.BATCH_LOCKED, batch("locked", "locked"), {}),
    (Verdict.BATCH_NOT_REDEEMABLE, batch("dist", "distributed"), {}),
    (Verdict.WRONG_STORE, batch("other", stores=[], valid_until="2020-01-01"), {}),
    (Verdict.NOT_YET_VALID, batch("future", valid_from="2026-07-01"), {}),
    (Verdict.EXPIRED, batch("past", valid_until="2026-06-14"), {"claimed": False}),
    (Verdict.NOT_CLAIMED, batch("unclaimed"), {"claimed": False, "status": None}),
    (
        Verdict.ALREADY_USED,
        batch("used"),
        {"status": "used", "used_at": "2026-06-14T09:30:00+00:00", "used_store": "s2"},
    ),
    (Verdict.PENDING, batch("pending"), {"status": "pending"}),
    (Verdict.ISSUED_VALID, batch("issued"), {"status": "issued"}),
    (Verdict.ACCEPTED, batch("ok"), {}),
]


@pytest.fixture
def redeemer(tmp_path):
    replica, journal = Replica(tmp_path / "replica.db"), Journal(tmp_path / "journal.db")
    replica.apply_page(
        {
            "cursor": 0,
            "next_cursor": 99,
            "complete": True,
            "store": {"id": "s1", "timezone": "Europe/London"},
            "batches": [b for _, b, _ in CASES],
            "types": [
                {
                    "id": "t",
                    "batch_id": "ok",
                    "name": "Std",
                    "value": "£5 off",
                    "min_purchase": "£20",
                    "initial_status": "unused",
                }
            ],
            "vouchers": [voucher(n, b["id"], **fields) for n, (_, b, fields) in enumerate(CASES)],
            "deleted": {},
        }
    )
    yield Redeemer(Till(replica.conn, journal.conn), journal, KEY, cashier="jo")
    replica.close()
    journal.close()


@pytest.mark.parametrize("n", range(len(CASES)), ids=[c[0].value for c in CASES])
def test_each_verdict_in_order(redeemer, n):
    expected = CASES[n][0]
    decision = redeemer.redeem(format_code(CODES[n]).lower(), NOW)
    assert decision.verdict is expected
    assert decision.reason and decision.code == format_code(CODES[n])
    journaled = [r[0] for r in redeemer.journal.conn.execute("SELECT kind FROM events")]
    assert journaled == (["redeem"] if expected is Verdict.ACCEPTED else [])


def test_invalid_and_unknown(redeemer):
    assert redeemer.redeem("'; DROP TABLE vouchers; --", NOW).verdict is Verdict.INVALID_CODE
    assert redeemer.redeem("x" * 10_000, NOW).verdict is Verdict.INVALID_CODE
    assert redeemer.redeem(CODES[-1], NOW).verdict is Verdict.UNKNOWN


def test_accepted_is_journaled_before_it_is_returned_and_then_already_used(redeemer):
    n = len(CASES) - 1
    first = redeemer.redeem(CODES[n], NOW)
    assert first.verdict is Verdict.ACCEPTED and first.value == "£5 off"
    row = redeemer.journal.conn.execute("SELECT id, voucher_id, cashier FROM events").fetchone()
    assert tuple(row) == (first.event.id, f"ok.{n}", "jo")
    second = redeemer.redeem(f"https://vouchers.example/v/{format_code(CODES[n])}", NOW)
    assert second.verdict is Verdict.ALREADY_USED and "this shop" in second.reason
    redeemer.record_refusal(second)
    kinds = [r[0] for r in redeemer.journal.conn.execute("SELECT kind FROM events ORDER BY seq")]
    assert kinds == ["redeem", "refused"]


def test_already_used_says_where_and_when(redeemer):
    n = next(i for i, c in enumerate(CASES) if c[0] is Verdict.ALREADY_USED)
    decision = redeemer.redeem(CODES[n], NOW)
    assert "shop s2" in decision.reason and "14 Jun 2026 at 10:30" in decision.reason  # London summer time


def kinds(redeemer) -> list[str]:
    return [r[0] for r in redeemer.journal.conn.execute("SELECT kind FROM events ORDER BY seq")]


@pytest.mark.parametrize(
    ("language", "used", "expired", "short"),
    [
        ("fr", "Utilisé au magasin s2 le 14 juin 2026 à 10:30.", "Ce bon a expiré.", "Trop court"),
        (
            "de",
            "Eingelöst in der Filiale s2 am 14.06.2026 um 10:30 Uhr.",
            "Dieser Gutschein ist abgelaufen.",
            "Zu kurz",
        ),
        (
            "es",
            "Canjeado en la tienda s2 el 14 jun 2026 a las 10:30.",
            "Este cupón ha caducado.",
            "Demasiado corto",
        ),
    ],
)
def test_a_till_words_its_verdicts_in_its_language(redeemer, language, used, expired, short):
    """The setting `language`: the verdict's reason and its facts (where, when in the store's zone)."""
    redeemer.language = language
    by_verdict = {c[0]: n for n, c in enumerate(CASES)}
    assert redeemer.check(CODES[by_verdict[Verdict.ALREADY_USED]], NOW).reason.endswith(" " + used)
    assert redeemer.check(CODES[by_verdict[Verdict.EXPIRED]], NOW).reason == expired
    assert short in redeemer.check(CODES[0][:-1], NOW).reason


def test_confirmation_writes_nothing_until_the_cashier_says_yes(redeemer):
    n = len(CASES) - 1
    redeemer.policy = Policy(confirm=True)
    question = redeemer.scan(CODES[n], NOW)
    assert (question.verdict, question.step, question.event) == (Verdict.ACCEPTED, CONFIRM, None)
    assert "Mark it as used?" in question.reason and question.value == "£5 off"
    assert kinds(redeemer) == []
    assert redeemer.scan(CODES[0], NOW).step is None  # only an accepted voucher asks
    done = redeemer.redeem(question.code, NOW)
    assert done.verdict is Verdict.ACCEPTED and done.event is not None and kinds(redeemer) == ["redeem"]
    again = redeemer.redeem(question.code, NOW)  # "yes" pressed twice, or two tills: checked again
    assert again.verdict is Verdict.ALREADY_USED and kinds(redeemer) == ["redeem"]


@pytest.mark.parametrize("age_hours, step", [(1, None), (30, APPROVAL)])
def test_a_stale_snapshot_needs_a_managers_approval(redeemer, age_hours, step):
    n = len(CASES) - 1
    redeemer.policy = Policy(approval_after=timedelta(hours=24))
    later = datetime.now(UTC) + timedelta(hours=age_hours)  # the snapshot was pulled just now
    decision = redeemer.scan(CODES[n], later)
    assert decision.verdict is Verdict.ACCEPTED and decision.step == step
    if step is None:
        assert kinds(redeemer) == ["redeem"]
        return
    assert "30 hours old" in decision.reason and "manager must approve" in decision.reason
    assert kinds(redeemer) == []
    done = redeemer.redeem(decision.code, later, approved_by="manager")
    assert done.event is not None
    row = redeemer.journal.conn.execute("SELECT kind, cashier FROM events").fetchone()
    assert tuple(row) == ("redeem", "jo, approved by manager")


def test_approval_wins_over_confirmation_and_refusals_ask_nothing(redeemer):
    redeemer.policy = Policy(confirm=True, approval_after=timedelta(hours=1))
    later = datetime.now(UTC) + timedelta(days=3)
    assert redeemer.scan(CODES[len(CASES) - 1], later).step == APPROVAL
    assert "3 days old" in redeemer.scan(CODES[len(CASES) - 1], later).reason
    refused = redeemer.scan(CODES[0], later)
    assert refused.step is None and refused.verdict is Verdict.BATCH_VOID
    assert kinds(redeemer) == []


def test_a_voucher_marked_used_by_its_member_says_so(tmp_path):
    replica, journal = Replica(tmp_path / "replica.db"), Journal(tmp_path / "journal.db")
    replica.apply_page(
        {
            "cursor": 0,
            "next_cursor": 9,
            "complete": True,
            "store": {"id": "s1", "timezone": "Europe/London"},
            "batches": [batch("online")],
            "types": [],
            "vouchers": [
                voucher(0, "online", status="used", used_at="2026-06-14T09:30:00+00:00", used_store=None)
            ],
            "deleted": {},
        }
    )
    decision = Redeemer(Till(replica.conn, journal.conn), journal, KEY).redeem(CODES[0], NOW)
    assert decision.verdict is Verdict.ALREADY_USED
    assert "Used online by the customer" in decision.reason and "None" not in decision.reason
    replica.close()
    journal.close()


def test_a_till_still_loading_its_list_says_so_for_a_code_it_does_not_hold(tmp_path):
    """A first sync under way (docs/PROTOCOL.md's `head`): a code not held yet is not said not to
    exist, nor journaled as refused; the status line says how far the list is, never "synced"."""
    from kiosk.widgets.status import describe

    replica, journal = Replica(tmp_path / "replica.db"), Journal(tmp_path / "journal.db")
    store = {"id": "s1", "timezone": "Europe/London"}
    types = [
        {
            "id": "t",
            "batch_id": "ok",
            "name": "Std",
            "value": "£5 off",
            "min_purchase": None,
            "initial_status": "unused",
        }
    ]
    replica.apply_page(
        {
            "cursor": 0,
            "next_cursor": 30,
            "complete": False,
            "head": 100,
            "remaining": 70,
            "store": store,
            "batches": [batch("ok")],
            "types": types,
            "vouchers": [voucher(1, "ok")],
            "deleted": {},
        }
    )
    redeemer = Redeemer(Till(replica.conn, journal.conn), journal, KEY)
    decision = redeemer.scan(CODES[2], NOW)
    assert decision.verdict is Verdict.LOADING and decision.verdict.kind == "attention"
    assert decision.reason.startswith("Voucher list loading (30 %): try again in a moment")
    assert redeemer.record_refusal(decision) is None
    assert redeemer.scan(CODES[1], NOW).verdict is Verdict.ACCEPTED  # a voucher it holds: decided as ever
    limits = {"stale_after": timedelta(hours=24), "offline_after": timedelta(minutes=5)}
    text, warning = describe(redeemer.till.health(), datetime.now(UTC), **limits)
    assert "voucher list loading: 30 %" in text and "synced" not in text and warning
    replica.apply_page(
        {
            "cursor": 30,
            "next_cursor": 100,
            "complete": True,
            "head": 100,
            "remaining": 0,
            "store": store,
            "batches": [],
            "types": [],
            "vouchers": [voucher(3, "ok")],
            "deleted": {},
        }
    )
    assert redeemer.scan(CODES[2], NOW).verdict is Verdict.UNKNOWN  # complete: it really is not there
    assert redeemer.scan(CODES[3], NOW).verdict is Verdict.ACCEPTED
    text, _ = describe(redeemer.till.health(), datetime.now(UTC), **limits)
    assert "synced just now" in text and "loading" not in text
    replica.close()
    journal.close()
