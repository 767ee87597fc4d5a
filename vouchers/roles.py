"""Head-office staff roles (issue 13): what each may do, one rule for the dashboard, the admin API
and the command line.

* viewer: reads everything (batches, vouchers, stores, devices, conflicts, the audit log);
* campaigns: also creates and edits batches and their types, walks batches through the life cycle
  (validate, generate, distribute, redeemable, lock, back to configuring), pauses and resumes
  claims, claims on behalf of a member, and reviews conflicts and rejections;
* admin: also deletes and voids batches, changes a voucher's status, creates stores, issues
  enrolment codes, revokes devices, issues integration tokens and manages staff.

Each role may do everything of the roles before it."""

from __future__ import annotations

from enum import StrEnum

from vouchers.errors import Forbidden


class Role(StrEnum):
    VIEWER = "viewer"
    CAMPAIGNS = "campaigns"
    ADMIN = "admin"


_RANK = {Role.VIEWER: 0, Role.CAMPAIGNS: 1, Role.ADMIN: 2}

# batch actions (vouchers.lifecycle.Action values) that need more than campaigns
ADMIN_BATCH_ACTIONS = frozenset({"void", "delete"})


def allows(role: Role | str, needed: Role | str) -> bool:
    return _RANK[Role(role)] >= _RANK[Role(needed)]


def for_batch_action(action: str) -> Role:
    return Role.ADMIN if action in ADMIN_BATCH_ACTIONS else Role.CAMPAIGNS


class RoleRefused(Forbidden):
    slug = "role-refused"
    title = "Your role does not allow this"

    def __init__(self, role: Role | str, needed: Role | str, what: str = "this") -> None:
        super().__init__(f"Doing {what} needs the role {Role(needed).value}; yours is {Role(role).value}. "
                         "Ask an admin of head office.", role=Role(role).value, needed=Role(needed).value)


def require(role: Role | str, needed: Role | str, what: str = "this") -> None:
    if not allows(role, needed):
        raise RoleRefused(role, needed, what)
