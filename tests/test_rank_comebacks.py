"""Papers coming back (rank/comebacks.py): each event once, the first look is the baseline."""

from __future__ import annotations

from dataclasses import replace

from service.rank.comebacks import comebacks, events_of
from service.records import WatchedPaper

PAPER = WatchedPaper(7, "Sparse Experts", 1, None, None, None, ())


def _events(paper: WatchedPaper, recorded: set[str]) -> list[tuple[str, str, bool]]:
    return [(e.event, e.reason, e.baseline) for e in comebacks(paper, recorded)]


def test_the_first_look_is_a_silent_baseline() -> None:
    assert _events(PAPER, set()) == [("watched", "watching began", True)]
    v2 = replace(PAPER, version=2, doi="10.1/x")
    assert _events(v2, set()) == [
        ("v2", "v2 posted", True),
        ("doi", "DOI assigned: 10.1/x", True),
    ]


def test_what_happens_afterwards_comes_back_once_with_its_reason() -> None:
    later = replace(
        PAPER,
        version=3,
        comments="camera-ready,   adds ablations",
        journal_ref="NeurIPS 2026",
        covering=((40, "Why sparse experts are back"),),
    )
    assert _events(later, {"watched"}) == [
        ("v3", "v3 posted: 'camera-ready, adds ablations'", False),
        ("journal", "journal reference: NeurIPS 2026", False),
        ("coverage:40", "new coverage: 'Why sparse experts are back'", False),
    ]
    told = {"watched", "v3", "journal", "coverage:40"}
    assert _events(later, told) == []
    again = replace(later, covering=(*later.covering, (41, "A podcast on it")))
    assert _events(again, told) == [("coverage:41", "new coverage: 'A podcast on it'", False)]


def test_long_comments_are_cut() -> None:
    (event,) = events_of(replace(PAPER, version=2, comments="x " * 200))
    assert event[1].endswith("…'") and len(event[1]) < 140
