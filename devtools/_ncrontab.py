"""A small NCRONTAB parser: the 6-field schedules of Azure Functions timer triggers.

Format: ``{second} {minute} {hour} {day} {month} {day-of-week}``, UTC. Each field takes ``*``, ``*/n``,
a number, ``a-b``, ``a-b/n``, ``a/n`` and comma lists of those; months and weekdays also take English
names (``JAN``, ``MON``). Sunday is 0 (7 is accepted too).

Day-of-month and day-of-week must *both* match, as in NCrontab (the library the Functions host uses),
not "either" as in Vixie cron.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

__all__ = ["NCrontabError", "NCrontabSchedule"]

_MONTH_NAMES = {n: i for i, n in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
_DAY_NAMES = {n: i for i, n in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}

# (name, low, high, names)
_FIELDS = (
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day", 1, 31, {}),
    ("month", 1, 12, _MONTH_NAMES),
    ("day-of-week", 0, 7, _DAY_NAMES),
)

#: How far ahead to look for the next occurrence (covers 29 February schedules).
_SEARCH_DAYS = 366 * 8


class NCrontabError(ValueError):
    """The schedule is not a valid 6-field NCRONTAB expression; the message names the field."""


@dataclass(frozen=True)
class NCrontabSchedule:
    """A parsed schedule: the set of allowed values of each field."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> "NCrontabSchedule":
        parts = expression.split()
        if len(parts) != 6:
            raise NCrontabError(
                "NCRONTAB %r needs 6 fields (second minute hour day month day-of-week), got %d"
                % (expression, len(parts)))
        values = [_parse_field(part, *spec) for part, spec in zip(parts, _FIELDS)]
        weekdays = frozenset(d % 7 for d in values[5])
        return cls(expression, *values[:5], weekdays)

    def matches(self, when: _dt.datetime) -> bool:
        """True if the schedule fires at this second."""
        return (when.second in self.seconds and when.minute in self.minutes and when.hour in self.hours
                and self._day_matches(when.date()))

    def next_after(self, when: _dt.datetime) -> _dt.datetime:
        """The first occurrence strictly after ``when`` (same tzinfo; microseconds dropped)."""
        start = when.replace(microsecond=0) + _dt.timedelta(seconds=1)
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                first_day = day == start.date()
                found = self._first_time_of_day(start.time() if first_day else _dt.time(0, 0, 0))
                if found is not None:
                    return _dt.datetime.combine(day, found, tzinfo=when.tzinfo)
            day += _dt.timedelta(days=1)
        raise NCrontabError("NCRONTAB %r never fires" % self.expression)

    def _day_matches(self, day: _dt.date) -> bool:
        cron_weekday = (day.weekday() + 1) % 7  # Python: Monday=0; cron: Sunday=0
        return day.month in self.months and day.day in self.days and cron_weekday in self.weekdays

    def _first_time_of_day(self, not_before: _dt.time) -> _dt.time | None:
        for hour in sorted(self.hours):
            if hour < not_before.hour:
                continue
            for minute in sorted(self.minutes):
                if hour == not_before.hour and minute < not_before.minute:
                    continue
                for second in sorted(self.seconds):
                    if (hour, minute) == (not_before.hour, not_before.minute) and second < not_before.second:
                        continue
                    return _dt.time(hour, minute, second)
        return None


def _parse_field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    allowed: set[int] = set()
    for item in text.split(","):
        if not item:
            raise NCrontabError("empty list item in the %s field %r" % (name, text))
        range_part, _, step_part = item.partition("/")
        step = 1
        if step_part:
            step = _number(step_part, name, names={})
            if step < 1:
                raise NCrontabError("step must be at least 1 in the %s field %r" % (name, item))
        if range_part == "*":
            first, last = low, high
        elif "-" in range_part:
            a, _, b = range_part.partition("-")
            first, last = _number(a, name, names), _number(b, name, names)
        else:
            first = _number(range_part, name, names)
            last = high if step_part else first  # "a/n" means a, a+n, ... up to the maximum
        for value in (first, last):
            if not low <= value <= high:
                raise NCrontabError("%s %d is out of range %d-%d in %r" % (name, value, low, high, item))
        if first > last:
            raise NCrontabError("range %r of the %s field runs backwards" % (item, name))
        allowed.update(range(first, last + 1, step))
    return frozenset(allowed)


def _number(text: str, field: str, names: dict[str, int]) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise NCrontabError("%r is not a number in the %s field" % (text, field))
    return int(text)
