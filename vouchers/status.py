"""Voucher status (seed 002): what a claimed voucher is, and who may change it."""

from __future__ import annotations

from enum import StrEnum

from vouchers.errors import StatusChangeRefused
from vouchers.wording import N_, Said, said


class Status(StrEnum):
    UNUSED = "unused"
    USED = "used"
    ISSUED = "issued"
    PENDING = "pending"


STATUS_WORDS = {
    Status.UNUSED: Said(N_("unused")),
    Status.USED: Said(N_("used")),
    Status.ISSUED: Said(N_("issued")),
    Status.PENDING: Said(N_("pending")),
    None: Said(N_("not claimed")),
}
"""A status inside a sentence the core keeps (its English is the status's own name)."""


def check_staff_change(current: Status | str | None, new: Status | str) -> Status:
    """Staff may move pending to any status, and revert used to unused; nothing else."""
    if current is None:
        raise StatusChangeRefused(said("The voucher has not been claimed, so it has no status yet."))
    current, new = Status(current), Status(new)
    if current is new:
        raise StatusChangeRefused(said("The voucher is already {status}.", status=STATUS_WORDS[new]))
    if current is Status.PENDING or (current is Status.USED and new is Status.UNUSED):
        return new
    raise StatusChangeRefused(
        said(
            "A voucher that is {current} cannot be set to {new}: staff may only set a pending voucher to any "
            "status, or revert a used voucher to unused.",
            current=STATUS_WORDS[current],
            new=STATUS_WORDS[new],
        )
    )


def check_member_mark_used(current: Status | str | None) -> Status:
    """The member's MARK AS USED button: only an unused voucher can be marked used."""
    if current is None or Status(current) is not Status.UNUSED:
        raise StatusChangeRefused(
            said(
                "Only an unused voucher can be marked as used (this one is {current}).",
                current=STATUS_WORDS[Status(current) if current else None],
            )
        )
    return Status.USED
