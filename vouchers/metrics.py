"""Batch card figures (seed 000), and what good redemption rates look like per channel."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


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
    rate = (
        float((Decimal(redeemed * 100) / claimed).quantize(Decimal("0.1"), ROUND_HALF_UP)) if claimed else 0.0
    )
    return Metrics(total, claimed, redeemed, max(0, total - claimed), rate)


def combined(figures: list[Metrics]) -> Metrics:
    """The figures of several batches taken together (a channel's), rate from the sums."""
    return metrics(
        sum(m.total for m in figures), sum(m.claimed for m in figures), sum(m.redeemed for m in figures)
    )


# What good redemption rates look like per channel (seed 000): typical range and a great rate, in %.
@dataclass(frozen=True)
class Benchmark:
    channel: str
    label: str
    typical_low: float
    typical_high: float
    great: float

    @property
    def typical_text(self) -> str:
        return f"{self.typical_low:g}–{self.typical_high:g}%"

    @property
    def great_text(self) -> str:
        return f"{self.great:g}%+"


BENCHMARKS: dict[str, Benchmark] = {
    b.channel: b
    for b in (
        Benchmark("email", "Email", 5, 15, 20),
        Benchmark("in-store-qr", "In-store QR", 20, 40, 50),
        Benchmark("social-media", "Social media", 2, 8, 15),
        Benchmark("events", "Events", 30, 50, 60),
    )
}
CHANNELS = tuple(BENCHMARKS)


# Fewer claims than this say nothing about a channel: 1 redemption of 1 claim is not "great".
MIN_CLAIMS_TO_RATE = 30


class Rating(StrEnum):
    BELOW = "below typical"
    TYPICAL = "typical"
    GOOD = "above typical"
    GREAT = "great"


def rateable(m: Metrics) -> bool:
    """Whether there are claims enough (MIN_CLAIMS_TO_RATE) to judge a redemption rate."""
    return m.claimed >= MIN_CLAIMS_TO_RATE


def rating(channel: str | None, m: Metrics) -> Rating | None:
    """How a batch's redemption rate compares with its channel's; None without a channel, or with too
    few claims to judge (see `rateable`)."""
    bench = BENCHMARKS.get(channel or "")
    if bench is None or not rateable(m):
        return None
    rate = m.redemption_rate
    if rate >= bench.great:
        return Rating.GREAT
    if rate > bench.typical_high:
        return Rating.GOOD
    if rate >= bench.typical_low:
        return Rating.TYPICAL
    return Rating.BELOW
