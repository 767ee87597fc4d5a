"""Ages in words that fit them (the stale guard once said "1 hours" for 47 seconds)."""

from datetime import timedelta

import pytest

from vouchers.ages import ago, duration


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (47, "47 seconds"),
        (60, "1 minute"),
        (119, "1 minute"),
        (3599, "59 minutes"),
        (3600, "1 hour"),
        (7200, "2 hours"),
        (47 * 3600 + 3599, "47 hours"),
        (48 * 3600, "2 days"),
        (86400 * 9 + 5, "9 days"),
        (-5, "0 seconds"),
    ],
)
def test_duration(seconds, words):
    assert duration(timedelta(seconds=seconds)) == words


def test_ago_says_just_now_under_ten_seconds():
    assert ago(timedelta(seconds=9)) == "just now"
    assert ago(timedelta(seconds=10)) == "10 seconds ago"
    assert ago(timedelta(hours=3)) == "3 hours ago"
