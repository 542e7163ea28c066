"""arXiv's publishing calendar, as pure functions of ``now``.

arXiv announces new papers Sunday to Thursday at 20:00 US Eastern; the RSS listings
(rss.arxiv.org, export.arxiv.org/rss) are rebuilt once a day around midnight US Eastern
(America/New_York, so the UTC hour moves with daylight saving time) and are empty on Saturday and
Sunday, which the feeds say with ``<skipDays>``. A listing is worth polling once just after each
weekday rebuild; on a holiday arXiv announces nothing and the weekday listing is empty, which is
normal too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
LISTING_HOSTS = frozenset({"rss.arxiv.org", "export.arxiv.org"})
LISTING_PATHS = ("/rss/", "/atom/")
ARXIV_DOMAIN = "arxiv.org"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SATURDAY = 5


def is_arxiv_host(host: str) -> bool:
    """arxiv.org and its subdomains: every one of them falls under arXiv's 3-second rule."""
    host = host.lower().rstrip(".")
    return host == ARXIV_DOMAIN or host.endswith("." + ARXIV_DOMAIN)


def is_listing(url: str) -> bool:
    """A daily arXiv listing feed (rss.arxiv.org/rss/cs.LG, export.arxiv.org/rss/cs.LG, atom)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return host in LISTING_HOSTS and parts.path.startswith(LISTING_PATHS)


def eastern_day(now: datetime) -> date:
    """The date in New York at ``now``."""
    return now.astimezone(EASTERN).date()


def has_listing(day: date) -> bool:
    """Whether the listing dated ``day`` (US Eastern) carries an announcement: weekdays only."""
    return day.weekday() < SATURDAY


def rebuild_at(day: date) -> datetime:
    """When the listing of ``day`` is rebuilt: midnight in New York, as UTC."""
    return datetime.combine(day, time(0), tzinfo=EASTERN).astimezone(UTC)


def next_rebuild(now: datetime) -> datetime:
    """The first weekday rebuild strictly after ``now``."""
    day = eastern_day(now)
    while True:
        if has_listing(day) and rebuild_at(day) > now:
            return rebuild_at(day)
        day += timedelta(days=1)


def latest_rebuild(now: datetime) -> datetime:
    """The last weekday rebuild at or before ``now``."""
    day = eastern_day(now)
    while not (has_listing(day) and rebuild_at(day) <= now):
        day -= timedelta(days=1)
    return rebuild_at(day)


def quiet_day(now: datetime) -> str | None:
    """``"Saturday"`` or ``"Sunday"`` when arXiv publishes no listing on the day in New York."""
    day = eastern_day(now)
    return None if has_listing(day) else DAY_NAMES[day.weekday()]
