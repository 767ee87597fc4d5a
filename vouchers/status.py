"""Voucher status (seed 002): what a claimed voucher is, and who may change it."""

from __future__ import annotations

from enum import StrEnum

from vouchers.errors import StatusChangeRefused


class Status(StrEnum):
    UNUSED = "unused"
    USED = "used"
    ISSUED = "issued"
    PENDING = "pending"


def check_staff_change(current: Status | str | None, new: Status | str) -> Status:
    """Staff may move pending to any status, and revert used to unused; nothing else."""
    if current is None:
        raise StatusChangeRefused("The voucher has not been claimed, so it has no status yet.")
    current, new = Status(current), Status(new)
    if current is new:
        raise StatusChangeRefused(f"The voucher is already {new}.")
    if current is Status.PENDING or (current is Status.USED and new is Status.UNUSED):
        return new
    raise StatusChangeRefused(
        f"A voucher that is {current} cannot be set to {new}: staff may only set a pending "
        "voucher to any status, or revert a used voucher to unused."
    )


def check_member_mark_used(current: Status | str | None) -> Status:
    """The member's MARK AS USED button: only an unused voucher can be marked used."""
    if current is None or Status(current) is not Status.UNUSED:
        raise StatusChangeRefused(f"Only an unused voucher can be marked as used (this one is {current}).")
    return Status.USED
