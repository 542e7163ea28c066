"""The HTML body of an entry: summary, source, kind, time, why, coverage and feedback links.

Built as an lxml tree (text escaped by construction), serialized, then cleaned with nh3.
"""

from __future__ import annotations

from lxml import etree
from lxml import html as lxml_html
from lxml.html import builder as E

from service.outputs.syndication.document import Action, Entry, Link
from service.outputs.syndication.safe import clean_html, web_url, xml_text

_VERBS = {"podcast": "listen", "video": "watch"}
_SEPARATOR = " · "


def time_phrase(kind: str, minutes: int | None) -> str | None:
    """``25 min read`` / ``58 min listen`` / ``12 min watch``; None when unknown."""
    if not minutes or minutes <= 0:
        return None
    return f"{minutes} min {_VERBS.get(kind, 'read')}"


def _summary(entry: Entry) -> etree._Element:
    cleaned = clean_html(entry.summary_html)
    if cleaned.strip():
        return lxml_html.fragment_fromstring(cleaned, create_parent="div")
    return E.DIV(E.P(xml_text(entry.summary))) if entry.summary else E.DIV()


def _links(links: tuple[Link, ...] | tuple[Action, ...]) -> list[etree._Element | str]:
    parts: list[etree._Element | str] = []
    for link in links:
        url = web_url(link.url)
        if url is None:
            continue
        if parts:
            parts.append(_SEPARATOR)
        parts.append(E.A(xml_text(link.text), href=url))
    return parts


def _facts(entry: Entry) -> str:
    facts = [entry.kind, entry.source, time_phrase(entry.kind, entry.minutes)]
    return _SEPARATOR.join(xml_text(fact) for fact in facts if fact)


def entry_html(entry: Entry) -> str:
    """The sanitized HTML shown as the entry's content in every format."""
    body = E.DIV(_summary(entry), E.P(_facts(entry)))
    if entry.why:
        body.append(E.P(E.STRONG("Why: "), xml_text(entry.why)))
    if entry.topics:
        body.append(E.P(E.STRONG("Topics: "), xml_text(", ".join(entry.topics))))
    covering = _links(entry.covered_by)
    if covering:
        body.append(E.P(E.STRONG("Discussed in: "), *covering))
    actions = _links(entry.actions)
    if actions:
        body.append(E.P(*actions))
    return clean_html(lxml_html.tostring(body, encoding="unicode"))
