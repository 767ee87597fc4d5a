"""Batch card figures (seed 000)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Metrics:
    total: int
    claimed: int
    redeemed: int
    available: int
    redemption_rate: float

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


def metrics(total: int, claimed: int, redeemed: int) -> Metrics:
    """Available = Total − Claimed; rate = Redeemed ÷ Claimed × 100, one decimal (halves up), 0 if none claimed."""
    rate = float((Decimal(redeemed * 100) / claimed).quantize(Decimal("0.1"), ROUND_HALF_UP)) if claimed else 0.0
    return Metrics(total, claimed, redeemed, max(0, total - claimed), rate)
