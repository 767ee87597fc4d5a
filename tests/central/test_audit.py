"""Personal staff identity (issue 13): roles, personal API tokens, the admin token only
bootstrapping, and the audit log of every change (append-only in the database itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text
from support.api import ADMIN_TOKEN, CHEAP_HASHES, staff_token

from harness import ServerProcess

CLI = str(Path(sys.executable).parent / "voucher-central")


def _db(client):
    return client.app.state.context.db


def test_every_change_through_the_api_is_in_the_audit_log_with_who_from_where_before_and_after(api, client):
    api.store("leeds")
    batch = api.batch(3, state="distributed", identifier="Logged", initial_status="pending")
    code = api.claim(batch, "ann@example.com")["code"]
    api.call("POST", f"/batches/{batch['id']}/pause", 200)
    api.call("POST", f"/vouchers/{code}/status", 200, json={"status": "unused", "reason": "checked"})
    entries = api.call("GET", "/audit", 200, params={"limit": 100}).json()
    actions = [e["action"] for e in reversed(entries)]
    assert actions[:1] == ["store.create"] and "batch.create" in actions and "batch.type-add" in actions
    assert actions[-3:] == ["claim.on-behalf", "batch.pause", "voucher.status"]
    assert {(e["actor"], e["actor_kind"], e["address"]) for e in entries} == {
        ("admin@tests.example", "staff", "testclient")
    }
    paused = next(e for e in entries if e["action"] == "batch.pause")
    assert (paused["before"]["claims"], paused["after"]["claims"]) == ("active", "paused")
    status = next(e for e in entries if e["action"] == "voucher.status")
    assert (status["before"]["status"], status["after"]["status"]) == ("pending", "unused")
    history = api.call("GET", f"/vouchers/{code}", 200).json()["history"]
    assert (
        history[-1]["kind"] == "status" and history[-1]["author"] == "admin@tests.example"
    )  # the ledger's author
    only = api.call("GET", "/audit", 200, params={"entity": batch["id"], "action": "batch.p"}).json()
    assert [e["action"] for e in only] == ["batch.pause"]
    csv_text = api.call("GET", "/audit", 200, params={"format": "csv", "entity": batch["id"]}).text
    assert csv_text.splitlines()[0].startswith("id,at,actor,actor_kind,address,action")


def test_the_audit_log_cannot_be_changed_or_deleted(api, client):
    api.store("s1")
    db = _db(client)
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), db.write() as conn:
            conn.execute(text(statement))
    with db.read() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["admin@tests.example"]


def test_roles_decide_what_a_token_may_change(api, client):
    batch = api.batch(3, state="distributed")
    viewer = staff_token(_db(client), "viewer@example.com", "viewer")
    campaigns = staff_token(_db(client), "campaigns@example.com", "campaigns")
    assert api.call("GET", "/batches", 200, token=viewer).json()
    refused = api.call("POST", f"/batches/{batch['id']}/pause", 403, token=viewer).json()
    assert refused["type"].endswith("role-refused") and (refused["role"], refused["needed"]) == (
        "viewer",
        "campaigns",
    )
    assert refused["detail"] == (
        f"POST /api/v1/batches/{batch['id']}/pause needs the campaigns role; yours is viewer. "
        "Ask an admin of head office."
    )
    api.call("POST", f"/batches/{batch['id']}/pause", 200, token=campaigns)
    voiding = api.call("POST", f"/batches/{batch['id']}/void", 403, token=campaigns)  # void, delete: admin
    assert voiding.json()["detail"].startswith("Voiding a batch needs the admin role; yours is campaigns.")
    german = api.call(
        "POST", f"/batches/{batch['id']}/void", 403, token=campaigns, headers={"Accept-Language": "de"}
    )
    assert german.json()["detail"] == (
        "Das Stornieren einer Serie erfordert die Rolle admin; Ihre ist campaigns. "
        "Wenden Sie sich an einen Admin der Zentrale."
    )
    unknown = api.call("GET", "/batches", 401, token="not-a-token", headers={"Accept-Language": "es"}).json()
    assert unknown["detail"] == "El token no es válido, ha caducado o se ha revocado."
    missing = api.call("POST", "/devices/d_nothing/revoke", 404, headers={"Accept-Language": "fr"}).json()
    assert missing["detail"] == "Il n'y a pas d'appareil « d_nothing »."
    api.call("POST", "/stores", 403, token=campaigns, json={"id": "s9", "name": "S9"})
    api.call("GET", "/audit", 403, token=campaigns)
    api.call("POST", f"/batches/{batch['id']}/void", 200)


def test_the_admin_token_only_bootstraps_the_first_account(database_url, mail_server):
    from fastapi.testclient import TestClient
    from support.api import make_settings

    from central.app import create_app

    with TestClient(create_app(make_settings(database_url, **mail_server.settings()))) as client:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        refused = client.get("/api/v1/batches", headers=admin)
        assert (
            refused.status_code == 403
            and "only bootstraps the first staff account" in refused.json()["detail"]
        )
        first = client.post("/api/v1/staff/bootstrap", headers=admin, json={"email": "First@Example.com"})
        assert (
            first.status_code == 201
            and first.json()["role"] == "admin"
            and first.json()["token"].startswith("vks_")
        )
        own = {"Authorization": f"Bearer {first.json()['token']}"}
        assert client.get("/api/v1/batches", headers=own).status_code == 200
        assert (
            client.post("/api/v1/staff/bootstrap", headers=admin, json={"email": "b@example.com"}).status_code
            == 409
        )
        assert (
            client.post("/api/v1/staff/bootstrap", headers=own, json={"email": "c@example.com"}).status_code
            == 401
        )
        [made, token] = client.get("/api/v1/audit", headers=own).json()[::-1]
        assert (made["actor"], made["action"], token["action"]) == (
            "admin token",
            "staff.add",
            "token.create",
        )


def test_staff_tokens_from_the_command_line_and_voucher_central_audit(tmp_path):
    url = f"sqlite:///{tmp_path / 'central.db'}"
    env = {**os.environ, "VOUCHER_PASSWORD_HASH_COST": str(CHEAP_HASHES)}

    def cli(*args, stdin="", extra=None):
        return subprocess.run(
            [CLI, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env={**env, **(extra or {})},
        )

    with ServerProcess(url) as server:
        added = cli("staff", "add", "ann@example.com", "--database", url, stdin="long enough password\n")
        assert added.returncode == 0 and "(admin)" in added.stdout  # the first account
        assert (
            "(viewer)"
            in cli("staff", "add", "bob@example.com", "--database", url, stdin="another password 1\n").stdout
        )
        made = cli(
            "staff",
            "token",
            "create",
            "ann@example.com",
            "--name",
            "laptop",
            "--days",
            "7",
            "--database",
            url,
        )
        token = made.stdout.strip()
        assert made.returncode == 0 and token.startswith("vks_") and "shown this once" in made.stderr
        listed = cli("staff", "token", "list", "--database", url).stdout
        assert "laptop" in listed and token not in listed and "never used" in listed
        as_ann = {"VOUCHER_TOKEN": token, "VOUCHER_SERVER": server.url}
        assert cli("store", "create", "leeds", "Leeds", extra=as_ann).returncode == 0
        log = cli("audit", extra=as_ann)
        assert (
            log.returncode == 0
            and "ann@example.com (staff, 127.0.0.1)  store.create  store leeds" in log.stdout
        )
        assert (
            "staff.add  staff bob@example.com" in log.stdout
            and "(voucher-central on the server)" in log.stdout
        )
        assert "last used " in cli("staff", "token", "list", "ann@example.com", "--database", url).stdout
        token_id = listed.split()[0]
        assert cli("staff", "token", "revoke", token_id, "--database", url).returncode == 0
        revoked = cli("store", "list", extra=as_ann)
        assert revoked.returncode == 1 and "expired or was revoked" in revoked.stderr
