"""Batches through their life cycle over the real API, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import cv2
import numpy as np
import zxingcpp

from vouchers.codes import normalise


def test_walk_from_configuring_to_void(api):
    batch = api.call(
        "POST",
        "/batches",
        201,
        json={"identifier": "Spring", "description": "£5 off", "serial_start": 100, "serial_end": 199},
    ).json()
    assert (batch["state"], batch["claims"]) == ("configuring", "active")
    assert batch["claim_url"].startswith("http://shop.test/claim/")
    bid = batch["id"]
    t = api.call("POST", f"/batches/{bid}/types", 201, json={"name": "Std", "value": "£5 off"}).json()
    assert (t["serial_start"], t["serial_end"], t["initial_status"]) == (
        100,
        199,
        "unused",
    )  # the batch's range
    assert api.call("POST", f"/batches/{bid}/validate", 200).json()["state"] == "validated"
    assert api.call("POST", f"/batches/{bid}/generate", 202).json()["state"] in ("generating", "generated")
    done = api.wait_generated(bid)
    assert done["metrics"] == {
        "total": 100,
        "claimed": 0,
        "redeemed": 0,
        "available": 100,
        "redemption_rate": 0.0,
    }
    assert api.call("POST", f"/batches/{bid}/distribute", 200).json()["state"] == "distributed"
    assert api.call("POST", f"/batches/{bid}/redeemable", 200).json()["state"] == "redeemable"
    assert api.call("POST", f"/batches/{bid}/lock", 200).json()["state"] == "locked"
    assert api.call("POST", f"/batches/{bid}/redeemable", 200).json()["state"] == "redeemable"
    assert api.call("POST", f"/batches/{bid}/void", 200).json()["state"] == "void"
    refused = api.call("POST", f"/batches/{bid}/redeemable", 409)
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["current_state"] == "void" and "void" in body["detail"]
    assert "redeemable" not in body["allowed"]


def test_validation_reports_every_error_and_stays_configuring(api):
    bid = api.call(
        "POST",
        "/batches",
        201,
        json={
            "identifier": " ",
            "serial_start": 10,
            "serial_end": 5,
            "valid_from": "2026-05-01",
            "valid_until": "2026-04-01",
        },
    ).json()["id"]
    problem = api.call("POST", f"/batches/{bid}/validate", 422).json()
    fields = {e["field"] for e in problem["errors"]}
    assert {"identifier", "serial_end", "valid_until", "types"} <= fields
    batch = api.get(bid)
    assert batch["state"] == "configuring"
    assert len(batch["validation_errors"]) == len(problem["errors"])
    api.call("POST", f"/batches/{bid}/types", 201, json={"name": "A", "value": "v"})
    assert api.get(bid)["validation_errors"] is None  # out of date once edited: Validate reports afresh


def test_overlapping_and_out_of_range_types_are_errors(api):
    bid = api.call(
        "POST", "/batches", 201, json={"identifier": "X", "serial_start": 1, "serial_end": 100}
    ).json()["id"]
    api.call(
        "POST",
        f"/batches/{bid}/types",
        201,
        json={"name": "A", "value": "v", "serial_start": 1, "serial_end": 60},
    )
    api.call(
        "POST",
        f"/batches/{bid}/types",
        201,
        json={"name": "B", "value": "v", "serial_start": 50, "serial_end": 90},
    )
    api.call(
        "POST",
        f"/batches/{bid}/types",
        201,
        json={"name": "C", "value": "v", "serial_start": 95, "serial_end": 120},
    )
    messages = " ".join(
        e["message"] for e in api.call("POST", f"/batches/{bid}/validate", 422).json()["errors"]
    )
    assert "overlaps" in messages and "outside" in messages


def test_types_with_gaps_generate_only_covered_serials(api):
    bid = api.call(
        "POST", "/batches", 201, json={"identifier": "Gaps", "serial_start": 1, "serial_end": 1000}
    ).json()["id"]
    api.call(
        "POST",
        f"/batches/{bid}/types",
        201,
        json={"name": "A", "value": "£1", "serial_start": 10, "serial_end": 19},
    )
    api.call(
        "POST",
        f"/batches/{bid}/types",
        201,
        json={"name": "B", "value": "£2", "serial_start": 500, "serial_end": 504, "initial_status": "issued"},
    )
    api.call("POST", f"/batches/{bid}/validate", 200)
    api.call("POST", f"/batches/{bid}/generate", 202)
    assert api.wait_generated(bid)["metrics"]["total"] == 15
    serials = [v["serial"] for v in api.vouchers(bid)]
    assert serials == list(range(10, 20)) + list(range(500, 505))


def test_editing_a_validated_batch_returns_it_to_configuring(api):
    batch = api.batch(5, state="validated")
    edited = api.call("PATCH", f"/batches/{batch['id']}", 200, json={"description": "new words"}).json()
    assert (edited["state"], edited["description"]) == ("configuring", "new words")
    generated = api.batch(5, state="generated")
    body = api.call("PATCH", f"/batches/{generated['id']}", 409, json={"description": "x"}).json()
    assert body["current_state"] == "generated"
    assert (
        api.call(
            "POST", f"/batches/{generated['id']}/types", 409, json={"name": "n", "value": "v"}
        ).status_code
        == 409
    )


def test_pause_and_resume_are_silent_and_keep_state(api):
    batch = api.batch(5)
    paused = api.call("POST", f"/batches/{batch['id']}/pause", 200).json()
    assert (paused["claims"], paused["state"]) == ("paused", "redeemable")
    assert "resume" in paused["allowed_actions"] and "pause" not in paused["allowed_actions"]
    assert api.call("POST", f"/batches/{batch['id']}/resume", 200).json()["claims"] == "active"


def test_delete_needs_the_voucher_count(api):
    batch = api.batch(7)
    api.claim(batch, "ann")
    refused = api.call("DELETE", f"/batches/{batch['id']}", 409).json()
    assert refused["vouchers"] == 7 and "7 vouchers will be permanently deleted" in refused["detail"]
    api.call("DELETE", f"/batches/{batch['id']}", 409, params={"confirm": 6})
    api.get(batch["id"])  # still there
    api.call("DELETE", f"/batches/{batch['id']}", 204, params={"confirm": 7})
    api.call("GET", f"/batches/{batch['id']}", 404)
    assert batch["id"] not in [b["id"] for b in api.call("GET", "/batches", 200).json()]


def test_vouchers_filter_search_page_and_csv(api):
    batch = api.batch(30)
    codes = [api.claim(batch, f"m{i}@example.com")["code"] for i in range(4)]
    bid = batch["id"]
    assert len(api.vouchers(bid, claimed="true")) == 4
    assert len(api.vouchers(bid, claimed="false")) == 26
    assert len(api.vouchers(bid, status="unused")) == 4
    found = api.vouchers(bid, code=codes[2].lower().replace("-", " "))
    assert [v["code"] for v in found] == [codes[2]] and found[0]["claim"]["member_id"] == "m2@example.com"
    first = api.call("GET", f"/batches/{bid}/vouchers", 200, params={"limit": 20}).json()
    second = api.call(
        "GET", f"/batches/{bid}/vouchers", 200, params={"limit": 20, "cursor": first["next_cursor"]}
    ).json()
    assert len(first["vouchers"]) == 20 and len(second["vouchers"]) == 10 and second["next_cursor"] is None
    response = api.call("GET", f"/batches/{bid}/vouchers", 200, params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 30 and sum(r["claimed"] == "yes" for r in rows) == 4
    by_accept = api.call(
        "GET",
        f"/batches/{bid}/vouchers",
        200,
        params={"claimed": "true"},
        headers={"Accept": "text/csv", "Authorization": api.admin["Authorization"]},
    )
    assert len(list(csv.DictReader(io.StringIO(by_accept.text)))) == 4


def _decode_png(data: bytes) -> list[str]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return [r.text for r in zxingcpp.read_barcodes(image)], image.shape


def test_claim_qr_png_is_print_ready_and_scans_to_the_claim_url(api):
    batch = api.batch(3)
    response = api.call("GET", f"/batches/{batch['id']}/claim-qr.png", 200)
    assert response.headers["content-type"] == "image/png"
    texts, shape = _decode_png(response.content)
    assert texts == [batch["claim_url"]] and shape == (1024, 1024)
    texts, shape = _decode_png(
        api.call("GET", f"/batches/{batch['id']}/claim-qr.png", 200, params={"size": 500}).content
    )
    assert texts == [batch["claim_url"]] and shape == (500, 500)
    api.call("GET", f"/batches/{batch['id']}/claim-qr.png", 422, params={"size": 100})


def test_voucher_barcodes_scan_to_the_code(api):
    batch = api.batch(3)
    code = api.claim(batch, "ann")["code"]
    for symbology in ("qr", "code128", "datamatrix", "pdf417", "aztec"):
        png = api.call("GET", f"/vouchers/{code}/barcode.png", 200, params={"symbology": symbology}).content
        texts, _ = _decode_png(png)
        assert [normalise(t) for t in texts] == [normalise(code)], symbology
