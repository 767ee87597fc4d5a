"""Batch figures and the channel benchmarks of seed 000."""

from vouchers.metrics import (
    BENCHMARKS,
    CHANNELS,
    MIN_CLAIMS_TO_RATE,
    Rating,
    combined,
    metrics,
    rateable,
    rating,
)


def test_rate_is_redeemed_over_claimed_with_one_decimal():
    assert metrics(500, 127, 45).redemption_rate == 35.4
    assert metrics(500, 0, 0).redemption_rate == 0.0
    assert metrics(10, 12, 0).available == 0


def test_channels_are_the_four_of_the_seed_with_their_rates():
    assert CHANNELS == ("email", "in-store-qr", "social-media", "events")
    email, qr, social, events = (BENCHMARKS[c] for c in CHANNELS)
    assert (email.typical_text, email.great_text) == ("5–15%", "20%+")
    assert (qr.typical_low, qr.typical_high, qr.great) == (20, 40, 50)
    assert (social.typical_low, social.typical_high, social.great) == (2, 8, 15)
    assert (events.typical_low, events.typical_high, events.great) == (30, 50, 60)


def test_rating_against_the_channel():
    def rate(channel, claimed, redeemed):
        return rating(channel, metrics(1000, claimed, redeemed))

    assert rate("email", 100, 4) is Rating.BELOW
    assert rate("email", 100, 5) is Rating.TYPICAL
    assert rate("email", 100, 15) is Rating.TYPICAL
    assert rate("email", 100, 16) is Rating.GOOD
    assert rate("email", 100, 20) is Rating.GREAT
    assert rate("social-media", 100, 15) is Rating.GREAT
    assert rate("events", 100, 29) is Rating.BELOW


def test_no_rating_without_channel_or_claims():
    assert rating(None, metrics(10, 5, 5)) is None
    assert rating("email", metrics(10, 0, 0)) is None


def test_no_rating_on_too_few_claims_to_judge():
    assert MIN_CLAIMS_TO_RATE == 30
    assert rating("email", metrics(10, 1, 1)) is None  # 100% of one claim says nothing
    assert rating("email", metrics(100, MIN_CLAIMS_TO_RATE - 1, 29)) is None
    assert rating("email", metrics(100, MIN_CLAIMS_TO_RATE, 30)) is Rating.GREAT
    assert not rateable(metrics(100, 29, 0)) and rateable(metrics(100, 30, 0))


def test_combined_takes_the_rate_from_the_sums():
    both = combined([metrics(100, 10, 1), metrics(100, 90, 44)])
    assert (both.total, both.claimed, both.redeemed, both.redemption_rate) == (200, 100, 45, 45.0)
    assert combined([]).redemption_rate == 0.0
