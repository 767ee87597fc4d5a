"""What the tests of hub/store.py share: head office's pages written by hand (each validated as
SnapshotPage, as the hub's upstream loop gets them), the store's devices, tills' events, and a
till's real replica that applies the hub's pages."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.store import HubDevice, HubStore
from localdb.replica import Replica
from vouchers.wire import Event, SnapshotPage, StoreDevice

STORE = {"id": "s1", "timezone": "Europe/London"}
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
TILL_1 = HubDevice(id="till-1", store_id="s1", name="Till 1", revoked=False)
TILL_2 = HubDevice(id="till-2", store_id="s1", name="Till 2", revoked=False)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def store_devices(*extra: StoreDevice) -> list[StoreDevice]:
    """The store's devices as head office lists them: two tills, the hub, and any others."""
    return [
        StoreDevice(
            device_id="till-1", name="Till 1", role="till", token_hash=token_hash("tok-1"), revoked=False
        ),
        StoreDevice(
            device_id="till-2", name="Till 2", role="till", token_hash=token_hash("tok-2"), revoked=False
        ),
        StoreDevice(
            device_id="hub-1", name="Hub", role="hub", token_hash=token_hash("tok-hub"), revoked=False
        ),
        *extra,
    ]


def batch(batch_id: str = "b1", state: str = "redeemable", **fields: Any) -> dict[str, Any]:
    return {
        "id": batch_id,
        "identifier": f"Batch {batch_id}",
        "description": "",
        "state": state,
        "claims": "active",
        "valid_from": None,
        "valid_until": None,
        "stores": None,
        **fields,
    }


def kind(batch_id: str = "b1") -> dict[str, Any]:
    return {
        "id": f"{batch_id}-t",
        "batch_id": batch_id,
        "name": "Std",
        "value": "£5 off",
        "min_purchase": None,
        "initial_status": "unused",
    }


def voucher(serial: int, batch_id: str = "b1", status: str = "unused", **fields: Any) -> dict[str, Any]:
    return {
        "id": f"{batch_id}.{serial}",
        "batch_id": batch_id,
        "type_id": f"{batch_id}-t",
        "serial": serial,
        "code_hash": hashlib.sha256(f"{batch_id}.{serial}".encode()).hexdigest(),
        "claimed": True,
        "status": status,
        "used_at": None,
        "used_store": None,
        **fields,
    }


def ho_page(cursor: int, next_cursor: int, *, complete: bool = True, **rows: Any) -> SnapshotPage:
    """A page of head office's, validated as the hub's client validates one."""
    body = {
        "cursor": cursor,
        "next_cursor": next_cursor,
        "complete": complete,
        "head": next_cursor,
        "remaining": 0,
        "store": rows.pop("store", STORE),
        "batches": rows.pop("batches", []),
        "types": rows.pop("types", []),
        "vouchers": rows.pop("vouchers", []),
        "deleted": rows.pop("deleted", {}),
        "problems": rows.pop("problems", []),
    }
    assert not rows, rows
    return SnapshotPage.model_validate(body)


def ready_store(path: Path, vouchers: int = 5) -> HubStore:
    """A hub with head office's whole snapshot of one redeemable batch and the store's devices."""
    store = HubStore(path)
    store.set_devices(store_devices())
    store.apply_upstream(
        ho_page(
            0, 100, batches=[batch()], types=[kind()], vouchers=[voucher(i) for i in range(1, vouchers + 1)]
        ),
        store.begin_pull(),
    )
    return store


def redeem(voucher_id: str, *, at: datetime | None = None, seq: int = 1, **fields: Any) -> Event:
    return Event(
        id=fields.pop("id", uuid.uuid4()),
        kind="redeem",
        voucher_id=voucher_id,
        at=at or T0,
        device_seq=seq,
        **fields,
    )


def revert(voucher_id: str, reverts: uuid.UUID, *, at: datetime | None = None) -> Event:
    return Event(
        id=uuid.uuid4(),
        kind="revert",
        voucher_id=voucher_id,
        reverts=reverts,
        reason="customer changed their mind",
        at=at or T0 + timedelta(minutes=5),
        device_seq=2,
    )


def review(reviews: uuid.UUID | str, note: str = "checked with the customer") -> Event:
    return Event(
        id=uuid.uuid4(),
        kind="review",
        reviews=uuid.UUID(str(reviews)),
        reason=note,
        cashier="Sam",
        at=T0 + timedelta(hours=1),
        device_seq=3,
    )


def served(store: HubStore) -> dict[str, Any]:
    """Everything the hub serves now, by kind and id: one page from 0 as a new till gets it."""
    page = store.page(0, 1_000_000)
    assert page["complete"]
    SnapshotPage.model_validate(page)
    return {
        "batches": {b["id"]: b for b in page["batches"]},
        "types": {t["id"]: t for t in page["types"]},
        "vouchers": {v["id"]: v for v in page["vouchers"]},
        "problems": {p["event_id"]: p for p in page["problems"]},
    }


class TillReplica:
    """A till's own replica.db (localdb's, as the agent writes it), pulling pages from the hub."""

    def __init__(self, path: Path) -> None:
        self.replica = Replica(path)

    def pull(self, store: HubStore, limit: int = 1000) -> dict[str, Any]:
        """One page from the hub, applied as the agent applies it (it checks the page follows on)."""
        page = store.page(self.replica.cursor(), limit)
        self.replica.apply_page(page)
        return page

    def catch_up(self, store: HubStore, limit: int = 1000) -> None:
        for _ in range(100_000):
            if self.pull(store, limit)["complete"]:
                return
        raise AssertionError("the hub's pages never ended complete")

    def vouchers(self) -> dict[str, tuple[Any, ...]]:
        rows = self.replica.conn.execute("SELECT id, status, used_at, used_store FROM vouchers")
        return {r["id"]: (r["status"], _instant(r["used_at"]), r["used_store"]) for r in rows}

    def batches(self) -> dict[str, str]:
        return dict(self.replica.conn.execute("SELECT id, state FROM batches").fetchall())

    def problems(self) -> dict[str, tuple[Any, ...]]:
        rows = self.replica.conn.execute("SELECT event_id, outcome, reason, reviewed_by FROM problems")
        return {r["event_id"]: (r["outcome"], r["reason"], r["reviewed_by"]) for r in rows}

    def close(self) -> None:
        self.replica.close()


def expected_vouchers(store: HubStore) -> dict[str, tuple[Any, ...]]:
    return {
        v["id"]: (v["status"], _instant(v["used_at"]), v["used_store"])
        for v in served(store)["vouchers"].values()
    }


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
