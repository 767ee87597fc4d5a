"""The dashboard's staff pages over HTTP on the real app (SQLite and PostgreSQL): the last admin keeps
the role in words, never a traceback; every change names its author in the audit log; secrets stay
out of the log; forms without the session's CSRF token change nothing."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from support.api import CHEAP_HASHES

from central.db.schema import audit_log
from central.services import staff

ADMIN, PASSWORD = "only.admin@example.com", "the only admin's password"


def _signed_in(client: TestClient, email: str = ADMIN, password: str = PASSWORD) -> str:
    """Sign `client` in to the dashboard; the session's CSRF token."""
    page = client.get("/dashboard/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/dashboard/sign-in",
        data={"email": email, "password": password, "sign_in_token": token, "next": "/dashboard/staff"},
    )
    assert done.status_code == 200, done.text
    return re.search(r'name="csrf-token" content="([^"]+)"', done.text).group(1)


def _log(client) -> list:
    with client.app.state.context.db.read() as conn:
        return conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings().all()


def test_the_only_admin_cannot_demote_or_disable_themselves_and_is_told_why(client):
    with client.app.state.context.db.write() as conn:
        staff.add(conn, ADMIN, PASSWORD, log2_n=CHEAP_HASHES)
    csrf = _signed_in(client)
    before = len(_log(client))
    for path, form in (
        ("/dashboard/staff/role", {"role": "viewer"}),
        ("/dashboard/staff/state", {"disabled": "yes"}),
    ):
        refused = client.post(path, data={"csrf_token": csrf, "email": ADMIN, **form})
        assert refused.status_code == 409, refused.text
        assert (
            "only.admin@example.com is the last enabled admin" in refused.text
            and "Traceback" not in refused.text
        )
    assert len(_log(client)) == before
    with client.app.state.context.db.read() as conn:
        assert [(a.role, a.disabled_at) for a in staff.list_all(conn)] == [("admin", None)]


def test_staff_changes_on_the_dashboard_are_logged_with_their_author_and_no_secret(client):
    with client.app.state.context.db.write() as conn:
        staff.add(conn, ADMIN, PASSWORD, log2_n=CHEAP_HASHES)
    csrf = _signed_in(client)
    added = client.post(
        "/dashboard/staff",
        data={
            "csrf_token": csrf,
            "email": "Second@Example.com",
            "password": "second's own password",
            "role": "admin",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"].startswith(
        "/dashboard/staff?done=staff-added"
    )
    unchanged = client.post(
        "/dashboard/staff/role",
        data={"csrf_token": csrf, "email": "second@example.com", "role": "admin"},
        follow_redirects=False,
    )
    assert unchanged.headers["location"] == "/dashboard/staff?done=unchanged"
    demoted = client.post(
        "/dashboard/staff/role",
        data={"csrf_token": csrf, "email": ADMIN, "role": "campaigns"},
        follow_redirects=False,
    )  # allowed now: second@example.com is an admin
    assert demoted.headers["location"] == "/dashboard/staff?done=staff-role"
    assert client.get("/dashboard/staff").status_code == 403  # a campaigns role, at once, in this session
    made = client.post("/dashboard/tokens", data={"csrf_token": csrf, "name": "laptop", "days": "7"})
    assert made.status_code == 201
    secret = re.search(r"data-new-token>([^<]+)<", made.text).group(1)
    log = _log(client)
    assert [(e["actor"], e["action"], e["entity_id"]) for e in log] == [
        (ADMIN, "staff.add", "second@example.com"),
        (ADMIN, "staff.role", ADMIN),
        (ADMIN, "token.create", log[-1]["entity_id"]),
    ]
    assert all(e["actor_kind"] == "staff" and e["address"] for e in log)
    text = repr([dict(e) for e in log])
    assert secret not in text and "second's own password" not in text


def test_forms_without_the_sessions_csrf_token_change_nothing(client):
    with client.app.state.context.db.write() as conn:
        staff.add(conn, ADMIN, PASSWORD, log2_n=CHEAP_HASHES)
        staff.add(conn, "vic@example.com", "vic's own password", role="viewer", log2_n=CHEAP_HASHES)
    _signed_in(client)
    for path, form in (
        ("/dashboard/staff", {"email": "x@example.com", "password": "long enough pw", "role": "admin"}),
        ("/dashboard/staff/role", {"email": "vic@example.com", "role": "admin"}),
        ("/dashboard/staff/state", {"email": "vic@example.com", "disabled": "yes"}),
        ("/dashboard/tokens", {"name": "x", "days": "5"}),
        ("/dashboard/integrations", {"name": "x"}),
    ):
        assert client.post(path, data={"csrf_token": "forged", **form}).status_code == 403, path
    assert _log(client) == []
