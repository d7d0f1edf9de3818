"""Calendar helpers shared by the whole package: the one YYYYMMDD conversion and the one month table.

The store keeps an article's publication day as an integer YYYYMMDD (0 when unknown) so that Chroma and
the lexical index can filter ranges; everything else works with ``datetime.date``.
"""

from __future__ import annotations

import calendar
from datetime import date

# "january" → 1 … and "jan" → 1, "sept" → 9 (news style abbreviates September as "Sept.").
MONTHS: dict[str, int] = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
MONTH_NAMES: tuple[str, ...] = tuple(name.lower() for name in calendar.month_name if name)
WEEKDAY_NAMES: tuple[str, ...] = tuple(name.lower() for name in calendar.day_name)


def to_ymd(d: date) -> int:
    """A date as YYYYMMDD."""
    return d.year * 10000 + d.month * 100 + d.day


def from_ymd(ymd: int) -> date:
    """YYYYMMDD (non-zero) as a date."""
    return date(ymd // 10000, ymd // 100 % 100, ymd % 100)


def ymd_iso(ymd: int) -> str:
    """YYYYMMDD as "YYYY-MM-DD", "" for 0 (unknown)."""
    return f"{ymd // 10000:04d}-{ymd // 100 % 100:02d}-{ymd % 100:02d}" if ymd else ""


def iso_ymd(iso: str) -> int:
    """ "YYYY-MM-DD" as YYYYMMDD, 0 for ""."""
    return int(iso.replace("-", "")) if iso else 0
