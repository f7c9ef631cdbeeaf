"""The recent durations that ``GET /v1/health`` sums up, against percentiles worked out by hand."""

from __future__ import annotations

from leadgate.service.durations import KEPT, DurationSummary, RecentDurations


def test_nothing_recorded_sums_up_to_nothing() -> None:
    assert RecentDurations().summary() is None


def test_the_median_and_99th_percentile_are_nearest_ranks_in_milliseconds() -> None:
    recent = RecentDurations()
    for milliseconds in range(200, 0, -1):  # 1 to 200 ms, in no particular order
        recent.add(milliseconds / 1000)
    # nearest rank: the 100th of 200 for the median, the 198th (ceil(0.99 x 200)) for the 99th percentile
    assert recent.summary() == DurationSummary(count=200, p50_ms=100.0, p99_ms=198.0, max_ms=200.0)


def test_only_the_most_recent_are_kept() -> None:
    recent = RecentDurations()
    for milliseconds in range(1, 1501):
        recent.add(milliseconds / 1000)
    assert KEPT == 1000  # so 501 to 1500 ms remain: the 500th is 1000 ms, the 990th 1490 ms
    assert recent.summary() == DurationSummary(count=1000, p50_ms=1000.0, p99_ms=1490.0, max_ms=1500.0)
