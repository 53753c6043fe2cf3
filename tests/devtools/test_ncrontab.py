"""The dev host's NCRONTAB parser: 6 fields, seconds first, UTC, day AND weekday (as NCrontab)."""

from __future__ import annotations

import datetime as dt

import pytest

from devtools.devhost import NCrontabError, NCrontabSchedule

UTC = dt.timezone.utc


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def test_every_fifteen_minutes_fires_on_the_next_quarter_hour() -> None:
    schedule = NCrontabSchedule.parse("0 */15 * * * *")
    assert schedule.next_after(at(2026, 11, 23, 11, 7, 3)) == at(2026, 11, 23, 11, 15, 0)


def test_next_occurrence_is_strictly_after_the_given_time() -> None:
    schedule = NCrontabSchedule.parse("0 */15 * * * *")
    assert schedule.next_after(at(2026, 11, 23, 11, 15, 0)) == at(2026, 11, 23, 11, 30, 0)


def test_daily_schedule_rolls_over_to_the_next_day() -> None:
    schedule = NCrontabSchedule.parse("0 0 3 * * *")
    assert schedule.next_after(at(2026, 11, 23, 3, 0, 1)) == at(2026, 11, 24, 3, 0, 0)


def test_seconds_field_comes_first() -> None:
    schedule = NCrontabSchedule.parse("*/10 * * * * *")
    assert schedule.next_after(at(2026, 1, 1, 0, 0, 1)) == at(2026, 1, 1, 0, 0, 10)


def test_ranges_and_lists_combine() -> None:
    schedule = NCrontabSchedule.parse("0 0 8-10,14 * * *")
    assert sorted(schedule.hours) == [8, 9, 10, 14]
    assert schedule.next_after(at(2026, 1, 1, 10, 30, 0)) == at(2026, 1, 1, 14, 0, 0)


def test_stepped_range_takes_every_nth_value_of_the_range() -> None:
    assert sorted(NCrontabSchedule.parse("0 10-30/10 * * * *").minutes) == [10, 20, 30]


def test_weekday_names_and_sunday_as_zero_or_seven() -> None:
    weekdays = NCrontabSchedule.parse("0 0 9 * * MON-FRI")
    # 2026-11-21 is a Saturday: the next weekday 09:00 is Monday the 23rd.
    assert weekdays.next_after(at(2026, 11, 21, 12, 0, 0)) == at(2026, 11, 23, 9, 0, 0)
    assert NCrontabSchedule.parse("0 0 0 * * 7").weekdays == NCrontabSchedule.parse("0 0 0 * * 0").weekdays == {0}


def test_day_of_month_and_weekday_must_both_match_as_in_ncrontab() -> None:
    # The 13th that is a Friday: 2026-11-13 is one.
    schedule = NCrontabSchedule.parse("0 0 0 13 * FRI")
    assert schedule.next_after(at(2026, 10, 1, 0, 0, 0)) == at(2026, 11, 13, 0, 0, 0)


def test_leap_day_schedule_finds_the_next_leap_year() -> None:
    assert NCrontabSchedule.parse("0 0 0 29 2 *").next_after(at(2026, 3, 1)) == at(2028, 2, 29)


def test_five_field_cron_is_rejected_with_the_expected_format() -> None:
    with pytest.raises(NCrontabError, match=r"needs 6 fields \(second minute hour day month day-of-week\), got 5"):
        NCrontabSchedule.parse("*/5 * * * *")


def test_out_of_range_value_names_the_field() -> None:
    with pytest.raises(NCrontabError, match="hour 24 is out of range 0-23"):
        NCrontabSchedule.parse("0 0 24 * * *")


def test_garbage_in_a_field_is_rejected() -> None:
    with pytest.raises(NCrontabError, match="'x' is not a number in the minute field"):
        NCrontabSchedule.parse("0 x * * * *")


def test_a_schedule_that_can_never_fire_says_so() -> None:
    with pytest.raises(NCrontabError, match="never fires"):
        NCrontabSchedule.parse("0 0 0 30 2 *").next_after(at(2026, 1, 1))


def test_the_contract_default_schedules_parse() -> None:
    for expression in ("0 */15 * * * *", "0 0 3 * * *"):
        assert NCrontabSchedule.parse(expression).expression == expression
