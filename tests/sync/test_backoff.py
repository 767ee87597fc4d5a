"""The retry delay: capped, exponential, fully jittered."""

import random

from hypothesis import given
from hypothesis import strategies as st

from sync.backoff import delay


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=2**32))
def test_delay_stays_within_its_ceiling(attempt, seed):
    value = delay(attempt, initial=0.5, cap=60, rng=random.Random(seed))
    assert 0 <= value <= min(60.0, 0.5 * 2.0 ** min(attempt - 1, 62))


def test_delay_grows_then_caps():
    rng = random.Random(1)
    means = [sum(delay(n, initial=0.5, cap=60, rng=rng) for _ in range(2000)) / 2000 for n in (1, 3, 5, 20)]
    assert means[0] < means[1] < means[2] < means[3]
    assert 25 < means[3] < 35  # uniform on [0, 60]: jitter spreads retries of many tills


def test_no_delay_before_the_first_retry():
    assert delay(0, initial=1, cap=10) == 0
