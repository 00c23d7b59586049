"""UTC calendar months, the period every limit, alert and reload counts in. Written once: names (``YYYY-MM``),
bounds and the month after."""

from __future__ import annotations

from datetime import date, datetime, timezone

__all__ = ["month_bounds", "month_name", "next_month", "parse_month", "previous_month_bounds", "this_month"]


def month_name(day: date) -> str:
    """``2026-10`` for any day (or moment) of October 2026."""
    return f"{day.year:04d}-{day.month:02d}"


def this_month() -> str:
    return month_name(datetime.now(timezone.utc))


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def parse_month(text: str) -> date:
    """``YYYY-MM`` -> the month's first day; ValueError when it is not a month."""
    year, month = (int(part) for part in text.split("-"))
    return date(year, month, 1)


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month holding ``now``, as ``[start, end)``."""
    after = next_month(now)
    return (
        datetime(now.year, now.month, 1, tzinfo=timezone.utc),
        datetime(after.year, after.month, 1, tzinfo=timezone.utc),
    )


def previous_month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month before the one holding ``now``, as ``[start, end)``."""
    start, _ = month_bounds(now)
    return month_bounds(datetime(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1, tzinfo=timezone.utc))
