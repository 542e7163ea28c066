"""Properties (hypothesis): URL canonicalization, durations, arXiv ids, dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from service.ingest.arxiv import extract_arxiv_ids, is_valid_id
from service.ingest.normalize import FUTURE_TOLERANCE, normalize_entry
from service.ingest.podcast import parse_duration
from service.ingest.urls import canonical_url, is_tracking_parameter
from service.records import NormalizedItem, ParsedEntry, SourceContext

TRACKING = ["utm_source", "UTM_Medium", "utm_campaign", "fbclid", "gclid", "ref"]
words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
hosts = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}(\.[A-Za-z]{2,5}){1,2}", fullmatch=True)
params = st.tuples(st.sampled_from([*TRACKING, "id", "page", "q", "x"]), words)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(draw(st.lists(words, max_size=4)))
    query = "&".join(f"{k}={v}" for k, v in draw(st.lists(params, max_size=5)))
    fragment = draw(st.sampled_from(["", "#top", "#a?b=c"]))
    return f"{scheme}://{draw(hosts)}{port}/{path}{'?' + query if query else ''}{fragment}"


@given(urls())
def test_canonical_url_is_idempotent_and_tracking_free(url: str) -> None:
    canonical = canonical_url(url)
    assert canonical is not None
    assert canonical_url(canonical) == canonical
    assert "#" not in canonical
    assert canonical.startswith(("http://", "https://"))
    query = canonical.partition("?")[2]
    assert not any(is_tracking_parameter(piece) for piece in query.split("&") if piece)


@given(st.text(max_size=60), st.one_of(st.none(), urls()))
def test_canonical_url_never_raises_and_is_stable(text: str, base: str | None) -> None:
    canonical = canonical_url(text, base)
    if canonical is not None:
        assert canonical_url(canonical) == canonical


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_duration_forms_agree(hours: int, minutes: int, seconds: int) -> None:
    total = hours * 3600 + minutes * 60 + seconds
    forms = [
        str(total),
        f"{hours}:{minutes:02d}:{seconds:02d}",
        f"{hours:02d}:{minutes:02d}:{seconds:02d}.5",
        f"{hours * 60 + minutes}:{seconds:02d}",
        f"PT{hours}H{minutes}M{seconds}S",
        f"{hours}h {minutes}m {seconds}s",
    ]
    for form in forms:
        assert parse_duration(form) == total, form


@given(st.text(max_size=30))
def test_duration_of_any_text_is_none_or_a_bounded_count(text: str) -> None:
    seconds = parse_duration(text)
    assert seconds is None or 0 <= seconds <= 7 * 24 * 3600


@st.composite
def arxiv_ids(draw: st.DrawFn) -> str:
    year = draw(st.integers(7, 29))
    month = draw(st.integers(4 if year == 7 else 1, 12))
    yymm = f"{year:02d}{month:02d}"
    digits = 4 if yymm < "1501" else 5
    number = draw(st.integers(1, 10**digits - 1))
    return f"{yymm}.{number:0{digits}d}"


@given(arxiv_ids(), st.one_of(st.none(), st.integers(1, 20)), st.sampled_from(range(6)))
def test_arxiv_ids_round_trip_through_text(arxiv_id: str, version: int | None, form: int) -> None:
    versioned = arxiv_id + (f"v{version}" if version else "")
    text = [
        f"We build on arXiv:{versioned}.",
        f"(https://arxiv.org/abs/{versioned})",
        f"<a href='http://arxiv.org/pdf/{versioned}.pdf'>pdf</a>",
        f"https://www.alphaxiv.org/abs/{versioned}",
        f"https://huggingface.co/papers/{arxiv_id}",
        f"export.arxiv.org/abs/{versioned}, also arXiv: {arxiv_id}",
    ][form]
    assert is_valid_id(arxiv_id)
    assert extract_arxiv_ids(text) == (arxiv_id,)


@given(st.text(max_size=200))
def test_no_ids_without_an_arxiv_prefix_or_url(text: str) -> None:
    lowered = text.lower()
    if "arxiv" not in lowered and "huggingface" not in lowered:
        assert extract_arxiv_ids(text) == ()


aware_datetimes = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9, minutes=30))]
    ),
)


@given(
    st.one_of(st.none(), aware_datetimes), st.one_of(st.none(), aware_datetimes), aware_datetimes
)
def test_dates_are_aware_utc_and_never_beyond_the_clamp(
    published: datetime | None, updated: datetime | None, fetched_at: datetime
) -> None:
    entry = ParsedEntry(title="t", published=published, updated=updated)
    ctx = SourceContext(feed_url="https://x.example/f", kind="post", fetched_at=fetched_at)
    item = normalize_entry(entry, ctx)
    assert isinstance(item, NormalizedItem)
    assert item.published_at.utcoffset() == timedelta(0)
    assert item.published_at <= fetched_at + FUTURE_TOLERANCE
    if item.updated_at is not None:
        assert item.updated_at.utcoffset() == timedelta(0)
        assert item.updated_at <= fetched_at + FUTURE_TOLERANCE
