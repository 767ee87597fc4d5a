"""The demo: a fresh server on SQLite with stores and batches in every life-cycle state.

It seeds through the real API (as head office would), so what it shows is what a server
in production does.
"""

from __future__ import annotations

import os
import re
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
from babel.numbers import format_currency

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
from vouchers.wording import N_
from words import Words, language_of, words_for

DEMO_STAFF = "hq@demo.example"
DOMAIN = "central"  # the demo's own words: head office's command line's

# The codes to try: codes.tsv's first column (read by the tests and the harness: these names, never
# worded) and what the summary prints beside each code, in the demo's language.
VERDICT_LABELS: dict[str, str] = {
    # TRANSLATORS: a verdict's name in the demo's list of codes to try: the headline a till shows
    # for it (kiosk: ACCEPTED), in capitals; codes.tsv keeps the English names
    "ACCEPTED": N_("ACCEPTED"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (this code is refused: not a voucher code)
    "INVALID_CODE": N_("INVALID_CODE"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (refused: a code no till knows)
    "UNKNOWN": N_("UNKNOWN"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (refused: the till does not
    # know a voucher nobody has claimed)
    "UNKNOWN (unclaimed)": N_("UNKNOWN (unclaimed)"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (refused: its batch is void)
    "BATCH_VOID": N_("BATCH_VOID"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (refused: its batch is locked)
    "BATCH_LOCKED": N_("BATCH_LOCKED"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (refused: its batch is not redeemable yet)
    "BATCH_NOT_REDEEMABLE": N_("BATCH_NOT_REDEEMABLE"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (refused: valid at another shop only)
    "WRONG_STORE": N_("WRONG_STORE"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (refused: valid from a later day)
    "NOT_YET_VALID": N_("NOT_YET_VALID"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (refused: its validity has ended)
    "EXPIRED": N_("EXPIRED"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (refused: used before)
    "ALREADY_USED": N_("ALREADY_USED"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (to check: still being processed)
    "PENDING": N_("PENDING"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try (to check: the code is the offer)
    "ISSUED_VALID": N_("ISSUED_VALID"),
    # TRANSLATORS: a verdict's name in the demo's list of codes to try: ACCEPTED, for the camera's frame
    "ACCEPTED (camera)": N_("ACCEPTED (camera)"),
}
TIMEZONES = {"fr": "Europe/Paris", "de": "Europe/Berlin", "es": "Europe/Madrid"}  # else Europe/London


def run_demo(data_dir: Path, port: int, large_batch: int = 1_000_000, locale: str | None = None) -> int:
    """`locale`: the demo stores' (their tills speak it); the pages' links choose it too, and the
    demo words what it prints and what it seeds in its language (none: English)."""
    words = words_for(locale, DOMAIN)
    if not _port_free(port):
        print(
            words.gettext(
                "error: port {port} is in use (another demo or server?). Stop it, or pick another port: "
                "voucher-central demo --port {next}  (make demo PORT={next})",
                port=port,
                next=port + 1,
            ),
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
    _wait_up(url, thread, words)
    _write_secret(data_dir / "admin-token", token)
    password, api_token = add_demo_staff(settings, data_dir)
    client = AdminClient(url, api_token)  # the staff member's own token: the admin token only bootstraps
    tries = seed(client, large_batch, locale)
    write_codes(data_dir, tries)
    text = summary(url, data_dir, tries, password, mail.port, locale)
    # what the harness (harness/demo.py) shows of it, whatever the language: written whole, and
    # before it is printed, so whoever has read the summary finds the file
    _write_whole(data_dir / SUMMARY, text + "\n")
    print(text, flush=True)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(10)
    finally:
        mail.stop()
    return 0


SUMMARY = "summary.txt"  # the printed summary; its presence says the demo is seeded (harness/demo.py)


def _write_whole(path: Path, text: str) -> None:
    """A file that appears with all its text or not at all (a reader waits for it)."""
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    part.replace(path)


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


def _wait_up(url: str, thread: threading.Thread, words: Words, timeout: float = 60) -> None:
    """Until the server thread answers /healthz (60 s: enough on a busy two-core machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise SystemExit(
                words.gettext(
                    "The demo server did not start (is port {port} in use?).", port=url.rsplit(":", 1)[1]
                )
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(
        words.gettext("The demo server did not answer within {seconds} s.", seconds=words.number(timeout, 0))
    )


def _batch(
    client: AdminClient,
    identifier: str,
    description: str,
    size: int,
    types: list[dict],
    *,
    channel: str | None = None,
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
    for t in types:
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
    """The first of the batch's unclaimed vouchers: the one its next claim takes (claims take the
    first free serial, central/services/claims.py), so a batch that can never be claimed from."""
    return client.get(f"/batches/{batch['id']}/vouchers", params={"claimed": "false", "limit": 1})[
        "vouchers"
    ][0]["code"]


def _money(words: Words, amount: int) -> str:
    """A whole amount as the demo's language writes it: pounds in English, euros in the others."""
    currency = "GBP" if words.language == "en" else "EUR"
    pattern = words.locale.currency_formats["standard"].pattern.split(";")[0].replace(".00", "")
    return format_currency(amount, currency, format=pattern, locale=words.locale, currency_digits=False)


def seed(client: AdminClient, large_batch: int = 1_000_000, locale: str | None = None) -> dict[str, str]:
    """Stores (in `locale`, if given), a device and batches in every state, named and described in
    the locale's language; returns codes that give each verdict (codes.tsv's names)."""
    w = words_for(locale, DOMAIN)
    timezone = TIMEZONES.get(language_of(locale) or "", "Europe/London")
    for store_id, name in (
        ("demo-shop", w.gettext("Demo Shop, High Street")),
        ("other-shop", w.gettext("Other Shop, Station Road")),
    ):
        client.post("/stores", {"id": store_id, "name": name, "timezone": timezone, "locale": locale})
    five, twenty = _money(w, 5), _money(w, 20)
    standard = [
        {
            # TRANSLATORS: the name of the demo's usual voucher type
            "name": w.gettext("Standard"),
            # TRANSLATORS: what the demo's usual voucher is worth ({amount}: e.g. £5, 5 €)
            "value": w.gettext("{amount} off", amount=five),
            "min_purchase": twenty,
        }
    ]
    full = ("validate", "generate", "distribute", "redeemable")
    _batch(client, w.gettext("Spring 2027 Newsletter"), w.gettext("Being set up: no types yet."), 100, [])
    _batch(
        client,
        w.gettext("Easter Leaflet"),
        w.gettext("Validated, ready to generate."),
        200,
        standard,
        steps=("validate",),
    )
    _batch(
        client,
        w.gettext("Winter Email (generated)"),
        w.gettext("Generated, not yet distributed."),
        300,
        standard,
        channel="email",
        steps=("validate", "generate"),
    )
    posters = _batch(
        client,
        w.gettext("In-store Posters"),
        w.gettext("Distributed; not yet redeemable."),
        300,
        standard,
        channel="in-store-qr",
        steps=("validate", "generate", "distribute"),
    )
    main = _batch(  # the shop's own codes of the two-till demo are this batch's (harness/demo.py)
        client,
        w.gettext("Q1 2026 Email Campaign"),
        w.gettext("{amount} off a {minimum} shop. One per customer.", amount=five, minimum=twenty),
        500,
        standard,
        channel="email",
        steps=full,
    )
    online = _batch(
        client,
        w.gettext("Online Perk Codes"),
        w.gettext("The code is the perk: nothing to mark at the till."),
        50,
        [{"name": w.gettext("Online"), "value": w.gettext("10% online"), "initial_status": "issued"}],
        steps=full,
    )
    workflow = _batch(
        client,
        w.gettext("Partner Fulfilment"),
        w.gettext("Processed by a partner's workflow."),
        50,
        [{"name": w.gettext("Workflow"), "value": w.gettext("Free delivery"), "initial_status": "pending"}],
        steps=full,
    )
    paused = _batch(
        client,
        w.gettext("Summer 2025 - Instagram Post"),
        w.gettext("Paused: no new claims."),
        200,
        standard,
        channel="social-media",
        steps=full,
    )
    locked = _batch(
        client,
        w.gettext("Black Friday Events"),
        w.gettext("Locked: on hold at the tills."),
        200,
        standard,
        channel="events",
        steps=("validate", "generate", "distribute"),
    )
    void = _batch(
        client,
        w.gettext("Misprinted Flyer"),
        w.gettext("Void: cancelled for good."),
        100,
        standard,
        steps=("validate", "generate", "distribute"),
    )
    today = datetime.now(UTC).date()
    elsewhere = _batch(
        client,
        w.gettext("Station Road Opening"),
        w.gettext("Only at the Other Shop."),
        20,
        standard,
        steps=full,
        stores=["other-shop"],
    )
    future = _batch(
        client,
        w.gettext("New Year Sale"),
        w.gettext("Valid from next month."),
        20,
        standard,
        steps=full,
        valid_from=(today + timedelta(days=30)).isoformat(),
    )
    past = _batch(
        client,
        w.gettext("Last Summer"),
        w.gettext("Its validity has ended."),
        20,
        standard,
        steps=full,
        valid_from=(today - timedelta(days=60)).isoformat(),
        valid_until=(today - timedelta(days=2)).isoformat(),
    )
    big = _batch(
        client,
        w.gettext("Autumn Mailing (large)"),
        w.ngettext(
            "{n} voucher, generated in the background.",
            "{n} vouchers, generated in the background.",
            large_batch,
        ),
        large_batch,
        standard,
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
    # An unclaimed voucher never reaches a till: unknown there. Not one of the main batch's: its first
    # unclaimed voucher is the one its next claim hands out (a member signing up on its claim page,
    # the two-till demo's shop codes), and then it is no longer unclaimed. A void batch is never
    # claimed from again, so this one stays unclaimed.
    tries["UNKNOWN (unclaimed)"] = _unclaimed_code(client, void)
    tries["UNKNOWN"] = format_code(new_code())  # well formed, never issued
    tries["WRONG_STORE"] = _claim(client, elsewhere, "station@example.com")
    tries["NOT_YET_VALID"] = _claim(client, future, "early-bird@example.com")
    tries["EXPIRED"] = _claim(client, past, "late-comer@example.com")

    # a till redeems some claimed vouchers, as the sync agent would push them
    code = client.post("/stores/demo-shop/enrolment-codes")["code"]
    # TRANSLATORS: the name of a till the demo invents, whose redemptions are the demo's history
    earlier = w.gettext("earlier-till (demo history)")
    device = client.post("/devices/enrol", {"enrolment_code": code, "device_name": earlier})
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
        name = re.sub(r"[^a-z0-9]+", "-", verdict.lower()).strip(
            "-"
        )  # "UNKNOWN (unclaimed)": unknown-unclaimed
        (barcodes / f"{name}-qr.png").write_bytes(images.qr_png(code, images.MIN_QR_SIZE))
        if verdict != "INVALID_CODE":
            (barcodes / f"{name}-code128.png").write_bytes(
                images.barcode_png(code.replace("-", ""), "code128")
            )
    (data_dir / "codes.tsv").write_text("\n".join(lines) + "\n")
    (camera / "001-accepted.png").write_bytes(images.qr_png(tries["ACCEPTED (camera)"], images.MIN_QR_SIZE))


def summary(
    url: str,
    data_dir: Path,
    tries: dict[str, str],
    password: str,
    mail_port: int = 0,
    locale: str | None = None,
) -> str:
    """What the demo prints once it is seeded, in the language of `locale` (none: English); the
    commands, paths and codes in it as they are typed."""
    w = words_for(locale, DOMAIN)
    program = Path(sys.argv[0]).resolve().parent / "voucher-central"
    rows = [
        (
            w.gettext("dashboard:"),
            w.gettext(
                "{url}/dashboard  (sign in as {email}, password {password}; also in {file})",
                url=url,
                email=DEMO_STAFF,
                password=password,
                file=data_dir / "dashboard-password",
            ),
        ),
        (w.gettext("API docs:"), f"{url}/docs"),
        (
            w.gettext("members:"),
            w.gettext(
                "sign in on a claim page or {url}/my/sign-in; the sign-in mail (link and code) arrives in\n"
                "{folder} (one .eml file a message, the newest last; the demo's own mail server,\n"
                "SMTP on 127.0.0.1:{port})",
                url=url,
                folder=data_dir / "mail",
                port=mail_port,
            ),
        ),
        (
            w.gettext("API token:"),
            w.gettext(
                "{email}'s own, in {file} (the admin token in {admin_file} only bootstraps a first account)",
                email=DEMO_STAFF,
                file=data_dir / "api-token",
                admin_file=data_dir / "admin-token",
            ),
        ),
        (
            w.gettext("try:"),
            f"export VOUCHER_SERVER={url} VOUCHER_TOKEN=$(cat {data_dir / 'api-token'})\n{program} batch list",
        ),
    ]
    if locale:
        pages = f"{url}/dashboard?lang={locale}"
        rows.append(
            (
                w.gettext("language:"),
                w.gettext(
                    "{locale}: the stores' tills speak it; pages: {url}",
                    locale=locale,
                    url=pages,
                ),
            )
        )
    wait = f"batch wait {tries.pop('_big')}"
    camera = f"voucher-kiosk run --camera {data_dir / 'camera'}"
    lines = [
        "",
        w.gettext(
            "voucher-central demo is running at {url}  (Ctrl-C, or quitting the demo's till, stops it)",
            url=url,
        ),
        *_columns(rows, 4),
        "  "
        + w.gettext(
            "the large batch generates in the background: watch it with '{command}'",
            command=wait,
        ),
        "",
        w.gettext(
            "Codes to try at a till, and the verdict each gives (also in {file}):",
            file=data_dir / "codes.tsv",
        ),
        *_columns([(w.gettext(VERDICT_LABELS[verdict]), code) for verdict, code in tries.items()], 3),
        "",
        w.gettext(
            "Barcode images of these codes (for a real webcam): {folder}", folder=data_dir / "barcodes"
        ),
        w.gettext(
            "Camera frames for the kiosk's camera path: {command}",
            command=camera,
        ),
    ]
    return "\n".join(lines)


def _columns(rows: list[tuple[str, str]], gap: int) -> list[str]:
    """Labels and their text in two columns, indented by two; a text's further lines under its first."""
    width = max(len(label) for label, _ in rows) + gap
    lines = []
    for label, text in rows:
        first, *more = text.split("\n")
        lines.append(f"  {label:<{width}}{first}")
        lines += [" " * (2 + width) + line for line in more]
    return lines
