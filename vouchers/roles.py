"""Head-office staff roles (issue 13): what each may do, one rule for the dashboard, the admin API
and the command line.

* viewer: reads everything (batches, vouchers, stores, devices, conflicts, the audit log);
* campaigns: also creates and edits batches and their types, walks batches through the life cycle
  (validate, generate, distribute, redeemable, lock, back to configuring), pauses and resumes
  claims, claims on behalf of a member, and reviews conflicts and rejections;
* admin: also deletes and voids batches, changes a voucher's status, creates stores, issues
  enrolment codes, revokes devices, issues integration tokens and manages staff.

Each role may do everything of the roles before it. `NEEDS` names every action once, with the role
it needs: the server refuses by it (`require_to`) and the dashboard shows only what it allows
(`may`), so the two cannot disagree."""

from __future__ import annotations

from enum import StrEnum

from vouchers.errors import Forbidden


class Role(StrEnum):
    VIEWER = "viewer"
    CAMPAIGNS = "campaigns"
    ADMIN = "admin"


_RANK = {Role.VIEWER: 0, Role.CAMPAIGNS: 1, Role.ADMIN: 2}


# Every action at head office that changes something (or reads what only admins read), by name,
# with the role it needs and how a refusal names it. Batch actions are "batch.<lifecycle action>".
NEEDS: dict[str, tuple[Role, str]] = {
    "batch.create": (Role.CAMPAIGNS, "creating a batch"),
    "batch.edit": (Role.CAMPAIGNS, "editing a batch"),
    "batch.types": (Role.CAMPAIGNS, "changing a batch's types"),
    "batch.validate": (Role.CAMPAIGNS, "validating a batch"),
    "batch.configure": (Role.CAMPAIGNS, "taking a batch back to configuring"),
    "batch.generate": (Role.CAMPAIGNS, "generating vouchers"),
    "batch.distribute": (Role.CAMPAIGNS, "distributing a batch"),
    "batch.redeemable": (Role.CAMPAIGNS, "making a batch redeemable"),
    "batch.lock": (Role.CAMPAIGNS, "locking a batch"),
    "batch.pause": (Role.CAMPAIGNS, "pausing a batch"),
    "batch.resume": (Role.CAMPAIGNS, "resuming a batch"),
    "batch.void": (Role.ADMIN, "voiding a batch"),
    "batch.delete": (Role.ADMIN, "deleting a batch"),
    "claim.on-behalf": (Role.CAMPAIGNS, "a claim on behalf of a member"),
    "problem.review": (Role.CAMPAIGNS, "reviewing a conflict"),
    "voucher.status": (Role.ADMIN, "changing a voucher's status"),
    "store.create": (Role.ADMIN, "creating a store"),
    "store.enrolment-code": (Role.ADMIN, "issuing an enrolment code"),
    "store.locale": (Role.ADMIN, "setting a store's language"),
    "device.revoke": (Role.ADMIN, "revoking a device"),
    "staff.manage": (Role.ADMIN, "managing staff accounts"),
    "integration.manage": (Role.ADMIN, "managing integration tokens"),
    "audit.read": (Role.ADMIN, "reading the audit log"),
    "token.own": (Role.VIEWER, "managing your own API tokens"),
}


def allows(role: Role | str, needed: Role | str) -> bool:
    return _RANK[Role(role)] >= _RANK[Role(needed)]


def needed(what: str) -> Role:
    """The role an action of NEEDS needs (KeyError for a name it does not have: a typo must not pass)."""
    return NEEDS[what][0]


def may(role: Role | str | None, what: str) -> bool:
    """Whether this role may do `what` (a name of NEEDS); no role (signed out) may do nothing."""
    return role is not None and allows(role, needed(what))


def for_batch_action(action: str) -> Role:
    return needed(f"batch.{action}")


class RoleRefused(Forbidden):
    slug = "role-refused"
    title = "Your role does not allow this"

    def __init__(self, role: Role | str, needed: Role | str, what: str = "this") -> None:
        super().__init__(
            f"{what[:1].upper()}{what[1:]} needs the role {Role(needed).value}; yours is "
            f"{Role(role).value}. Ask an admin of head office.",
            role=Role(role).value,
            needed=Role(needed).value,
        )


def require(role: Role | str, needed: Role | str, what: str = "this") -> None:
    if not allows(role, needed):
        raise RoleRefused(role, needed, what)


def require_to(role: Role | str, what: str) -> None:
    """RoleRefused unless this role may do `what` (a name of NEEDS)."""
    need, words = NEEDS[what]
    require(role, need, words)
