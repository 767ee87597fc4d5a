"""Claim rules (seed 000): who may claim a voucher from a batch, and why not."""

from __future__ import annotations

from vouchers.errors import ClaimRefused
from vouchers.lifecycle import CLAIMABLE, Claims, State


def check_claim(
    state: State | str,
    claims: Claims | str,
    available: int,
    existing_code: str | None,
    *,
    show_code: bool = True,
) -> None:
    """Raise ClaimRefused when this member may not claim now; one claim per member per batch. The
    code claimed before goes back only where `show_code` (to the member themselves)."""
    state, claims = State(state), Claims(claims)
    if state not in CLAIMABLE:
        raise ClaimRefused(
            "not-claimable",
            "This promotion is not open for claims",
            f"Vouchers cannot be claimed while the batch is {state}.",
            current_state=state.value,
        )
    if existing_code is not None:
        if not show_code:
            raise ClaimRefused(
                "already-claimed",
                "This member has already claimed a voucher",
                "Each member can claim one voucher from this promotion; the member finds theirs "
                "in My vouchers.",
            )
        raise ClaimRefused(
            "already-claimed",
            "You have already claimed a voucher",
            "Each member can claim one voucher from this promotion; here is yours again.",
            code=existing_code,
        )
    if claims is Claims.PAUSED:
        raise ClaimRefused(
            "claims-paused",
            "Promotion temporarily paused",
            "New claims are paused for now. Vouchers already claimed stay valid.",
        )
    if available <= 0:
        raise ClaimRefused("none-available", "No vouchers available", "Every voucher has been claimed.")
