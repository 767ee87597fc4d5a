"""A first sync into replica.db without its secondary indexes, and the catch-up and live streams."""

from __future__ import annotations

import pytest

from localdb import streams
from localdb.connect import open_reader
from localdb.replica import Replica, all_meta
from localdb.till import Till


def page(cursor, next_cursor, vouchers=(), *, complete=False, head=None, batches=True, deleted=None):
    return {
        "cursor": cursor,
        "next_cursor": next_cursor,
        "complete": complete,
        "head": head,
        "remaining": None if head is None else head - next_cursor,
        "store": {"id": "s1", "timezone": "Europe/London"},
        "batches": [
            {
                "id": "b1",
                "identifier": "Spring",
                "description": "",
                "state": "redeemable",
                "claims": "active",
                "valid_from": None,
                "valid_until": None,
                "stores": None,
            }
        ]
        if batches
        else [],
        "types": [
            {
                "id": "t1",
                "batch_id": "b1",
                "name": "Std",
                "value": "£5 off",
                "min_purchase": None,
                "initial_status": "unused",
            }
        ]
        if batches
        else [],
        "vouchers": [voucher(n, **fields) for n, fields in vouchers],
        "deleted": deleted or {"batches": [], "types": [], "vouchers": []},
    }


def voucher(n, **fields):
    return {
        "id": f"b1.{n}",
        "batch_id": "b1",
        "type_id": "t1",
        "serial": n,
        "code_hash": f"h{n:04}",
        "claimed": True,
        "status": "unused",
        "used_at": None,
        "used_store": None,
        **fields,
    }


def indexes(conn) -> set[str]:
    return {
        r[1] for r in conn.execute("PRAGMA index_list(vouchers)") if not r[1].startswith("sqlite_autoindex")
    }


@pytest.fixture
def replica(tmp_path):
    replica = Replica(tmp_path / "replica.db")
    yield replica
    replica.close()


def test_a_first_sync_loads_without_the_secondary_indexes_and_builds_them_when_complete(replica, tmp_path):
    reader = open_reader(tmp_path / "replica.db")
    till = Till(reader, None)
    assert indexes(replica.conn) == set(streams.SECONDARY_INDEXES)
    replica.apply_page(page(0, 100, [(n, {}) for n in range(1, 51)], head=300))
    assert indexes(replica.conn) == set()
    assert till.lookup("h0007").voucher.id == "b1.7" and till.lookup("h0077") is None  # slower, not wrong
    replica.close()
    replica = Replica(tmp_path / "replica.db")  # the agent restarts in the middle of it
    replica.apply_page(page(100, 200, [(n, {}) for n in range(51, 101)], head=300))
    assert indexes(replica.conn) == set() and all_meta(reader).get("snapshot_complete") != "1"
    replica.apply_page(page(200, 300, [(101, {})], complete=True, head=300))
    assert indexes(replica.conn) == set(streams.SECONDARY_INDEXES)
    assert till.lookup("h0101").voucher.id == "b1.101"
    plan = reader.execute("EXPLAIN QUERY PLAN SELECT id FROM vouchers WHERE code_hash = 'h0101'").fetchall()
    assert "vouchers_code_hash" in str([tuple(r) for r in plan])
    with pytest.raises(Exception, match="UNIQUE"):  # uniqueness holds again
        replica.conn.execute(
            "INSERT INTO vouchers VALUES ('b1.999', 'b1', 't1', 999, 'h0101', 1, NULL, NULL, NULL)"
        )
    replica.close()
    reader.close()


def test_small_and_later_pulls_keep_the_indexes(replica):
    replica.apply_page(page(0, 10, [(1, {})], complete=True, head=10))  # a small store: complete at once
    replica.apply_page(
        page(10, 20, [(2, {})], head=40)
    )  # a delta with more to come: not into an empty replica
    assert indexes(replica.conn) == set(streams.SECONDARY_INDEXES)


def test_two_vouchers_with_one_code_hash_never_complete_the_snapshot(replica):
    replica.apply_page(page(0, 10, [(1, {}), (2, {"code_hash": "same"})], head=20))
    with pytest.raises(streams.DuplicateCodeHash, match="two vouchers with one code hash"):
        replica.apply_page(page(10, 20, [(3, {"code_hash": "same"})], complete=True, head=20))
    meta = all_meta(replica.conn)
    assert meta["cursor"] == "10" and meta["snapshot_complete"] == "0" and meta[streams.BULK_LOAD] == "1"
    assert replica.conn.execute("SELECT count(*) FROM vouchers").fetchone()[0] == 2  # nothing of that page


def test_the_live_stream_starts_at_the_head_and_merges_into_the_catch_up(replica, tmp_path):
    replica.apply_page(page(0, 100, [(n, {}) for n in range(1, 11)], head=1000))
    meta = all_meta(replica.conn)
    assert meta["live_cursor"] == "1000" and streams.progress(meta) == 10
    with pytest.raises(ValueError, match="live cursor 1000"):
        replica.apply_page(page(900, 1010, [], complete=True, head=1010, batches=False), live=True)
    # an undo at head office after the catch-up began: the live stream brings it at once
    replica.apply_page(
        page(
            1000, 1010, [(5, {"status": "used", "used_store": "s1"})], complete=True, head=1010, batches=False
        ),
        live=True,
    )
    meta = all_meta(replica.conn)
    assert (meta["cursor"], meta["live_cursor"], meta["snapshot_complete"]) == ("100", "1010", "0")
    till = Till(open_reader(tmp_path / "replica.db"), None)
    assert till.lookup("h0005").voucher.status == "used"
    replica.apply_page(page(100, 600, [(n, {}) for n in range(11, 20)], head=1010))
    assert streams.progress(all_meta(replica.conn)) == 59
    replica.apply_page(page(600, 1010, [(n, {}) for n in range(20, 30)], head=1015))  # reached it: merged
    meta = all_meta(replica.conn)
    assert (
        meta["cursor"] == "1010" and meta["live_cursor"] == "1015"
    )  # much changed meanwhile: a new live stream
    replica.apply_page(page(1010, 1015, [], complete=True, head=1015, batches=False))
    meta = all_meta(replica.conn)
    assert meta["cursor"] == "1015" and meta.get("live_cursor") is None and streams.progress(meta) == 100
    assert till.lookup("h0005").voucher.status == "used"  # never an older version over the newer one
    till.replica.close()


def test_a_complete_catch_up_takes_the_live_cursor_when_it_is_further(replica):
    replica.apply_page(page(0, 50, [(1, {})], head=80))
    replica.apply_page(page(80, 95, [], complete=True, head=95, batches=False), live=True)
    replica.apply_page(page(50, 70, [(2, {})], complete=True, head=95))  # numbers 71..95: not this store's
    meta = all_meta(replica.conn)
    assert meta["cursor"] == "95" and meta.get("live_cursor") is None and meta["snapshot_complete"] == "1"


def test_a_wipe_ends_the_streams(replica):
    replica.apply_page(page(0, 50, [(1, {})], head=80))
    replica.wipe_snapshot()
    meta = all_meta(replica.conn)
    assert meta.get("live_cursor") is None and meta["cursor"] == "0" and streams.progress(meta) is None
    replica.apply_page(page(0, 10, [(1, {})], complete=True, head=10))  # small now: the indexes come back
    assert indexes(replica.conn) == set(streams.SECONDARY_INDEXES)
