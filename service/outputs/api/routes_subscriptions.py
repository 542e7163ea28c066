"""Subscriptions for feed readers: ranked feeds as RSS / Atom / JSON Feed, and OPML lists.

- ``/v1/subscriptions/{feed token}/feed.rss|feed.atom|feed.json``: the profile's ranked feed
  through a lens (query parameters); ``sources.opml`` and ``lenses.opml`` beside them;
- ``/v1/opml``: every active source (public: no token in it);
- ``/v1/artwork.png``: the cover art podcast lenses point to.

The feed token is a secret of its own (not the API token); an unknown or rotated one gets the
same 404 as a profile that does not exist. Every document has an ETag and a Last-Modified and
answers a conditional GET with 304.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from service.errors import NotFoundError
from service.outputs.api.conditional import cached_response
from service.outputs.api.deps import DatabaseDep, NowDep, SettingsDep, WindowsDep
from service.outputs.api.problems import problem_responses
from service.outputs.outlines import (
    SourceList,
    catalog_outline,
    lenses_outline,
    profile_sources_outline,
)
from service.outputs.subscriptions import ARTWORK_PATH, lens_feed
from service.outputs.syndication import artwork
from service.outputs.syndication.formats import FEED_FORMATS, FeedFormat
from service.outputs.syndication.lens import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_PER_DAY,
    Lens,
    lens_of,
    subscription_url,
)
from service.outputs.syndication.opml import MEDIA_TYPE as OPML_MEDIA_TYPE
from service.outputs.syndication.opml import render_opml
from service.storage.engine import Database
from service.storage.models import Profile
from service.storage.profiles import find_by_token

router = APIRouter(prefix="/v1", tags=["subscriptions"])

# Readers revalidate every time (a 304 costs little): a cached copy never hides new items.
PRIVATE_CACHE = "private, no-cache"
PUBLIC_CACHE = "public, max-age=3600"
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
UNKNOWN_SUBSCRIPTION = "no subscription at this address (the link may have been replaced)"

FeedToken = Annotated[
    str,
    Path(
        description="The profile's **feed token** (not its API token): shown when the profile "
        'is created, replaced with `POST /v1/profiles/me/rotate` `{"token": "feed"}`.'
    ),
]


def _csv(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(p.strip() for p in value.split(",") if p.strip()) or None


def lens_parameters(
    depth: Annotated[
        float | None,
        Query(ge=0, le=1, description="1 = deep into your interests, 0 = broad across areas."),
    ] = None,
    kinds: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Comma-separated kinds: paper, podcast, post, video. `podcast` alone "
            "makes a podcast feed (iTunes tags) that podcast apps can play.",
            examples=["podcast"],
        ),
    ] = None,
    topics: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="Comma-separated topic slugs that replace your interests.",
            examples=["nlp,robotics"],
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items in the feed.")
    ] = DEFAULT_LIMIT,
    max_per_day: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PER_DAY,
            description="At most this many items first seen on one day (your time zone): the "
            "best ranked of each day, so a burst of new items does not flood your reader.",
        ),
    ] = None,
) -> Lens:
    return lens_of(
        depth=depth, kinds=_csv(kinds), topics=_csv(topics), limit=limit, max_per_day=max_per_day
    )


LensDep = Annotated[Lens, Depends(lens_parameters)]


def _subscriber(db: Database, token: str) -> Profile:
    with db.session() as session:
        profile = find_by_token(session, token, which="feed")
    if profile is None:
        raise NotFoundError(UNKNOWN_SUBSCRIPTION)
    return profile


_RSS_EXAMPLE = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:atom="http://www.w3.org/2005/Atom" version="2.0"><channel>
  <title>Staycurrent: ada</title><link>https://feeds.example.org</link>
  <description>The ML feed of ada, ranked by Staycurrent …</description>
  <item><title>Sparse Experts for Machine Translation</title>
    <link>https://arxiv.org/abs/2611.05123</link>
    <guid isPermaLink="false">arxiv:2611.05123</guid>
    <pubDate>Fri, 20 Nov 2026 00:42:37 GMT</pubDate>
    <description>&lt;p&gt;We study …&lt;/p&gt;&lt;p&gt;paper · arXiv cs.CL · 25 min …</description>
  </item></channel></rss>"""
_ATOM_EXAMPLE = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:uuid:0f8fad5b-d9cb-569f-a165-70867728950e</id><title type="text">Staycurrent: ada</title>
  <updated>2026-11-20T00:42:37Z</updated>
  <entry><id>arxiv:2611.05123</id><title type="text">Sparse Experts for Machine Translation</title>
    <updated>2026-11-20T00:42:37Z</updated><content type="html">&lt;p&gt;We study …</content>
  </entry></feed>"""
_JSON_EXAMPLE: dict[str, Any] = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Staycurrent: ada",
    "home_page_url": "https://feeds.example.org",
    "items": [
        {
            "id": "arxiv:2611.05123",
            "url": "https://arxiv.org/abs/2611.05123",
            "title": "Sparse Experts for Machine Translation",
            "content_html": "<p>We study …</p><p>paper · arXiv cs.CL · 25 min read</p> …",
            "date_published": "2026-11-20T00:42:37Z",
            "_staycurrent": {"kind": "paper", "minutes": 25, "why": "Matches your interests …"},
        }
    ],
}
_OPML_EXAMPLE = """<?xml version='1.0' encoding='UTF-8'?>
<opml version="2.0"><head><title>Staycurrent: every source</title></head><body>
  <outline text="Papers" title="Papers">
    <outline text="Natural language processing" title="Natural language processing">
      <outline type="rss" text="arXiv cs.CL" title="arXiv cs.CL"
        xmlUrl="https://rss.arxiv.org/rss/cs.CL" htmlUrl="https://arxiv.org/list/cs.CL/new"
        category="/paper/nlp"/>
    </outline></outline></body></opml>"""
_EXAMPLES: dict[str, Any] = {"rss": _RSS_EXAMPLE, "atom": _ATOM_EXAMPLE, "json": _JSON_EXAMPLE}
_NOT_MODIFIED: dict[int | str, Any] = {
    304: {"description": "Not modified: your copy (ETag / Last-Modified) is current."}
}


def _document(media_type: str, example: Any, description: str) -> dict[int | str, Any]:
    return {
        200: {"description": description, "content": {media_type: {"example": example}}},
        **_NOT_MODIFIED,
    }


def _feed_responses(fmt: FeedFormat) -> dict[int | str, Any]:
    return {
        **_document(fmt.media_type, _EXAMPLES[fmt.name], f"The ranked feed as {fmt.name}."),
        **problem_responses(404, 422),
    }


FEED_DESCRIPTION = """
Your ranked **stay current** feed for any feed reader, through a **lens** made of the query
parameters (`depth`, `kinds`, `topics`, `limit`, `max_per_day`); without them, your profile's
own settings. Subscribe to as many lenses as you like: `lenses.opml` lists a useful set.

Each entry's id is the item's canonical key (`arxiv:2411.01234`, or its URL), so a reader never
shows an item twice when the ranking moves. Its content has the summary, source, kind, minutes
to read or listen, **why** it is here, and signed one-click links: like, show fewer, hide, save.
Podcast episodes keep their audio enclosure; `kinds=podcast` is a podcast feed with iTunes tags.

Every stored item is in as soon as it is stored: the feed is ranked as of the newest item's
arrival (or the quarter hour, when later) and listed newest first, so it changes only when its
content does. Send `If-None-Match` or `If-Modified-Since` to get a 304 (readers are asked to
revalidate each time: `Cache-Control: private, no-cache`).
An unknown or replaced feed token gets a 404.
"""


_FEED_SUMMARIES = {
    "rss": "Your ranked feed as RSS 2.0",
    "atom": "Your ranked feed as Atom",
    "json": "Your ranked feed as JSON Feed 1.1",
}


def _add_feed_route(fmt: FeedFormat) -> None:
    media_type = fmt.media_type if fmt.name == "json" else f"{fmt.media_type}; charset=utf-8"

    def endpoint(
        *,
        request: Request,
        token: FeedToken,
        lens: LensDep,
        db: DatabaseDep,
        settings: SettingsDep,
        now: NowDep,
        windows: WindowsDep,
    ) -> Response:
        profile = _subscriber(db, token)
        feed = lens_feed(
            db,
            profile=profile,
            lens=lens,
            secret=settings.secret_key_bytes(),
            base_url=settings.base_url,
            now=now,
            windows=windows,
        )
        self_url = subscription_url(settings.base_url, token, fmt.filename, lens)
        return cached_response(
            request,
            fmt.render(feed.document, self_url=self_url),
            media_type=media_type,
            last_modified=feed.as_of,
            cache_control=PRIVATE_CACHE,
            headers=PRIVATE_HEADERS,
        )

    router.add_api_route(
        f"/subscriptions/{{token}}/{fmt.filename}",
        endpoint,
        methods=["GET"],
        name=f"feed_{fmt.name}",
        summary=_FEED_SUMMARIES[fmt.name],
        description=FEED_DESCRIPTION,
        response_class=Response,
        responses=_feed_responses(fmt),
    )


for _format in FEED_FORMATS.values():
    _add_feed_route(_format)


def _opml(request: Request, listing: SourceList, cache_control: str) -> Response:
    return cached_response(
        request,
        render_opml(listing.document),
        media_type=f"{OPML_MEDIA_TYPE}; charset=utf-8",
        last_modified=listing.modified,
        cache_control=cache_control,
        headers=PRIVATE_HEADERS if cache_control == PRIVATE_CACHE else None,
    )


@router.get(
    "/subscriptions/{token}/sources.opml",
    summary="The sources behind your feed, as OPML",
    description="The active sources that feed your interests (declared for one of them, or "
    "the source of a recent item about one), without muted sources and kinds you turned off; "
    "in folders by kind, then area. Import it to follow the originals in another reader.",
    response_class=Response,
    responses={
        **_document(OPML_MEDIA_TYPE, _OPML_EXAMPLE, "OPML 2.0."),
        **problem_responses(404),
    },
)
def sources_opml(request: Request, token: FeedToken, db: DatabaseDep, now: NowDep) -> Response:
    profile = _subscriber(db, token)
    with db.session() as session:
        listing = profile_sources_outline(session, profile, now=now)
    return _opml(request, listing, PRIVATE_CACHE)


@router.get(
    "/subscriptions/{token}/lenses.opml",
    summary="Your lenses, as OPML",
    description="Your feed, deep (depth 1), broad (depth 0), podcasts only and papers only, "
    "as RSS subscription URLs: import this file to add them all at once. It holds your feed "
    "token: keep it private.",
    response_class=Response,
    responses={
        **_document(OPML_MEDIA_TYPE, _OPML_EXAMPLE, "OPML 2.0."),
        **problem_responses(404),
    },
)
def lenses_opml(
    request: Request, token: FeedToken, db: DatabaseDep, settings: SettingsDep
) -> Response:
    profile = _subscriber(db, token)
    listing = lenses_outline(profile, token=token, base_url=settings.base_url)
    return _opml(request, listing, PRIVATE_CACHE)


@router.get(
    "/opml",
    summary="Every source, as OPML",
    description="Every active source Staycurrent polls, in folders by kind (papers, podcasts, "
    "posts, videos), then by area. Public: it holds no token and no credentials.",
    response_class=Response,
    responses=_document(OPML_MEDIA_TYPE, _OPML_EXAMPLE, "OPML 2.0."),
)
def all_sources_opml(request: Request, db: DatabaseDep, now: NowDep) -> Response:
    with db.session() as session:
        listing = catalog_outline(session, fallback=now)
    return _opml(request, listing, PUBLIC_CACHE)


@router.get(
    ARTWORK_PATH.removeprefix("/v1"),
    summary="Cover art of podcast lenses",
    description="A 1400×1400 PNG, the `itunes:image` of podcast lenses.",
    response_class=Response,
    responses={
        200: {"description": "A PNG image.", "content": {artwork.MEDIA_TYPE: {}}},
        **_NOT_MODIFIED,
    },
)
def cover_art(request: Request) -> Response:
    return cached_response(
        request,
        artwork.artwork_png(),
        media_type=artwork.MEDIA_TYPE,
        last_modified=artwork.DRAWN_AT,
        cache_control="public, max-age=604800",
    )
