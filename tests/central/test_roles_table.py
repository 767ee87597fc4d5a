"""The admin API refuses by role exactly what vouchers/roles.py's table says, as the dashboard offers
(tests/web/test_web_roles.py): for every action of the table that the API has, a viewer's, a
campaigns' and an admin's token each get 403 role-refused precisely when the table says no. The
ids are made up, so an allowed call ends in 404 or 422 and changes nothing."""

from __future__ import annotations

import pytest
from support.api import staff_token

from vouchers.roles import NEEDS, Role, may

NOBODY = "b_NOSUCHBATCH"
API = {  # an action of the table: (method, path, body) of the API doing it
    "batch.create": ("POST", "/batches", {}),
    "batch.edit": ("PATCH", f"/batches/{NOBODY}", {}),
    "batch.types": ("POST", f"/batches/{NOBODY}/types", {}),
    "batch.validate": ("POST", f"/batches/{NOBODY}/validate", None),
    "batch.generate": ("POST", f"/batches/{NOBODY}/generate", None),
    "batch.configure": ("POST", f"/batches/{NOBODY}/configure", None),
    "batch.distribute": ("POST", f"/batches/{NOBODY}/distribute", None),
    "batch.redeemable": ("POST", f"/batches/{NOBODY}/redeemable", None),
    "batch.lock": ("POST", f"/batches/{NOBODY}/lock", None),
    "batch.pause": ("POST", f"/batches/{NOBODY}/pause", None),
    "batch.resume": ("POST", f"/batches/{NOBODY}/resume", None),
    "batch.void": ("POST", f"/batches/{NOBODY}/void", None),
    "batch.delete": ("DELETE", f"/batches/{NOBODY}", None),
    "claim.on-behalf": (
        "POST",
        "/claims",
        {"claim_token": "no-such-claim-token", "member_id": "m@example.com"},
    ),
    "problem.review": ("POST", "/problems/no-such-event/review", {}),
    "voucher.status": ("POST", "/vouchers/NOSUCH/status", {}),
    "store.create": ("POST", "/stores", {}),
    "store.enrolment-code": ("POST", "/stores/no-such-store/enrolment-codes", None),
    "store.locale": ("PATCH", "/stores/no-such-store", {"locale": "fr"}),
    "device.revoke": ("POST", "/devices/d_NOSUCH/revoke", None),
    "staff.manage": ("GET", "/staff", None),
    "integration.manage": ("POST", "/integration-tokens/i_NOSUCH/revoke", None),
    "audit.read": ("GET", "/audit?limit=1", None),
}
DASHBOARD_ONLY = {"token.own"}  # (a personal token is made on the dashboard or the server's host)


def test_every_action_of_the_table_is_checked_here():
    assert set(API) | DASHBOARD_ONLY == set(NEEDS)


@pytest.mark.parametrize("role", list(Role))
def test_the_api_refuses_by_role_what_the_table_refuses(api, client, role):
    token = staff_token(client.app.state.context.db, f"{role.value}@roles.example", role.value)
    for what, (method, path, body) in API.items():
        answer = api.call(method, path, token=token, **({} if body is None else {"json": body}))
        refused = answer.status_code == 403 and answer.json()["type"].endswith("role-refused")
        assert refused == (not may(role, what)), (role.value, what, answer.status_code, answer.text)
        assert answer.status_code < 500
