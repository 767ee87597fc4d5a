"""The dashboard in a real browser: headless Chromium (one per session) driving the real server
(one uvicorn server thread per module, on loopback, with a real SQLite file).

Each test gets a fresh browser context already signed in (the module signs in once through the
sign-in page and reuses its cookies), and leaves a screenshot of where it ended in
test-artifacts/web/.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from support.api import CHEAP_HASHES, Api, make_settings, staff_token
from support.mailbox import MailServer
from support.web import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, EMAIL, PASSWORD, DashboardServer, fill_sign_in

from central.app import create_app
from central.db.engine import Database
from central.db.schema import audit_log, utcnow
from central.services import staff
from harness import free_port

playwright_api = pytest.importorskip("playwright.sync_api")

# A staff POST that answers with one of these changed nothing, so the audit log has nothing of it.
NO_CHANGE = ("done=review-needs-note", "done=already-reviewed", "done=unchanged")


class StaffActions:
    """Wraps the app: notes every state-changing dashboard request (a POST under /dashboard other
    than signing in and out), who sent it, its answer and when, so that the module can check at its
    end that each one that changed something is in the audit log with its author (issue 13)."""

    def __init__(self, app, db: Database) -> None:
        self.app, self.db = app, db
        self.seen: list[tuple[str, str | None, int, str, datetime, datetime]] = []

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not path.startswith("/dashboard/")
            or path in ("/dashboard/sign-in", "/dashboard/sign-out")
        ):
            return await self.app(scope, receive, send)
        cookies = SimpleCookie(dict(scope["headers"]).get(b"cookie", b"").decode())
        token = cookies["voucher_session"].value if "voucher_session" in cookies else None
        with self.db.read() as conn:
            session = staff.session_for(conn, token) if token else None
        answer: dict = {}

        async def spy(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["location"] = dict(message.get("headers", [])).get(b"location", b"").decode()
            await send(message)

        start = utcnow()
        await self.app(scope, receive, spy)
        self.seen.append(
            (
                path,
                session.email if session else None,
                answer.get("status", 0),
                answer.get("location", ""),
                start,
                utcnow(),
            )
        )

    def check_audited(self) -> None:
        with self.db.read() as conn:
            rows = conn.execute(select(audit_log.c.actor, audit_log.c.actor_kind, audit_log.c.at)).all()
        for path, author, status, location, start, end in self.seen:
            if status >= 400 or any(marker in location for marker in NO_CHANGE):
                continue
            assert author is not None, f"POST {path} answered {status} without a staff session"
            assert any(
                r.actor == author and r.actor_kind == "staff" and start <= r.at <= end for r in rows
            ), f"POST {path} by {author} (answered {status}) is not in the audit log"


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a thread may not; the test process keeps its own
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One Chromium per module: Playwright's sync API keeps an event loop running in this thread
    while it is open, and other modules' tests (Textual's snapshots) start event loops of their own."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set VOUCHER_TEST_CHROMIUM)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[DashboardServer]:
    path = tmp_path_factory.mktemp("dashboard") / "central.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    mail = MailServer().start()
    settings = make_settings(
        f"sqlite:///{path}", public_url=url, generation_chunk=200, sign_in_max_failures=3, **mail.settings()
    )
    app = create_app(settings)
    db = Database(settings.database_url)
    recorder = StaffActions(app, db)
    uv = _ThreadServer(uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, name="dashboard-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:  # the server's start-up, not a test's synchronisation
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.01)
    with db.write() as conn:
        staff.add(conn, EMAIL, PASSWORD, log2_n=CHEAP_HASHES)
    token = staff_token(db)
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    yield DashboardServer(url=url, db=db, api=Api(client, token), app=app, mail=mail.keeper)
    client.close()
    uv.should_exit = True
    thread.join(15)
    try:
        recorder.check_audited()  # every staff action of the module's tests is in the audit log, with its author
    finally:
        db.dispose()
        mail.stop()


@pytest.fixture(scope="module")
def signed_in_state(browser, server) -> dict:
    context = browser.new_context()
    page = context.new_page()
    fill_sign_in(page, server)
    playwright_api.expect(page.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    state = context.storage_state()
    context.close()
    return state


def _artifact_name(request) -> Path:
    module = Path(request.node.fspath).stem
    return ARTIFACTS / module / (re.sub(r"[^\w.-]+", "_", request.node.name) + ".png")


@pytest.fixture
def context(browser, server, signed_in_state, request) -> Iterator:
    ctx = browser.new_context(
        storage_state=signed_in_state,
        accept_downloads=True,
        base_url=server.url,
        viewport={"width": 1280, "height": 900},
    )
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    ctx.set_default_timeout(
        30_000
    )  # a page load on a busy two-core machine (two suites at once) took over 10 s
    yield ctx
    for i, p in enumerate(ctx.pages):
        if not p.is_closed() and p.url.startswith(server.url):
            target = _artifact_name(request)
            target = target.with_name(f"{target.stem}{'' if i == 0 else f'-tab{i}'}.png")
            target.parent.mkdir(parents=True, exist_ok=True)
            p.screenshot(path=str(target), full_page=True)
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def _fresh_page(browser, server, request, **options) -> Iterator:
    """A page in a context signed in nowhere; it leaves a screenshot of where it ended."""
    ctx = browser.new_context(base_url=server.url, **options)
    ctx.set_default_timeout(
        30_000
    )  # a page load on a busy two-core machine (two suites at once) took over 10 s
    page = ctx.new_page()
    yield page
    target = _artifact_name(request)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not page.is_closed():
        page.screenshot(path=str(target), full_page=True)
    ctx.close()


@pytest.fixture
def anonymous(browser, server, request) -> Iterator:
    """A page in a context that has not signed in."""
    yield from _fresh_page(browser, server, request, viewport={"width": 1280, "height": 900})


@pytest.fixture
def shot():
    """shot(page, name): a screenshot of one page of the dashboard, kept in test-artifacts/web/pages/."""

    def take(page, name: str) -> None:
        target = ARTIFACTS / "pages" / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)

    return take


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture
def phone(browser, server, request) -> Iterator:
    """A page the size of a phone (390×844), in a fresh context signed in nowhere; it leaves a
    screenshot of where it ended in test-artifacts/web/, as the other fixtures do."""
    yield from _fresh_page(browser, server, request, **PHONE)
