"""Papers everyone covers (rank/covered.py): growth against the paper's own past, spread, words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.rank.covered import covered_papers
from service.records import CoverageSighting

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _link(
    arxiv_id: str, n: int, *, source: int, days: float, kind: str = "post"
) -> CoverageSighting:
    return CoverageSighting(
        arxiv_id=arxiv_id,
        by_item=n,
        by_kind=kind,
        by_source=source,
        published_at=NOW - timedelta(days=days),
        paper_id=900 if arxiv_id == "2612.00001" else None,
        paper_title="Sparse Experts Again" if arxiv_id == "2612.00001" else None,
        paper_areas=("nlp",) if arxiv_id == "2612.00001" else (),
    )


def test_the_fastest_growing_coverage_comes_first_with_its_evidence() -> None:
    hot = [_link("2612.00001", n, source=n, days=n / 2) for n in range(1, 5)]
    hot.append(_link("2612.00001", 5, source=5, days=1, kind="podcast"))
    steady = [_link("2501.00002", 10 + n, source=n, days=n * 3.5) for n in range(1, 10)]
    (first, *rest) = covered_papers([*steady, *hot], now=NOW)
    assert first.arxiv_id == "2612.00001" and first.paper_id == 900
    assert first.title == "Sparse Experts Again" and first.areas == ("nlp",)
    assert first.evidence == "covered by 1 episode and 4 posts from 5 sources; none before"
    assert first.covering == 5 and first.before == 0
    assert set(first.covering_ids) == {1, 2, 3, 4, 5}
    assert all(p.score < first.score for p in rest)


def test_one_blog_covering_a_paper_many_times_is_not_everyone() -> None:
    series = [_link("2612.00001", n, source=7, days=n / 3) for n in range(1, 8)]
    assert covered_papers(series, now=NOW) == ()


def test_an_unknown_paper_is_named_by_its_id_and_old_coverage_is_not_growth() -> None:
    fresh = [_link("2612.09999", n, source=n, days=1) for n in range(1, 3)]
    old = [_link("2612.09999", 10 + n, source=n, days=8 + n) for n in range(1, 20)]
    assert [p.title for p in covered_papers(fresh, now=NOW)] == ["arXiv:2612.09999"]
    assert covered_papers([*fresh, *old], now=NOW) == ()
    assert covered_papers([], now=NOW) == ()
