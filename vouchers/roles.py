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
from vouchers.wording import N_, Said, said


class Role(StrEnum):
    VIEWER = "viewer"
    CAMPAIGNS = "campaigns"
    ADMIN = "admin"


_RANK = {Role.VIEWER: 0, Role.CAMPAIGNS: 1, Role.ADMIN: 2}


# Every action at head office that changes something (or reads what only admins read), by name,
# with the role it needs and how a refusal names it (the start of its sentence). Batch actions are "batch.<lifecycle action>".
NEEDS: dict[str, tuple[Role, str]] = {
    "batch.create": (Role.CAMPAIGNS, N_("Creating a batch")),
    "batch.edit": (Role.CAMPAIGNS, N_("Editing a batch")),
    "batch.types": (Role.CAMPAIGNS, N_("Changing a batch's types")),
    "batch.validate": (Role.CAMPAIGNS, N_("Validating a batch")),
    "batch.configure": (Role.CAMPAIGNS, N_("Taking a batch back to configuring")),
    "batch.generate": (Role.CAMPAIGNS, N_("Generating vouchers")),
    "batch.distribute": (Role.CAMPAIGNS, N_("Distributing a batch")),
    "batch.redeemable": (Role.CAMPAIGNS, N_("Making a batch redeemable")),
    "batch.lock": (Role.CAMPAIGNS, N_("Locking a batch")),
    "batch.pause": (Role.CAMPAIGNS, N_("Pausing a batch")),
    "batch.resume": (Role.CAMPAIGNS, N_("Resuming a batch")),
    "batch.void": (Role.ADMIN, N_("Voiding a batch")),
    "batch.delete": (Role.ADMIN, N_("Deleting a batch")),
    "claim.on-behalf": (Role.CAMPAIGNS, N_("A claim on behalf of a member")),
    "problem.review": (Role.CAMPAIGNS, N_("Reviewing a conflict")),
    "voucher.status": (Role.ADMIN, N_("Changing a voucher's status")),
    "store.create": (Role.ADMIN, N_("Creating a store")),
    "store.enrolment-code": (Role.ADMIN, N_("Issuing an enrolment code")),
    "store.locale": (Role.ADMIN, N_("Setting a store's language")),
    "device.revoke": (Role.ADMIN, N_("Revoking a device")),
    "staff.manage": (Role.ADMIN, N_("Managing staff accounts")),
    "integration.manage": (Role.ADMIN, N_("Managing integration tokens")),
    "audit.read": (Role.ADMIN, N_("Reading the audit log")),
    "token.own": (Role.VIEWER, N_("Managing your own API tokens")),
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

    def __init__(self, role: Role | str, needed: Role | str, what: str | Said = "this") -> None:
        """`what` starts the sentence: a phrase of NEEDS kept to be worded, or words already (a
        request's method and path)."""
        if isinstance(what, str):
            what = what[:1].upper() + what[1:]
        super().__init__(
            said(
                "{what} needs the {needed} role; yours is {role}. Ask an admin of head office.",
                what=what,
                needed=Role(needed).value,
                role=Role(role).value,
            ),
            role=Role(role).value,
            needed=Role(needed).value,
        )


def require(role: Role | str, needed: Role | str, what: str | Said = "this") -> None:
    if not allows(role, needed):
        raise RoleRefused(role, needed, what)


def require_to(role: Role | str, what: str) -> None:
    """RoleRefused unless this role may do `what` (a name of NEEDS)."""
    need, phrase = NEEDS[what]
    require(role, need, Said(phrase))
