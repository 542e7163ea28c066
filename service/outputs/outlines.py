"""Subscription lists as OPML records: every active source, a profile's sources, its lenses.

- ``catalog_outline``: every active source, in folders by kind, then by area (the area of the
  source's first topic that the taxonomy knows; "General" otherwise). Public: it holds no
  token, and any user:password in a source URL is left out.
- ``profile_sources_outline``: the sources that feed a profile's interests: active, not muted,
  of a kind the profile reads, and either declared for an interest (its topic, a subtopic of it,
  or its area) or the source of an item of the profile's window tagged with an interest.
- ``lenses_outline``: the profile's lenses (its feed, deep, broad, podcasts only, papers only)
  as subscription URLs carrying the feed token, to add to a reader all at once.

Each comes with the instant it last changed (its Last-Modified), never later than the truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.outputs.syndication.lens import Lens, lens_of, subscription_url
from service.outputs.syndication.opml import Folder, OpmlDocument, Subscription
from service.records import KINDS
from service.storage.models import Item, ItemSource, ItemTag, Profile, Source, Tag

KIND_FOLDERS = {"paper": "Papers", "podcast": "Podcasts", "post": "Posts", "video": "Videos"}
GENERAL_AREA = ("general", "General")


@dataclass(frozen=True, slots=True)
class SourceList:
    """An OPML document and when what it lists last changed."""

    document: OpmlDocument
    modified: datetime


@dataclass(frozen=True, slots=True)
class _Taxonomy:
    areas: dict[str, str]  # topic slug -> area slug
    parents: dict[str, str | None]
    labels: dict[str, str]

    def area_of(self, source: Source) -> str:
        for topic in source.topics or ():
            if topic in self.areas:
                return self.areas[topic]
        return GENERAL_AREA[0]

    def area_label(self, area: str) -> str:
        return GENERAL_AREA[1] if area == GENERAL_AREA[0] else self.labels.get(area, area)

    def expand(self, interests: Iterable[str]) -> set[str]:
        """The interests and their subtopics."""
        wanted = set(interests)
        return wanted | {slug for slug, parent in self.parents.items() if parent in wanted}

    def related(self, interests: Iterable[str]) -> set[str]:
        """The interests, their subtopics and their areas (a source on NLP feeds an LLM reader)."""
        wanted = set(interests)
        return self.expand(wanted) | {self.areas.get(slug, slug) for slug in wanted}


def _taxonomy(session: Session) -> _Taxonomy:
    rows = session.exec(select(Tag.slug, Tag.area, Tag.parent, Tag.label)).all()
    return _Taxonomy(
        areas={slug: area for slug, area, _parent, _label in rows},
        parents={slug: parent for slug, _area, parent, _label in rows},
        labels={slug: label for slug, _area, _parent, label in rows},
    )


def public_url(url: str | None) -> str | None:
    """``url`` without any user:password part."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _subscription(source: Source, area: str) -> Subscription:
    return Subscription(
        title=source.name,
        xml_url=public_url(source.url) or "",
        html_url=public_url(source.site_url),
        description=source.feed_title if source.feed_title != source.name else None,
        categories=(f"/{source.kind}/{area}",),
    )


def _folders(sources: Sequence[Source], taxonomy: _Taxonomy) -> tuple[Folder, ...]:
    """Folders by kind (in KINDS order), then by area (by label), sources by name."""
    folders = []
    for kind in KINDS:
        by_area: dict[str, list[Source]] = {}
        for source in (s for s in sources if s.kind == kind):
            by_area.setdefault(taxonomy.area_of(source), []).append(source)
        areas = sorted(by_area, key=lambda a: (a == GENERAL_AREA[0], taxonomy.area_label(a)))
        inner = tuple(
            Folder(
                taxonomy.area_label(area),
                tuple(_subscription(s, area) for s in sorted(by_area[area], key=lambda s: s.name)),
            )
            for area in areas
        )
        if inner:
            folders.append(Folder(KIND_FOLDERS.get(kind, kind), inner))
    return tuple(folders)


def _last_change(session: Session) -> datetime | None:
    """The newest change of any source row (a removal updates the row, so it counts)."""
    return session.exec(select(sa.func.max(Source.updated_at))).one()


def _active(session: Session) -> list[Source]:
    return list(session.exec(select(Source).where(col(Source.active).is_(True))))


def catalog_outline(session: Session, *, fallback: datetime) -> SourceList:
    """Every active source, by kind and area."""
    document = OpmlDocument(
        title="Staycurrent: every source",
        outlines=_folders(_active(session), _taxonomy(session)),
        owner="Staycurrent",
    )
    return SourceList(document, _last_change(session) or fallback)


def _reads(profile: Profile, kind: str) -> bool:
    return (profile.kind_weights or {}).get(kind, 1.0) > 0


def _recent_sources(session: Session, topics: set[str], since: datetime) -> set[int]:
    stmt = (
        select(ItemSource.source_id)
        .join(ItemTag, col(ItemTag.item_id) == col(ItemSource.item_id))
        .join(Tag, col(Tag.id) == col(ItemTag.tag_id))
        .join(Item, col(Item.id) == col(ItemSource.item_id))
        .where(col(Tag.slug).in_(sorted(topics)), col(Item.published_at) >= since)
        .distinct()
    )
    return set(session.exec(stmt).all())


def _profile_sources(
    session: Session, profile: Profile, taxonomy: _Taxonomy, now: datetime
) -> list[Source]:
    interests = list(profile.interests or {})
    related = taxonomy.related(interests)
    since = now - timedelta(days=profile.window_days)
    recent = _recent_sources(session, taxonomy.expand(interests), since) if interests else set()
    muted = set(profile.muted_sources or ())
    return [
        s
        for s in _active(session)
        if s.id not in muted
        and _reads(profile, s.kind)
        and (not interests or s.id in recent or bool(related & set(s.topics or ())))
    ]


def profile_sources(
    session: Session, profile: Profile, *, now: datetime
) -> list[tuple[Source, str]]:
    """The active sources that feed ``profile``'s interests, each with its area's label."""
    taxonomy = _taxonomy(session)
    return [
        (s, taxonomy.area_label(taxonomy.area_of(s)))
        for s in _profile_sources(session, profile, taxonomy, now)
    ]


def profile_sources_outline(session: Session, profile: Profile, *, now: datetime) -> SourceList:
    """The active sources that feed ``profile``'s interests, by kind and area."""
    taxonomy = _taxonomy(session)
    sources = _profile_sources(session, profile, taxonomy, now)
    document = OpmlDocument(
        title=f"Staycurrent: the sources of {profile.name}",
        outlines=_folders(sources, taxonomy),
        owner=profile.name,
    )
    changed = max(_last_change(session) or profile.updated_at, profile.updated_at)
    return SourceList(document, changed)


def profile_lenses(profile: Profile) -> list[tuple[str, Lens]]:
    """The lenses offered to every profile: its feed, deep, broad, and one per main kind."""
    lenses = [
        ("your feed", Lens()),
        ("deep: your interests first", lens_of(depth=1.0)),
        ("broad: every area", lens_of(depth=0.0)),
    ]
    if _reads(profile, "podcast"):
        lenses.append(("podcasts only", lens_of(kinds=["podcast"])))
    if _reads(profile, "paper"):
        lenses.append(("papers only", lens_of(kinds=["paper"])))
    return lenses


def lenses_outline(profile: Profile, *, token: str, base_url: str) -> SourceList:
    """The profile's lenses as RSS subscription URLs (they carry the feed token)."""
    lenses = [
        Subscription(
            title=f"Staycurrent: {profile.name}, {label}",
            xml_url=subscription_url(base_url, token, "feed.rss", lens),
            html_url=base_url,
            description=f"Staycurrent lens: {lens.describe() or 'your own settings'}",
            categories=("/staycurrent",),
        )
        for label, lens in profile_lenses(profile)
    ]
    rising = Subscription(
        title=f"Staycurrent: {profile.name}, rising",
        xml_url=subscription_url(base_url, token, "trends.rss"),
        html_url=base_url,
        description="Staycurrent trend radar: what is rising, with its evidence",
        categories=("/staycurrent",),
    )
    subscriptions = (*lenses, rising)
    document = OpmlDocument(
        title=f"Staycurrent: the lenses of {profile.name}",
        outlines=(Folder("Staycurrent", subscriptions),),
        owner=profile.name,
    )
    return SourceList(document, profile.updated_at)
