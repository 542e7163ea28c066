"""Load the curated catalog (feeds.yaml) into the database: sources and the topic taxonomy."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from service.catalog import Catalog, SourceSpec, Taxonomy
from service.clock import utcnow
from service.storage.engine import Database
from service.storage.models import Source, Tag


@dataclass(frozen=True, slots=True)
class SyncReport:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deactivated: tuple[str, ...] = ()
    unchanged: int = 0
    tags_added: int = 0
    tags_updated: int = 0
    notes: tuple[str, ...] = field(default=())


def _spec_values(spec: SourceSpec) -> dict[str, object]:
    return {
        "url": spec.url,
        "kind": spec.kind,
        "level": spec.level,
        "topics": list(spec.topics),
        "poll_minutes": spec.poll_minutes,
        "weight": spec.weight,
        "site_url": spec.site,
    }


def _apply(source: Source, values: dict[str, object]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(source, key) != value:
            setattr(source, key, value)
            changed = True
    return changed


def sync_taxonomy(session: Session, taxonomy: Taxonomy) -> tuple[int, int]:
    """Upsert a Tag per topic; return (added, updated). Tags are never deleted (items use them)."""
    existing = {tag.slug: tag for tag in session.exec(select(Tag)).all()}
    added = updated = 0
    for topic in taxonomy.topics:
        values: dict[str, str | None] = {
            "area": topic.area,
            "label": topic.label,
            "parent": topic.parent,
        }
        tag = existing.get(topic.slug)
        if tag is None:
            session.add(
                Tag(slug=topic.slug, area=topic.area, label=topic.label, parent=topic.parent)
            )
            added += 1
        elif any(getattr(tag, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(tag, key, value)
            updated += 1
    return added, updated


def _find(session: Session, spec: SourceSpec) -> Source | None:
    by_name = session.exec(select(Source).where(Source.name == spec.name)).first()
    if by_name is not None:
        return by_name
    return session.exec(select(Source).where(Source.url == spec.url)).first()


def sync_catalog(db: Database, catalog: Catalog) -> SyncReport:
    """Add new sources, update changed ones, deactivate catalog sources no longer listed.

    Sources added through the API or OPML are left alone; no item is ever deleted.
    """
    added: list[str] = []
    updated: list[str] = []
    deactivated: list[str] = []
    unchanged = 0
    with db.write() as session:
        tags_added, tags_updated = sync_taxonomy(session, catalog.taxonomy)
        listed: set[int] = set()
        for spec in catalog.sources:
            source = _find(session, spec)
            values = _spec_values(spec)
            if source is None:
                source = Source(name=spec.name, origin="catalog", **values)  # type: ignore[arg-type]
                session.add(source)
                session.flush()
                added.append(spec.name)
            else:
                changed = _apply(source, {**values, "name": spec.name, "active": True})
                if changed:
                    source.updated_at = utcnow()
                    updated.append(spec.name)
                else:
                    unchanged += 1
            assert source.id is not None
            listed.add(source.id)
        stale = select(Source).where(Source.origin == "catalog", Source.active == True)  # noqa: E712
        for source in session.exec(stale).all():
            if source.id not in listed:
                source.active = False
                source.updated_at = utcnow()
                deactivated.append(source.name)
    return SyncReport(
        added=tuple(added),
        updated=tuple(updated),
        deactivated=tuple(deactivated),
        unchanged=unchanged,
        tags_added=tags_added,
        tags_updated=tags_updated,
    )
