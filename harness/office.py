"""Head office's side of the API, as staff drive it: stores, enrolment codes, batches walked
through their life cycle, claims. Built on the admin client the CLI and the demo use
(central/client.py), so a refusal leaves as its ApiError, with the server's problem detail."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from central.client import AdminClient, ApiError
from harness.server import ServerProcess


class HeadOffice:
    """Admin helpers over a running server (a ServerProcess, or the URL of one and a token)."""

    def __init__(
        self, server: ServerProcess | str, token: str | None = None, *, timeout: float = 120
    ) -> None:
        self.server = server if isinstance(server, ServerProcess) else None
        if isinstance(server, ServerProcess):
            self.base_url = server.url
            token = token or server.staff_token()
        else:
            self.base_url = server
        self.token = token
        self.api = AdminClient(self.base_url, token, timeout=timeout)
        self.http: httpx.Client = self.api.http  # the raw client on /api/v1, for a test's own calls

    @property
    def admin(self) -> httpx.Client:
        """The raw client (the name the agent's tests use)."""
        return self.http

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> HeadOffice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- stores and devices ------------------------------------------------------------------

    def store(self, store_id: str, timezone: str = "Europe/London") -> dict:
        return self.api.post("/stores", {"id": store_id, "name": store_id, "timezone": timezone})

    def enrolment_code(self, store_id: str) -> str:
        code: str = self.api.post(f"/stores/{store_id}/enrolment-codes")["code"]
        return code

    def device(self, store_id: str, name: str, base_url: str | None = None) -> dict:
        """Enrol a device at a store (through `base_url`, another server process, if given)."""
        code = self.enrolment_code(store_id)
        anonymous = AdminClient(base_url or self.base_url, None)
        try:
            return anonymous.post("/devices/enrol", {"enrolment_code": code, "device_name": name})
        finally:
            anonymous.close()

    # -- batches -----------------------------------------------------------------------------

    def new_batch(
        self, size: int, identifier: str = "Test", initial_status: str = "unused", **fields: Any
    ) -> dict:
        """A validated batch with one type covering serials 1..size."""
        body = {"identifier": identifier, "serial_start": 1, "serial_end": size, **fields}
        bid = self.api.post("/batches", body)["id"]
        self.api.post(
            f"/batches/{bid}/types", {"name": "Std", "value": "£5 off", "initial_status": initial_status}
        )
        return self.api.post(f"/batches/{bid}/validate")

    def get(self, batch_id: str) -> dict:
        return self.api.get(f"/batches/{batch_id}")

    def generate(self, batch_id: str) -> None:
        self.api.post(f"/batches/{batch_id}/generate")

    def wait_generated(
        self,
        batch_id: str,
        timeout: float = 1800,
        poll: float = 0.1,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.get(batch_id)
            if batch["state"] == "generated":
                return batch
            if batch["state"] != "generating":
                raise ApiError(
                    0, {"title": "Generation stopped", "detail": f"batch {batch_id} went to {batch['state']}"}
                )
            if progress and batch.get("generation"):
                progress(batch["generation"]["done"], batch["generation"]["total"])
            time.sleep(poll)
        raise AssertionError(f"batch {batch_id} not generated after {timeout} s")

    def act(self, batch_id: str, *actions: str) -> dict:
        """Life-cycle steps in order (distribute, redeemable, lock ...); the batch after the last."""
        batch: dict = {}
        for action in actions:
            batch = self.api.post(f"/batches/{batch_id}/{action}")
        return batch

    def generated_batch(
        self, size: int, identifier: str = "Test", timeout: float = 1800, **fields: Any
    ) -> dict:
        batch = self.new_batch(size, identifier, **fields)
        self.generate(batch["id"])
        return self.wait_generated(batch["id"], timeout)

    def batch(self, size: int, claimed: int = 0, **fields: Any) -> dict:
        """A redeemable batch of `size`; its `codes` are those of `claimed` members' claims."""
        bid = self.generated_batch(size, **fields)["id"]
        batch = self.act(bid, "distribute", "redeemable")
        batch["codes"] = [self.claim(batch, f"m{i}@example.com") for i in range(claimed)]
        return batch

    def claim(self, batch: dict, member: str) -> str:
        """Head office claims a voucher of `batch` for `member`; its code."""
        code: str = self.api.post("/claims", {"claim_token": batch["claim_token"], "member_id": member})[
            "code"
        ]
        return code

    def voucher_ids(self, batch_id: str, **params: Any) -> list[str]:
        """Every matching voucher's `id`, page by page with the cursor."""
        ids: list[str] = []
        cursor = None
        while True:
            query = {"limit": 10_000, **params}
            if cursor is not None:
                query["cursor"] = cursor
            page = self.api.get(f"/batches/{batch_id}/vouchers", params=query)
            ids.extend(v["id"] for v in page["vouchers"])
            cursor = page["next_cursor"]
            if cursor is None:
                return ids

    # -- what the tills did -------------------------------------------------------------------

    def voucher(self, code: str) -> dict:
        return self.api.get(f"/vouchers/{code}")

    def ledger(self, store_id: str) -> list[dict]:
        events: list[dict] = self.api.get(f"/stores/{store_id}/redemptions")["events"]
        return events
