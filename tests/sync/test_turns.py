"""The agent's turns to write replica.db: a short write never waits for more than the page being applied."""

from __future__ import annotations

import threading

from harness import wait_for
from sync.turns import Turns


def test_a_short_write_goes_before_the_next_page_and_a_turn_may_be_taken_again():
    turns, order = Turns(), []
    first_page, short_asked = threading.Event(), threading.Event()

    def pull():
        with turns.page():
            first_page.set()
            short_asked.wait(10)
            wait_for(lambda: turns._short_waiting == 1, 10, "the short write waiting")
            order.append("page 1")
        with turns.page():  # the page after: only once the short write is done
            order.append("page 2")

    def push():
        first_page.wait(10)
        short_asked.set()
        with turns.short(), turns.short():  # the same thread again: no deadlock
            order.append("short")

    threads = [threading.Thread(target=pull), threading.Thread(target=push)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["page 1", "short", "page 2"]


def test_a_large_page_applied_in_parts_is_the_page_applied_whole(tmp_path):
    from localdb.replica import Replica, all_meta
    from sync.agent import PART, _parts
    from vouchers.wire import SnapshotPage

    def page(cursor, next_cursor, n, *, complete):
        return SnapshotPage.from_wire(
            {
                "cursor": cursor,
                "next_cursor": next_cursor,
                "complete": complete,
                "head": 900,
                "store": {"id": "s1", "timezone": "UTC"},
                "batches": [
                    {
                        "id": "b1",
                        "identifier": "B",
                        "description": "",
                        "state": "redeemable",
                        "claims": "active",
                        "valid_from": None,
                        "valid_until": None,
                        "stores": None,
                    }
                ],
                "types": [],
                "deleted": {"batches": [], "types": [], "vouchers": []},
                "vouchers": [
                    {
                        "id": f"b1.{i}",
                        "batch_id": "b1",
                        "type_id": "t1",
                        "serial": i,
                        "code_hash": f"h{i}",
                        "claimed": False,
                        "status": None,
                        "used_at": None,
                        "used_store": None,
                    }
                    for i in range(cursor, cursor + n)
                ],
            }
        )

    whole, parted = Replica(tmp_path / "whole.db"), Replica(tmp_path / "parted.db")
    pages = [
        page(0, 2 * PART + 7, 2 * PART + 7, complete=False),
        page(2 * PART + 7, 900, PART + 1, complete=True),
    ]
    for p in pages:
        whole.apply_page(p)
        parts = list(_parts(p))
        assert len(parts) >= 2 and sum(len(x.vouchers) for x in parts) == len(p.vouchers)
        for part in parts[:-1]:
            parted.apply_page(part)
            assert parted.cursor() == p.cursor  # the cursor moves with the last part only
        parted.apply_page(parts[-1])
    rows = "SELECT * FROM vouchers ORDER BY id"
    assert whole.conn.execute(rows).fetchall() == parted.conn.execute(rows).fetchall()
    keys = ("cursor", "snapshot_complete", "live_cursor")
    assert (
        [all_meta(whole.conn).get(k) for k in keys]
        == [all_meta(parted.conn).get(k) for k in keys]
        == ["900", "1", None]
    )
    whole.close()
    parted.close()
