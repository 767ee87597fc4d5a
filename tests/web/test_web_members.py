"""The member's pages in Chromium at a phone's size: the claim page (sign in, claim, the claim shown
again, paused, sold out), My vouchers with codes a till can read, MARK AS USED reaching head office
and the tills' snapshot, CSRF refusals, and member and staff sessions kept apart."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
import segno
import zxingcpp
from babel.dates import format_date
from playwright.sync_api import expect

from vouchers.codes import normalise

MEMBER_COOKIE = "voucher_member"


def _batch(
    server, size: int = 5, *, min_purchase: str | None = None, state: str = "redeemable", **fields
) -> dict:
    """A batch walked to `state`; its one type has this minimum purchase."""
    api = server.api
    if min_purchase is None:
        return api.batch(size, state=state, **fields)
    batch = api.batch(size, state="configuring", **fields)
    bid, type_id = batch["id"], batch["types"][0]["id"]
    api.call("PATCH", f"/batches/{bid}/types/{type_id}", 200, json={"min_purchase": min_purchase})
    for step in ("validate", "generate"):
        api.call("POST", f"/batches/{bid}/{step}")
    api.wait_generated(bid)
    for step in {"distributed": ["distribute"], "redeemable": ["distribute", "redeemable"]}[state]:
        api.call("POST", f"/batches/{bid}/{step}", 200)
    return api.get(bid)


def _type_the_code(page, server, email: str) -> None:
    """On the check-your-mail page: the code from the mail the server sent, typed into this browser."""
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    page.get_by_label("Code from the mail").fill(server.mail.last_to(email).code)
    page.get_by_role("button", name="Sign in").click()


def _claim_on_page(page, server, batch: dict, email: str) -> str:
    """Sign in from the claim page (the code of the mail, typed), which claims; the code the page shows."""
    page.goto(f"/claim/{batch['claim_token']}")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Sign in to claim").click()
    expect(page.get_by_role("button", name="Sign in and claim")).to_be_visible()
    page.get_by_label("Code from the mail").fill(server.mail.last_to(email).code)
    page.get_by_role("button", name="Sign in and claim").click()
    expect(page.locator(".flash")).to_have_text("Claimed! Your voucher is below, and always in My vouchers.")
    return page.locator(".voucher .code").inner_text()


def _sign_in(page, server, email: str, next_path: str = "/my/vouchers") -> None:
    page.goto(next_path)
    expect(page).to_have_url(re.compile(r"/my/sign-in\?next="))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    _type_the_code(page, server, email)
    expect(page.get_by_role("heading", name="My vouchers")).to_be_visible()


def _card(page, batch_name: str):
    return page.locator("article.voucher").filter(
        has=page.get_by_role("heading", name=batch_name, exact=True)
    )


def _read_barcodes(page, src: str) -> list[tuple[str, str]]:
    """(format, text) of every barcode zxing-cpp reads in the PNG the page serves at `src`."""
    response = page.request.get(src)
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    image = cv2.imdecode(np.frombuffer(response.body(), np.uint8), cv2.IMREAD_GRAYSCALE)
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)]


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, (
        "the page scrolls sideways on a phone"
    )


def _csrf(page) -> str:
    return page.locator('form.sign-out input[name="csrf_token"]').get_attribute("value")


def test_a_member_signs_in_through_the_mail_claims_and_sees_the_voucher(phone, server, browser, shot):
    """Issue 13's story: the link in the mail the server sent signs the member in; typing the same
    address elsewhere, without the mail, shows nothing of theirs."""
    batch = _batch(server, identifier="Proven promo")
    phone.goto(f"/claim/{batch['claim_token']}")
    phone.get_by_label("E-mail address").fill("Proof@Example.com")
    phone.get_by_role("button", name="Sign in to claim").click()
    expect(phone.get_by_role("heading", name="Check your mail")).to_be_visible()
    expect(phone.get_by_role("status")).to_have_text(
        "We sent a sign-in link and a code to proof@example.com."
    )
    shot(phone, "member-check-mail")
    assert server.api.get(batch["id"])["metrics"]["claimed"] == 0

    mail = server.mail.last_to("proof@example.com")
    phone.goto(mail.link)  # the member taps the link in the mail
    expect(
        phone.get_by_text(
            "Sign in on this browser as proof@example.com and claim your voucher from Proven promo?"
        )
    ).to_be_visible()
    shot(phone, "member-sign-in-link")
    assert server.api.get(batch["id"])["metrics"]["claimed"] == 0  # opening the link claims nothing
    phone.get_by_role("button", name="Sign in and claim").click()  # the one tap: signed in, and claimed
    expect(phone.get_by_role("heading", name="Proven promo", level=1)).to_be_visible()
    expect(phone.locator(".flash")).to_contain_text("Claimed!")
    expect(phone.locator("header .who")).to_have_text("proof@example.com")
    assert server.api.get(batch["id"])["metrics"]["claimed"] == 1
    code = phone.locator(".voucher .code").inner_text()
    phone.get_by_role("link", name="My vouchers", exact=True).click()
    expect(_card(phone, "Proven promo").locator(".code")).to_have_text(code)

    phone.goto(mail.link)  # once only
    expect(phone.get_by_role("alert")).to_contain_text("This sign-in has been used already")

    other = browser.new_context(base_url=server.url)  # the same address typed, without the mail
    stranger = other.new_page()
    stranger.goto("/my/sign-in")
    stranger.get_by_label("E-mail address").fill("proof@example.com")
    stranger.get_by_role("button", name="Send me a sign-in link").click()
    expect(stranger.get_by_role("heading", name="Check your mail")).to_be_visible()
    stranger.goto("/my/vouchers")
    expect(stranger).to_have_url(re.compile(r"/my/sign-in\?next=/my/vouchers"))
    stranger.goto(f"/claim/{batch['claim_token']}")
    expect(stranger.get_by_role("button", name="Sign in to claim")).to_be_visible()
    assert code not in stranger.content()
    other.close()


def test_sign_in_on_the_claim_page_claim_and_see_it_again(phone, server, shot):
    batch = _batch(server, identifier="Spring treats", description="£5 off when you spend £20 in May.")
    response = phone.goto(f"/claim/{batch['claim_token']}")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    expect(phone.get_by_role("heading", name="Spring treats", level=1)).to_be_visible()
    expect(phone.get_by_text("£5 off when you spend £20 in May.")).to_be_visible()
    _fits_the_phone(phone)
    shot(phone, "member-claim")

    code = _claim_on_page(phone, server, batch, "Ann@Example.com")
    cookie = next(c for c in phone.context.cookies() if c["name"] == MEMBER_COOKIE)
    assert (
        cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/" and not cookie["secure"]
    )
    assert cookie["value"] not in phone.content()  # the session token is never written into a page
    [claimed] = server.api.vouchers(batch["id"], claimed="true")
    assert claimed["code"] == code and claimed["claim"]["member_id"] == "ann@example.com"
    expect(phone.locator("header .who")).to_have_text("ann@example.com")
    shot(phone, "member-claimed")

    phone.goto(f"/claim/{batch['claim_token']}")  # a second visit: the same voucher, no second claim
    expect(phone.get_by_text("You have already claimed a voucher from this promotion")).to_be_visible()
    expect(phone.locator(".voucher .code")).to_have_text(code)
    expect(phone.get_by_role("button", name="Claim voucher")).to_have_count(0)
    _fits_the_phone(phone)
    shot(phone, "member-claim-again")
    assert server.api.get(batch["id"])["metrics"]["claimed"] == 1


def test_signed_in_member_claims_with_one_tap(phone, server):
    first, second = _batch(server, identifier="First offer"), _batch(server, identifier="Second offer")
    _claim_on_page(phone, server, first, "tap@example.com")
    phone.goto(f"/claim/{second['claim_token']}")
    expect(phone.get_by_text("Signed in as tap@example.com.")).to_be_visible()
    expect(phone.get_by_label("E-mail address")).to_have_count(0)
    phone.get_by_role("button", name="Claim voucher").click()
    expect(phone.locator(".flash")).to_contain_text("Claimed!")
    assert server.api.vouchers(second["id"], claimed="true")[0]["claim"]["member_id"] == "tap@example.com"


def test_paused_claim_page_has_no_claim_button(phone, server, shot):
    batch = _batch(server, identifier="Paused promo", description="Back soon.")
    server.api.call("POST", f"/batches/{batch['id']}/pause", 200)
    phone.goto(f"/claim/{batch['claim_token']}")
    expect(phone.get_by_role("heading", name="Paused promo", level=1)).to_be_visible()
    expect(phone.get_by_text("Back soon.")).to_be_visible()
    expect(phone.get_by_role("status")).to_have_text("Promotion temporarily paused")
    expect(phone.get_by_role("button", name="Sign in to claim")).to_have_count(0)
    expect(phone.get_by_role("link", name="Back to Home")).to_be_visible()
    shot(phone, "member-claim-paused")
    server.api.call("POST", f"/batches/{batch['id']}/resume", 200)  # silent resume: the page is open again
    phone.reload()
    expect(phone.get_by_role("button", name="Sign in to claim")).to_be_visible()


def test_sold_out_claim_page(phone, server, shot):
    batch = _batch(server, 1, identifier="Tiny promo")
    server.api.claim(batch, "first@example.com")
    phone.goto(f"/claim/{batch['claim_token']}")
    expect(phone.get_by_role("status")).to_have_text("No vouchers available")
    expect(phone.get_by_role("button", name="Sign in to claim")).to_have_count(0)
    shot(phone, "member-claim-sold-out")
    assert phone.goto("/claim/no-such-token").status == 404
    expect(phone.get_by_role("alert")).to_contain_text("This claim link is not valid")


def test_my_vouchers_show_codes_a_till_can_read(phone, server, shot):
    batch = _batch(server, min_purchase="£20", identifier="Wallet promo")
    code = _claim_on_page(phone, server, batch, "wallet@example.com")
    phone.get_by_role("link", name="My vouchers", exact=True).click()
    expect(phone.get_by_role("heading", name="My vouchers")).to_be_visible()
    card = _card(phone, "Wallet promo")
    expect(card.locator(".value")).to_have_text("£5 off")
    expect(card.locator("dl")).to_contain_text("Minimum purchase£20")
    expect(card.locator("dl")).to_contain_text("StatusUnused")
    expect(card.locator(".code")).to_have_text(code)
    qr = card.get_by_role("img", name=f"QR code of voucher {code}")
    barcode = card.get_by_role("img", name=f"Barcode (Code 128) of voucher {code}")
    for image in (qr, barcode):
        expect(image).to_be_visible()
        assert image.evaluate("i => i.complete && i.naturalWidth") > 0
    assert qr.bounding_box()["width"] >= 300  # CSS pixels on a 390-wide screen: easy for a webcam
    assert qr.evaluate("i => i.naturalWidth") >= 500
    assert _read_barcodes(phone, qr.get_attribute("src")) == [("QRCode", normalise(code))]
    assert _read_barcodes(phone, barcode.get_attribute("src")) == [("Code128", normalise(code))]
    _fits_the_phone(phone)
    shot(phone, "member-my-vouchers")

    other = phone.context.browser.new_context(base_url=server.url)  # another member sees none of it
    stranger = other.new_page()
    _sign_in(stranger, server, "stranger@example.com")
    expect(stranger.get_by_text("You have no vouchers yet.")).to_be_visible()
    assert stranger.request.get(qr.get_attribute("src")).status == 404
    assert stranger.goto(qr.get_attribute("src").replace("qr.png", "mark-used")).status == 404
    other.close()


def test_mark_as_used_is_a_redemption_head_office_and_tills_see(phone, server, shot):
    api = server.api
    api.store("york")
    till = api.device("york", "till-y")
    batch = _batch(server, identifier="Mark me")
    code = _claim_on_page(phone, server, batch, "marker@example.com")
    phone.goto("/my/vouchers")
    card = _card(phone, "Mark me")
    card.get_by_role("button", name="MARK AS USED").click()
    expect(phone.get_by_role("heading", name="Mark this voucher as used?")).to_be_visible()
    _fits_the_phone(phone)
    shot(phone, "member-mark-used")
    phone.get_by_role("button", name="Yes, mark as used").click()
    expect(phone.locator(".flash")).to_have_text("Marked as used. Thank you!")
    card = _card(phone, "Mark me")
    expect(card.locator("dl")).to_contain_text("StatusUsed")
    expect(card.locator(".used-at")).to_contain_text(
        re.compile(r"\d{1,2} \w{3} \d{4} at \d\d:\d\d UTC, marked used")
    )
    expect(card.get_by_role("button", name="MARK AS USED")).to_have_count(0)
    shot(phone, "member-my-vouchers-used")

    metrics = api.get(batch["id"])["metrics"]
    assert (metrics["claimed"], metrics["redeemed"], metrics["redemption_rate"]) == (1, 1, 100.0)
    voucher = api.call("GET", f"/vouchers/{code}", 200).json()
    assert voucher["status"] == "used" and voucher["redemption"]["at"] is not None
    [event] = voucher["history"]
    assert (
        event["kind"],
        event["member_id"],
        event["store_id"],
        event["device_id"],
        event["result"]["outcome"],
    ) == ("redeem", "marker@example.com", None, None, "accepted")
    snapshot = api.call("GET", "/sync/snapshot?cursor=0&limit=50000", 200, token=till["token"]).json()
    [row] = [v for v in snapshot["vouchers"] if v["id"] == voucher["id"]]
    assert row["status"] == "used" and row["used_at"] is not None

    phone.go_back()  # the confirmation page again: nothing is left to confirm
    phone.reload()
    expect(phone.get_by_role("button", name="Yes, mark as used")).to_have_count(0)
    assert len(api.call("GET", f"/vouchers/{code}", 200).json()["history"]) == 1


def test_mark_as_used_only_where_seed_002_allows_it(phone, server):
    api = server.api
    member = "statuses@example.com"
    names = {}
    for initial in ("issued", "pending", "used"):
        names[initial] = _batch(server, identifier=f"Status {initial}", initial_status=initial)
        api.claim(names[initial], member)
    locked = _batch(server, identifier="Status locked", state="locked")
    api.claim(locked, member)
    _sign_in(phone, server, member)
    words = {"issued": "Issued", "pending": "Pending further processing", "used": "Used"}
    for initial, word in words.items():
        card = _card(phone, f"Status {initial}")
        expect(card.locator("dl")).to_contain_text(f"Status{word}")
        expect(card.get_by_role("button", name="MARK AS USED")).to_have_count(0)
    expect(_card(phone, "Status used").locator(".used-at")).to_contain_text(
        "Given as used when you claimed it"
    )
    locked_card = _card(phone, "Status locked")
    expect(locked_card.locator("dl")).to_contain_text("StatusUnused")
    expect(locked_card.locator(".notice")).to_have_text(
        "This promotion is on hold. The voucher cannot be used right now."
    )
    expect(locked_card.get_by_role("button", name="MARK AS USED")).to_have_count(0)

    issued = api.vouchers(names["issued"]["id"], claimed="true")[0]  # and the server refuses it anyway
    response = phone.request.post(f"/my/vouchers/{issued['id']}/mark-used", form={"csrf_token": _csrf(phone)})
    assert response.status == 409 and "this one is issued" in response.text()
    assert api.call("GET", f"/vouchers/{issued['code']}", 200).json()["status"] == "issued"


def test_forms_without_their_token_are_refused(phone, server):
    api = server.api
    batch = _batch(server, identifier="CSRF promo")
    refused = phone.request.post(f"/claim/{batch['claim_token']}", form={"email": "csrf@example.com"})
    assert refused.status == 403 and "expired" in refused.text()
    assert not any(c["name"] == MEMBER_COOKIE for c in phone.context.cookies())
    refused = phone.request.post("/my/sign-in", form={"email": "csrf@example.com", "sign_in_token": "x" * 32})
    assert refused.status == 403 and not any(c["name"] == MEMBER_COOKIE for c in phone.context.cookies())
    assert api.get(batch["id"])["metrics"]["claimed"] == 0

    _claim_on_page(phone, server, batch, "csrf@example.com")
    [voucher] = api.vouchers(batch["id"], claimed="true")
    url = f"/my/vouchers/{voucher['id']}/mark-used"
    for form, headers in (
        ({}, {}),
        ({"csrf_token": "guessed"}, {}),
        ({"csrf_token": _csrf(phone)}, {"Origin": "https://evil.example"}),
    ):
        response = phone.request.post(url, form=form, headers=headers)
        assert response.status == 403 and "did not come from this site" in response.text()
    refused = phone.request.post("/my/sign-out", form={})
    assert refused.status == 403
    assert api.call("GET", f"/vouchers/{voucher['code']}", 200).json()["status"] == "unused"
    phone.goto("/my/vouchers")
    expect(
        _card(phone, "CSRF promo").get_by_role("button", name="MARK AS USED")
    ).to_be_visible()  # still signed in


def test_member_and_staff_sessions_are_kept_apart(phone, context, server):
    _sign_in(phone, server, "apart@example.com")
    member_token = next(c for c in phone.context.cookies() if c["name"] == MEMBER_COOKIE)["value"]
    phone.goto("/dashboard/batches")
    expect(phone).to_have_url(re.compile(r"/dashboard/sign-in\?next="))
    phone.context.add_cookies(
        [{"name": "voucher_session", "value": member_token, "url": server.url + "/dashboard"}]
    )
    phone.goto("/dashboard/batches")  # not even as the dashboard's cookie
    expect(phone).to_have_url(re.compile(r"/dashboard/sign-in\?next="))

    staff_page = context.new_page()
    staff_page.goto("/dashboard/batches")
    expect(staff_page.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    staff_token = next(c for c in context.cookies() if c["name"] == "voucher_session")["value"]
    staff_page.goto("/my/vouchers")
    expect(staff_page).to_have_url(re.compile(r"/my/sign-in\?next="))
    context.add_cookies([{"name": MEMBER_COOKIE, "value": staff_token, "url": server.url}])
    staff_page.goto("/my/vouchers")
    expect(staff_page).to_have_url(re.compile(r"/my/sign-in\?next="))


def test_sign_out_ends_the_member_session(phone, server, shot):
    _sign_in(phone, server, "leaver@example.com")
    cookies = phone.context.cookies()
    phone.get_by_role("button", name="Sign out").click()
    expect(phone.locator(".flash")).to_have_text("You are signed out.")
    expect(phone.get_by_role("heading", name="Sign in to see your vouchers")).to_be_visible()
    shot(phone, "member-sign-in")
    phone.context.add_cookies(cookies)  # an old copy of the cookie no longer works either
    phone.goto("/my/vouchers")
    expect(phone).to_have_url(re.compile(r"/my/sign-in\?next=/my/vouchers"))


@pytest.mark.parametrize("address", ["not an address", ""])
def test_sign_in_asks_for_an_email_address(phone, server, address):
    phone.goto("/my/sign-in")
    phone.get_by_label("E-mail address").fill(address)
    phone.get_by_role("button", name="Send me a sign-in link").click()
    expect(phone.get_by_role("alert")).to_have_text("Enter your e-mail address, such as name@example.com.")
    expect(phone.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "true")


# A phone's CSS pixel is about 0.16 mm (390 of them across a 62-64 mm screen); the till's 720p
# webcam (a 65° field, focal length 1000 px) sees 1000 / d pixels per mm at d mm.
MM_PER_CSS_PX = 0.16
CAMERA_FOCAL_PX = 1000


def _as_the_camera_sees_it(plate_png: bytes, device_px_per_css_px: float, distance_mm: float) -> np.ndarray:
    """The plate's screenshot scaled to what the till's camera gets of it at `distance_mm`, a
    little soft, on a grey 1280×720 frame."""
    image = cv2.imdecode(np.frombuffer(plate_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    scale = MM_PER_CSS_PX * CAMERA_FOCAL_PX / distance_mm / device_px_per_css_px
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280), 90, np.uint8)
    h, w = small.shape
    frame[(720 - h) // 2 : (720 - h) // 2 + h, (1280 - w) // 2 : (1280 - w) // 2 + w] = small
    return cv2.GaussianBlur(frame, (0, 0), 0.8)


def _till_reads(frame: np.ndarray) -> list[str]:
    """What the till's camera reader (its first decoder) reads of one frame."""
    from kiosk.scanner import DecoderChain

    return [r.text for r in DecoderChain.from_names().read(frame)]


def test_in_dark_mode_the_codes_stay_dark_on_light_at_a_size_the_till_reads(phone, server, shot):
    batch = _batch(server, identifier="Dark promo")
    code = normalise(_claim_on_page(phone, server, batch, "dark@example.com"))
    phone.emulate_media(color_scheme="dark")
    phone.goto("/my/vouchers")
    card = _card(phone, "Dark promo")
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)", "the page follows the phone's dark theme"
    expect(card.locator(".brightness")).to_have_text("Turn your screen brightness up before you show a code.")
    qr_plate, bar_plate = card.locator("figure.qr"), card.locator("figure.code128")
    dpr = phone.evaluate("devicePixelRatio")
    for plate in (qr_plate, bar_plate):
        image = cv2.imdecode(np.frombuffer(plate.screenshot(), np.uint8), cv2.IMREAD_GRAYSCALE)
        # inside the plate's edges (the screenshot rounds them out) and away from its rounded corners
        middle = image[4:-4, image.shape[1] // 4 : 3 * image.shape[1] // 4]
        assert middle[:4].min() > 240 and middle[-4:].min() > 240, "a white plate around the code"
        # dark modules on light: read without zxing-cpp's invert option
        assert [r.text for r in zxingcpp.read_barcodes(image, try_invert=False)] == [code]
    _fits_the_phone(phone)
    shot(phone, "member-my-vouchers-dark")

    # The QR from 40 cm: at least 3 camera pixels a module, and the till's reader reads it.
    modules = len(list(segno.make_qr(code, error="m").matrix)) + 8
    qr_width = card.locator("figure.qr img").bounding_box()["width"]
    assert qr_width * MM_PER_CSS_PX * CAMERA_FOCAL_PX / 400 / modules >= 3
    assert _till_reads(_as_the_camera_sees_it(qr_plate.screenshot(), dpr, 400)) == [code]

    # The Code 128 spans the screen; turned sideways, 4 CSS px a bar (0.64 mm): the reader reads it at 30 cm.
    bars = np.asarray(
        zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.Code128))
    ).shape[1]
    upright = card.locator("figure.code128 img").bounding_box()["width"] / bars
    assert upright >= 1.8  # the scanner's: 0.29 mm a bar
    phone.set_viewport_size({"width": 844, "height": 390})
    sideways = card.locator("figure.code128 img").bounding_box()["width"] / bars
    assert sideways == 4
    assert _till_reads(_as_the_camera_sees_it(bar_plate.screenshot(), dpr, 300)) == [code]
    shot(phone, "member-my-vouchers-dark-sideways")


def _luminance(css: str) -> float:
    """The relative luminance (WCAG) of a computed colour, rgb(…) or rgba(…)."""
    r, g, b = (int(float(x)) / 255 for x in re.findall(r"[\d.]+", css)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


FRENCH_PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "fr-FR",
    "timezone_id": "Europe/Paris",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_french_phone_reads_the_pages_in_french_and_the_chooser_switches_them(browser, server, scheme):
    """A phone set to French gets French pages, times written again in its zone in French; the
    chooser (four languages in their own names, each a 44 px tap target, readable in light and dark
    mode) switches to German, and the choice stays on the next pages."""
    batch = _batch(server, identifier=f"Offre {scheme}")
    context = browser.new_context(base_url=server.url, color_scheme=scheme, **FRENCH_PHONE)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(f"/claim/{batch['claim_token']}")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        chooser = page.get_by_role("navigation", name="Langue")
        expect(chooser.get_by_role("link")).to_have_text(["English", "Français", "Deutsch", "Español"])
        expect(chooser.get_by_role("link", name="Français")).to_have_attribute("aria-current", "true")
        for link in chooser.get_by_role("link").all():
            box = link.bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44 and box["x"] + box["width"] <= 390
            ink, ground = link.evaluate(
                "a => [getComputedStyle(a).color, getComputedStyle(a.closest('.languages')).backgroundColor]"
            )
            assert _contrast(ink, ground) >= 4.5, (scheme, ink, ground)
        chooser.get_by_role("link", name="Deutsch").focus()
        assert (
            chooser.get_by_role("link", name="Deutsch").evaluate("a => getComputedStyle(a).outlineStyle")
            != "none"
        )
        _fits_the_phone(page)

        email = f"telephone-{scheme}@example.com"
        page.get_by_label("Adresse e-mail").fill(email)
        page.get_by_role("button", name="Se connecter pour obtenir le bon").click()
        expect(page.get_by_role("heading", name="Consultez vos e-mails")).to_be_visible()
        mail = server.mail.last_to(email)
        assert mail.subject == "Votre lien de connexion à vos bons"
        page.get_by_label("Code reçu par e-mail").fill(
            re.search(r":\s*(\d{6})\s*$", mail.text, re.MULTILINE).group(1)
        )
        page.get_by_role("button", name="Se connecter et obtenir le bon").click()
        expect(page.locator(".flash")).to_contain_text("C'est fait !")
        claimed = page.locator(".voucher time[data-local]").last
        instant = datetime.fromisoformat(claimed.get_attribute("datetime")).astimezone(
            ZoneInfo("Europe/Paris")
        )
        month = format_date(instant, "MMM", locale="fr")
        expect(claimed).to_have_text(
            re.compile(rf"^{instant.day} {re.escape(month)} {instant.year} à {instant:%H:%M} UTC\+\d$")
        )
        assert claimed.get_attribute("title").endswith(" UTC")

        page.get_by_role("navigation", name="Langue").get_by_role("link", name="Deutsch").click()
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.get_by_role("link", name="Alle meine Gutscheine")).to_be_visible()
        expect(page.locator(".voucher time[data-local]").last).to_have_text(
            re.compile(r"^\d{1,2}\. \S+ \d{4} um \d\d:\d\d ")
        )
        page.get_by_role("link", name="Meine Gutscheine", exact=True).click()  # the cookie keeps the choice
        expect(page.get_by_role("heading", name="Meine Gutscheine")).to_be_visible()
        expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    finally:
        context.close()
