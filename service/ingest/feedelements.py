"""feedparser's handlers for the elements of RSS, RDF and Atom, re-implemented on ``FeedState``.

Each ``start_x`` / ``end_x`` does to the state what feedparser's ``_start_x`` / ``_end_x`` does
(``feedparser.namespaces._base``, ``dc``, ``cc``, ``admin``); the names follow feedparser's so the
two can be read side by side. ``feedhandlers`` maps element names to them.
"""

from __future__ import annotations

import copy

from feedparser.urls import make_safe_absolute_uri

from service.ingest.feedstate import (
    HTML_TYPES,
    XHTML_TYPE,
    EndHandler,
    FeedState,
    Handler,
    Record,
    enforce_href,
    join_uri,
    map_content_type,
    parse_date,
)

# --------------------------------------------------------------------------- structure


def start_rss(state: FeedState, attrs: dict[str, str]) -> None:
    if not state.version or not state.version.startswith("rss"):
        given = attrs.get("version", "")
        known = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
        state.version = known.get(given) or ("rss20" if given.startswith("2.") else "rss")


def start_channel(state: FeedState, attrs: dict[str, str]) -> None:
    state.infeed = 1
    cdf_common(state, attrs)


def cdf_common(state: FeedState, attrs: dict[str, str]) -> None:
    if "lastmod" in attrs:
        start_updated(state, {})
        state.stack[-1][-1] = attrs["lastmod"]
        end_updated(state)
    if "href" in attrs:
        start_link(state, {})
        state.stack[-1][-1] = attrs["href"]
        end_link(state)


def start_feed(state: FeedState, attrs: dict[str, str]) -> None:
    state.infeed = 1
    if not state.version:
        known = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
        state.version = known.get(attrs.get("version", "")) or "atom"


def end_channel(state: FeedState) -> None:
    state.infeed = 0


def start_item(state: FeedState, attrs: dict[str, str]) -> None:
    state.entries.append(Record())
    state.entry_depths.append({})
    state.push("item", 0)
    state.inentry = 1
    state.guidislink = 0
    state.title_depth = -1
    about = state.attribute(attrs, "rdf:about")
    if about:
        state.context()["id"] = about
    cdf_common(state, attrs)


def end_item(state: FeedState) -> None:
    state.pop("item")
    state.inentry = 0
    state.has_content = 0


def start_image(state: FeedState, attrs: dict[str, str]) -> None:
    context = state.context()
    if not state.inentry:
        context.setdefault("image", Record())
    state.inimage = 1
    state.title_depth = -1
    state.push("image", 0)


def end_image(state: FeedState) -> None:
    state.pop("image")
    state.inimage = 0


def start_textinput(state: FeedState, attrs: dict[str, str]) -> None:
    state.context().setdefault("textinput", Record())
    state.intextinput = 1
    state.title_depth = -1
    state.push("textinput", 0)


def end_textinput(state: FeedState) -> None:
    state.pop("textinput")
    state.intextinput = 0


def start_source(state: FeedState, attrs: dict[str, str]) -> None:
    if "url" in attrs:
        state.sourcedata["href"] = attrs["url"]
    state.push("source", 1)
    state.insource = 1
    state.title_depth = -1


def end_source(state: FeedState) -> None:
    state.insource = 0
    value = state.pop("source")
    if value:
        state.sourcedata["title"] = value
    state.context()["source"] = copy.deepcopy(state.sourcedata)
    state.sourcedata.clear()


# --------------------------------------------------------------------------- people


def start_author(state: FeedState, attrs: dict[str, str]) -> None:
    state.inauthor = 1
    state.push("author", 1)
    context = state.context()
    context.setdefault("authors", [])
    context["authors"].append(Record())


def end_author(state: FeedState) -> None:
    state.pop("author")
    state.inauthor = 0
    state.sync_author_detail()


def start_contributor(state: FeedState, attrs: dict[str, str]) -> None:
    state.incontributor = 1
    context = state.context()
    context.setdefault("contributors", [])
    context["contributors"].append(Record())
    state.push("contributor", 0)


def end_contributor(state: FeedState) -> None:
    state.pop("contributor")
    state.incontributor = 0


def start_dc_contributor(state: FeedState, attrs: dict[str, str]) -> None:
    state.incontributor = 1
    context = state.context()
    context.setdefault("contributors", [])
    context["contributors"].append(Record())
    state.push("name", 0)


def end_dc_contributor(state: FeedState) -> None:
    end_name(state)
    state.incontributor = 0


def start_name(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("name", 0)


def end_name(state: FeedState) -> None:
    value = state.pop("name")
    if state.inpublisher:
        state.save_author("name", value, "publisher")
    elif state.inauthor:
        state.save_author("name", value)
    elif state.incontributor:
        state.save_contributor("name", value)
    elif state.intextinput:
        state.context()["name"] = value


def start_email(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("email", 0)


def end_email(state: FeedState) -> None:
    value = state.pop("email")
    if state.inpublisher:
        state.save_author("email", value, "publisher")
    elif state.inauthor:
        state.save_author("email", value)
    elif state.incontributor:
        state.save_contributor("email", value)


def start_url(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("href", 1)


def end_url(state: FeedState) -> None:
    value = state.pop("href")
    if state.inauthor:
        state.save_author("href", value)
    elif state.incontributor:
        state.save_contributor("href", value)


def start_webmaster(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("publisher", 1)


def end_webmaster(state: FeedState) -> None:
    state.pop("publisher")
    state.sync_author_detail("publisher")


def start_itunes_owner(state: FeedState, attrs: dict[str, str]) -> None:
    state.inpublisher = 1
    state.push("publisher", 0)


def end_itunes_owner(state: FeedState) -> None:
    state.pop("publisher")
    state.inpublisher = 0
    state.sync_author_detail("publisher")


# --------------------------------------------------------------------------- text constructs


def in_feed_or_entry(state: FeedState) -> int:
    return state.infeed or state.inentry or state.insource


def start_title(state: FeedState, attrs: dict[str, str]) -> None:
    state.push_content("title", attrs, "text/plain", in_feed_or_entry(state))


def end_title(state: FeedState) -> None:
    value = state.pop_content("title")
    if value:
        state.title_depth = state.depth


def end_media_title(state: FeedState) -> None:
    title_depth = state.title_depth
    end_title(state)
    state.title_depth = title_depth


def start_description(state: FeedState, attrs: dict[str, str]) -> None:
    if "summary" in state.context() and not state.has_content:
        state.summary_key = "content"
        start_content(state, attrs)
    else:
        state.push_content("description", attrs, "text/html", in_feed_or_entry(state))


def start_abstract(state: FeedState, attrs: dict[str, str]) -> None:
    state.push_content("description", attrs, "text/plain", in_feed_or_entry(state))


def end_description(state: FeedState) -> None:
    if state.summary_key == "content":
        end_content(state)
    else:
        state.pop_content("description")
    state.summary_key = None


def start_summary(state: FeedState, attrs: dict[str, str]) -> None:
    if "summary" in state.context() and not state.has_content:
        state.summary_key = "content"
        start_content(state, attrs)
    else:
        state.summary_key = "summary"
        state.push_content("summary", attrs, "text/plain", 1)


def end_summary(state: FeedState) -> None:
    if state.summary_key == "content":
        end_content(state)
    else:
        state.pop_content(state.summary_key or "summary")
    state.summary_key = None


def start_content(state: FeedState, attrs: dict[str, str]) -> None:
    state.has_content = 1
    state.push_content("content", attrs, "text/plain", 1)
    src = attrs.get("src")
    if src:
        state.contentparams["src"] = src
    state.push("content", 1)


def start_body(state: FeedState, attrs: dict[str, str]) -> None:
    state.push_content("content", attrs, XHTML_TYPE, 1)


def start_content_encoded(state: FeedState, attrs: dict[str, str]) -> None:
    state.has_content = 1
    state.push_content("content", attrs, "text/html", 1)


def end_content(state: FeedState) -> None:
    copy_to_summary = map_content_type(state.contentparams.get("type")) in (  # type: ignore[arg-type]
        HTML_TYPES | {"text/plain"}
    )
    value = state.pop_content("content")
    if copy_to_summary:
        state.save("summary", value)


def text_construct(tag: str) -> tuple[Handler, EndHandler]:
    """Handlers for subtitle, rights and info: plain text unless a type says otherwise."""

    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.push_content(tag, attrs, "text/plain", 1)

    def end(state: FeedState) -> None:
        state.pop_content(tag)

    return start, end


# --------------------------------------------------------------------------- dates


def pushing(element: str) -> Handler:
    """A start handler that only pushes ``element`` (its text is expected)."""

    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.push(element, 1)

    return start


def dated(element: str, parsed_key: str) -> EndHandler:
    """An end handler that stores the text and feedparser's parse of it as ``parsed_key``."""

    def end(state: FeedState) -> None:
        value = state.pop(element)
        state.save(parsed_key, parse_date(value), overwrite=True)

    return end


def popping(element: str) -> EndHandler:
    """An end handler that only pops ``element`` (stored by the generic rules)."""

    def end(state: FeedState) -> None:
        state.pop(element)

    return end


def dimension(element: str) -> EndHandler:
    """An image's width or height: a whole number, 0 when it is not one."""

    def end(state: FeedState) -> None:
        value = state.pop(element)
        try:
            number = int(value)
        except ValueError:
            number = 0
        if state.inimage:
            state.context()[element] = number

    return end


start_updated = pushing("updated")
end_updated = dated("updated", "updated_parsed")


def end_dcterms_valid(state: FeedState) -> None:
    for validity in state.pop("validity").split(";"):
        if "=" in validity:
            key, value = validity.split("=", 1)
            if key in ("start", "end"):
                state.save(f"validity_{key}", value, overwrite=True)
                state.save(f"validity_{key}_parsed", parse_date(value), overwrite=True)


# --------------------------------------------------------------------------- links and ids


def start_link(state: FeedState, attrs: dict[str, str]) -> None:
    attrs.setdefault("rel", "alternate")
    if attrs["rel"] == "self":
        attrs.setdefault("type", "application/atom+xml")
    else:
        attrs.setdefault("type", "text/html")
    context = state.context()
    attrs = enforce_href(attrs)
    if "href" in attrs:
        attrs["href"] = join_uri(state.baseuri or "", attrs["href"])
    expecting_text = in_feed_or_entry(state)
    context.setdefault("links", [])
    if not (state.inentry and state.inimage):
        context["links"].append(Record(attrs))
    if "href" in attrs:
        if attrs.get("rel") == "alternate" and map_content_type(attrs["type"]) in HTML_TYPES:
            context["link"] = attrs["href"]
    else:
        state.push("link", expecting_text)


def end_link(state: FeedState) -> None:
    state.pop("link")


def start_guid(state: FeedState, attrs: dict[str, str]) -> None:
    state.guidislink = attrs.get("ispermalink", "true") == "true"
    state.push("id", 1)


def end_guid(state: FeedState) -> None:
    value = state.pop("id")
    state.save("guidislink", state.guidislink and "link" not in state.context())
    if state.guidislink:
        state.save("link", value)


def start_enclosure(state: FeedState, attrs: dict[str, str]) -> None:
    attrs = enforce_href(attrs)
    context = state.context()
    attrs["rel"] = "enclosure"
    context.setdefault("links", []).append(Record(attrs))


def start_generator(state: FeedState, attrs: dict[str, str]) -> None:
    if attrs:
        attrs = enforce_href(attrs)
        if "href" in attrs:
            attrs["href"] = join_uri(state.baseuri or "", attrs["href"])
    state.context()["generator_detail"] = Record(attrs)
    state.push("generator", 1)


def end_generator(state: FeedState) -> None:
    value = state.pop("generator")
    context = state.context()
    if "generator_detail" in context:
        context["generator_detail"]["name"] = value


def start_cloud(state: FeedState, attrs: dict[str, str]) -> None:
    state.context()["cloud"] = Record(attrs)


def end_newlocation(state: FeedState) -> None:
    url = state.pop("newlocation")
    context = state.context()
    if context is state.feeddata:
        context["newlocation"] = make_safe_absolute_uri(state.baseuri, url.strip())


def license_link(state: FeedState, href: str | None) -> None:
    link = Record()
    link["rel"] = "license"
    if href:
        link["href"] = href
    state.context().setdefault("links", []).append(link)


def start_cc_license(state: FeedState, attrs: dict[str, str]) -> None:
    license_link(state, state.attribute(attrs, "rdf:resource"))


def end_creativecommons_license(state: FeedState) -> None:
    value = state.pop("license")
    license_link(state, value)
    del state.context()["license"]


def rdf_resource(element: str) -> Handler:
    """admin:generatorAgent and admin:errorReportsTo: their ``rdf:resource`` is their text."""

    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.push(element, 1)
        value = state.attribute(attrs, "rdf:resource")
        if value:
            state.stack[-1][2].append(value)
        state.pop(element)
        if element == "generator":
            state.context()["generator_detail"] = Record({"href": value})

    return start
