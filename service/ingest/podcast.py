"""Podcast episodes: ``itunes:duration`` in every form feeds use, episode numbers, the enclosure.

``parse_duration`` reads ``3600``, ``3600.5``, ``60:00``, ``1:00:00``, ``1:02:03.5``, ``45 min``,
``1h 30m``, ``1 hr 2 mins 3 secs`` and ISO 8601 ``PT1H2M3S``; anything else (or more than a week)
is None, never an exception.
"""

from __future__ import annotations

import re

from service.records import ParsedEnclosure, ParsedEntry, PodcastInfo

MAX_DURATION_SECONDS = 7 * 24 * 3600
MAX_EPISODE_NUMBER = 1_000_000
MEDIA_TYPE_PREFIXES = ("audio/", "video/")
_MEDIA_EXTENSIONS = (".mp3", ".m4a", ".aac", ".ogg", ".opus", ".wav", ".flac", ".mp4", ".m4v")
_SECONDS = re.compile(r"(\d{1,9})(?:[.,]\d+)?")
_CLOCK = re.compile(r"(\d{1,5}):([0-5]?\d)(?::([0-5]?\d))?(?:[.,]\d+)?")
_UNITS = re.compile(
    r"(?:(\d{1,5})\s*h(?:ours?|rs?)?)?\s*(?:(\d{1,5})\s*m(?:inutes?|ins?)?)?\s*"
    r"(?:(\d{1,7})\s*s(?:econds?|ecs?)?)?",
    re.I,
)
_ISO = re.compile(r"PT(?:(\d{1,5})H)?(?:(\d{1,5})M)?(?:(\d{1,7})(?:[.,]\d+)?S)?", re.I)


def parse_duration(value: str | None) -> int | None:
    """Seconds from an ``itunes:duration`` value, or None when it is not a duration."""
    text = (value or "").strip()
    if not text:
        return None
    seconds = _read_duration(text)
    if seconds is None or seconds > MAX_DURATION_SECONDS:
        return None
    return seconds


def _read_duration(text: str) -> int | None:
    if match := _SECONDS.fullmatch(text):
        return int(match.group(1))
    if match := _CLOCK.fullmatch(text):
        first, second, third = match.groups()
        if third is None:
            return int(first) * 60 + int(second)
        return int(first) * 3600 + int(second) * 60 + int(third)
    for pattern in (_ISO, _UNITS):
        match = pattern.fullmatch(text)
        if match and any(match.groups()):
            hours, minutes, seconds = (int(part or 0) for part in match.groups())
            return hours * 3600 + minutes * 60 + seconds
    return None


def parse_episode_number(value: str | None) -> int | None:
    """An episode or season number (a whole number, ``12`` or ``12.0``), else None."""
    text = (value or "").strip().removesuffix(".0")
    if not text.isdigit() or int(text) > MAX_EPISODE_NUMBER:
        return None
    return int(text)


def media_enclosure(entry: ParsedEntry) -> ParsedEnclosure | None:
    """The entry's audio or video enclosure (by type, else by file extension), if any."""
    for enclosure in entry.enclosures:
        if (enclosure.type or "").lower().startswith(MEDIA_TYPE_PREFIXES):
            return enclosure
    for enclosure in entry.enclosures:
        path = enclosure.url.split("?", 1)[0].lower()
        if not enclosure.type and path.endswith(_MEDIA_EXTENSIONS):
            return enclosure
    return None


def podcast_info(
    entry: ParsedEntry, enclosure: ParsedEnclosure, *, enclosure_url: str, image: str | None
) -> PodcastInfo:
    """What we keep of an episode: its (canonical) enclosure, duration, numbers, image."""
    return PodcastInfo(
        enclosure_url=enclosure_url,
        enclosure_type=enclosure.type,
        enclosure_length=enclosure.length if enclosure.length else None,
        duration_seconds=parse_duration(entry.itunes_duration),
        episode=parse_episode_number(entry.episode),
        season=parse_episode_number(entry.season),
        image_url=image,
        transcript_url=entry.transcript_url,
    )
