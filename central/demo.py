"""The demo: a fresh server on SQLite with stores and batches in every life-cycle state.

It seeds through the real API (as head office would), so what it shows is what a server
in production does.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn

from central import images
from central.app import create_app
from central.client import AdminClient
from central.db.engine import Database
from central.demo_mail import MailServer
from central.services import audit, staff
from central.services.audit import Actor
from central.settings import CentralSettings
from vouchers.codes import format_code, new_code
from vouchers.verdict import Verdict

DEMO_STAFF = "hq@demo.example"


def run_demo(data_dir: Path, port: int, large_batch: int = 1_000_000, locale: str | None = None) -> int:
    """`locale`: the demo stores' (their tills speak it); the pages' links choose it too."""
    if not _port_free(port):
        print(
            f"error: port {port} is in use (another demo or server?). Stop it, or pick another port: "
            f"voucher-central demo --port {port + 1}  (make demo PORT={port + 1})",
            file=sys.stderr,
        )
        return 2
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    token = secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}"
    mail = MailServer(data_dir / "mail").start()  # members' sign-in mail lands here, as .eml files
    settings = CentralSettings.model_validate(
        {
            "database_url": f"sqlite:///{(data_dir / 'central.db').resolve()}",
            "admin_token": token,
            "public_url": url,
            "port": port,
            **mail.settings(),
        }
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    _wait_up(url, thread)
    _write_secret(data_dir / "admin-token", token)
    password, api_token = add_demo_staff(settings, data_dir)
    client = AdminClient(url, api_token)  # the staff member's own token: the admin token only bootstraps
    tries = seed(client, large_batch, locale)
    write_codes(data_dir, tries)
    print(summary(url, data_dir, tries, password, mail.port), flush=True)
    if locale:
        print(
            f"  language:     {locale}: the stores' tills speak it; pages: {url}/dashboard?lang={locale}",
            flush=True,
        )
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(10)
    finally:
        mail.stop()
    return 0


def add_demo_staff(settings: CentralSettings, data_dir: Path) -> tuple[str, str]:
    """An admin staff account for the dashboard and its personal API token (as `voucher-central
    staff add` and `staff token create` make them); the password is printed and kept in
    data_dir/dashboard-password, the token in data_dir/api-token (both 0600)."""
    password = secrets.token_urlsafe(12)
    db = Database(settings.database_url)
    actor = Actor("voucher-central demo", "system")
    try:
        with db.write() as conn:
            staff.add(conn, DEMO_STAFF, password, role="admin", log2_n=settings.password_hash_cost)
            token = staff.create_token(conn, DEMO_STAFF, "demo", 30)
            audit.record(conn, actor, "staff.add", "staff", DEMO_STAFF, None, {"role": "admin"})
            audit.record(
                conn, actor, "token.create", "token", token.id, None, {"email": DEMO_STAFF, "name": "demo"}
            )
    finally:
        db.dispose()
    _write_secret(data_dir / "dashboard-password", password)
    _write_secret(data_dir / "api-token", token.token)
    return password, token.token


def _write_secret(path: Path, text: str) -> None:
    """A file only its owner may read, from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_up(url: str, thread: threading.Thread, timeout: float = 60) -> None:
    """Until the server thread answers /healthz (60 s: enough on a busy two-core machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise SystemExit(f"The demo server did not start (is port {url.rsplit(':', 1)[1]} in use?).")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"The demo server did not answer within {timeout:.0f} s.")


def _batch(
    client: AdminClient,
    identifier: str,
    description: str,
    size: int,
    *,
    channel: str | None = None,
    types: list[dict] | None = None,
    steps: tuple[str, ...] = (),
    **fields,
) -> dict:
    batch = client.post(
        "/batches",
        {
            "identifier": identifier,
            "description": description,
            "serial_start": 1001,
            "serial_end": 1000 + size,
            "channel": channel,
            **fields,
        },
    )
    for t in types if types is not None else [{"name": "Standard", "value": "£5 off", "min_purchase": "£20"}]:
        client.post(f"/batches/{batch['id']}/types", t)
    for step in steps:
        client.post(f"/batches/{batch['id']}/{step}")
        if step == "generate":
            _wait_generated(client, batch["id"])
    return client.get(f"/batches/{batch['id']}")


def _wait_generated(client: AdminClient, batch_id: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while client.get(f"/batches/{batch_id}")["state"] == "generating":
        if time.monotonic() > deadline:
            raise SystemExit(f"The demo batch {batch_id} was not generated within {timeout:.0f} s.")
        time.sleep(0.05)


def _claim(client: AdminClient, batch: dict, member: str) -> str:
    return client.post("/claims", {"claim_token": batch["claim_token"], "member_id": member})["code"]


def _unclaimed_code(client: AdminClient, batch: dict) -> str:
    return client.get(f"/batches/{batch['id']}/vouchers", params={"claimed": "false", "limit": 1})[
        "vouchers"
    ][0]["code"]


def seed(client: AdminClient, large_batch: int = 1_000_000, locale: str | None = None) -> dict[str, str]:
    """Stores (in `locale`, if given), a device and batches in every state; returns codes that give
    each verdict."""
    for store_id, name in (
        ("demo-shop", "Demo Shop, High Street"),
        ("other-shop", "Other Shop, Station Road"),
    ):
        client.post("/stores", {"id": store_id, "name": name, "timezone": "Europe/London", "locale": locale})
    full = ("validate", "generate", "distribute", "redeemable")
    _batch(client, "Spring 2027 Newsletter", "Being set up: no types yet.", 100, types=[])
    _batch(client, "Easter Leaflet", "Validated, ready to generate.", 200, steps=("validate",))
    _batch(
        client,
        "Winter Email (generated)",
        "Generated, not yet distributed.",
        300,
        channel="email",
        steps=("validate", "generate"),
    )
    posters = _batch(
        client,
        "In-store Posters",
        "Distributed; not yet redeemable.",
        300,
        channel="in-store-qr",
        steps=("validate", "generate", "distribute"),
    )
    main = _batch(
        client,
        "Q1 2026 Email Campaign",
        "£5 off a £20 shop. One per customer.",
        500,
        channel="email",
        steps=full,
    )
    online = _batch(
        client,
        "Online Perk Codes",
        "The code is the perk: nothing to mark at the till.",
        50,
        types=[{"name": "Online", "value": "10% online", "initial_status": "issued"}],
        steps=full,
    )
    workflow = _batch(
        client,
        "Partner Fulfilment",
        "Processed by a partner's workflow.",
        50,
        types=[{"name": "Workflow", "value": "Free delivery", "initial_status": "pending"}],
        steps=full,
    )
    paused = _batch(
        client,
        "Summer 2025 - Instagram Post",
        "Paused: no new claims.",
        200,
        channel="social-media",
        steps=full,
    )
    locked = _batch(
        client,
        "Black Friday Events",
        "Locked: on hold at the tills.",
        200,
        channel="events",
        steps=("validate", "generate", "distribute"),
    )
    void = _batch(
        client,
        "Misprinted Flyer",
        "Void: cancelled for good.",
        100,
        steps=("validate", "generate", "distribute"),
    )
    today = datetime.now(UTC).date()
    elsewhere = _batch(
        client, "Station Road Opening", "Only at the Other Shop.", 20, steps=full, stores=["other-shop"]
    )
    future = _batch(
        client,
        "New Year Sale",
        "Valid from next month.",
        20,
        steps=full,
        valid_from=(today + timedelta(days=30)).isoformat(),
    )
    past = _batch(
        client,
        "Last Summer",
        "Its validity has ended.",
        20,
        steps=full,
        valid_from=(today - timedelta(days=60)).isoformat(),
        valid_until=(today - timedelta(days=2)).isoformat(),
    )
    big = _batch(
        client,
        "Autumn Mailing (large)",
        f"{large_batch:,} vouchers, generated in the background.",
        large_batch,
        channel="email",
        steps=("validate",),
    )

    codes = [_claim(client, main, f"member{i}@example.com") for i in range(40)]
    tries = {"ACCEPTED": codes[0]}
    for b, member in ((paused, "p"), (locked, "l")):
        for i in range(10):
            _claim(client, b, f"{member}{i}@example.com")
    tries["BATCH_LOCKED"] = _claim(client, locked, "late@example.com")
    client.post(f"/batches/{locked['id']}/lock")
    client.post(f"/batches/{paused['id']}/pause")
    tries["BATCH_NOT_REDEEMABLE"] = _claim(client, posters, "early@example.com")
    tries["BATCH_VOID"] = _claim(client, void, "misprint@example.com")  # a till holds claimed ones only
    client.post(f"/batches/{void['id']}/void")
    tries["UNKNOWN (unclaimed)"] = _unclaimed_code(client, main)  # never reaches a till: unknown there
    tries["UNKNOWN"] = format_code(new_code())  # well formed, never issued
    tries["WRONG_STORE"] = _claim(client, elsewhere, "station@example.com")
    tries["NOT_YET_VALID"] = _claim(client, future, "early-bird@example.com")
    tries["EXPIRED"] = _claim(client, past, "late-comer@example.com")

    # a till redeems some claimed vouchers, as the sync agent would push them
    code = client.post("/stores/demo-shop/enrolment-codes")["code"]
    device = client.post(
        "/devices/enrol", {"enrolment_code": code, "device_name": "earlier-till (demo history)"}
    )
    till = httpx.Client(
        base_url=str(client.http.base_url), headers={"Authorization": f"Bearer {device['token']}"}
    )
    now = datetime.now(UTC).isoformat()
    events = []
    for seq, c in enumerate(codes[1:16], start=1):
        voucher = client.get(f"/vouchers/{c}")
        events.append(
            {
                "id": str(uuid.uuid4()),
                "kind": "redeem",
                "voucher_id": voucher["id"],
                "at": now,
                "device_seq": seq,
            }
        )
    till.post("/sync/events", json={"events": events}).raise_for_status()
    till.close()
    tries["ALREADY_USED"] = codes[1]
    tries["ISSUED_VALID"] = _claim(client, online, "online@example.com")
    tries["PENDING"] = _claim(client, workflow, "partner@example.com")
    tries["INVALID_CODE"] = codes[0][:-1] + ("0" if codes[0][-1] != "0" else "1")  # check character wrong
    tries["ACCEPTED (camera)"] = codes[20]
    client.post(f"/batches/{big['id']}/generate")
    order = [v.value for v in Verdict]  # as docs/DESIGN.md checks them
    tries = dict(
        sorted(tries.items(), key=lambda kv: -1 if kv[0] == "ACCEPTED" else order.index(kv[0].split()[0]))
    )
    tries["_big"] = big["id"]
    return tries


def write_codes(data_dir: Path, tries: dict[str, str]) -> None:
    """codes.tsv (verdict, code), a PNG barcode of each code to show a real webcam, and a folder
    of camera frames the kiosk's camera path can read in place of a webcam."""
    barcodes, camera = data_dir / "barcodes", data_dir / "camera"
    barcodes.mkdir()
    camera.mkdir()
    lines = []
    for verdict, code in tries.items():
        if verdict.startswith("_"):
            continue
        lines.append(f"{verdict}\t{code}")
        name = verdict.split()[0].lower()
        (barcodes / f"{name}-qr.png").write_bytes(images.qr_png(code, images.MIN_QR_SIZE))
        if verdict != "INVALID_CODE":
            (barcodes / f"{name}-code128.png").write_bytes(
                images.barcode_png(code.replace("-", ""), "code128")
            )
    (data_dir / "codes.tsv").write_text("\n".join(lines) + "\n")
    (camera / "001-accepted.png").write_bytes(images.qr_png(tries["ACCEPTED (camera)"], images.MIN_QR_SIZE))


def summary(url: str, data_dir: Path, tries: dict[str, str], password: str, mail_port: int = 0) -> str:
    lines = [
        "",
        f"voucher-central demo is running at {url}  (Ctrl-C, or quitting the demo's till, stops it)",
        (
            f"  dashboard:    {url}/dashboard  (sign in as {DEMO_STAFF}, password {password};"
            f" also in {data_dir / 'dashboard-password'})"
        ),
        f"  API docs:     {url}/docs",
        f"  members:      sign in on a claim page or {url}/my/sign-in; the sign-in mail (link and code) arrives in",
        f"                {data_dir / 'mail'} (one .eml file a message, the newest last; the demo's own mail server,",
        f"                SMTP on 127.0.0.1:{mail_port})",
        (
            f"  API token:    {DEMO_STAFF}'s own, in {data_dir / 'api-token'} (the admin token in "
            f"{data_dir / 'admin-token'} only bootstraps a first account)"
        ),
        f"  try:          export VOUCHER_SERVER={url} VOUCHER_TOKEN=$(cat {data_dir / 'api-token'})",
        f"                {Path(sys.argv[0]).resolve().parent / 'voucher-central'} batch list",
        f"  the large batch generates in the background: watch it with 'batch wait {tries.pop('_big')}'",
        "",
        f"Codes to try at a till, and the verdict each gives (also in {data_dir / 'codes.tsv'}):",
    ]
    lines += [f"  {verdict:<22} {code}" for verdict, code in tries.items()]
    lines += [
        "",
        f"Barcode images of these codes (for a real webcam): {data_dir / 'barcodes'}",
        f"Camera frames for the kiosk's camera path: voucher-kiosk run --camera {data_dir / 'camera'}",
    ]
    return "\n".join(lines)
