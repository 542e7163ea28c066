"""Hypothesis strategies for whole feed documents: RSS 2.0, RSS 1.0 (RDF) and Atom 1.0.

Each document is assembled from randomly chosen, randomly ordered elements of the kinds real
feeds carry (and the odd ones feedparser has rules for): repeated descriptions, guids that are
or are not permalinks, relative links and ``xml:base``, authors in every form, categories,
enclosures, Media RSS, iTunes and Podcasting 2.0 elements, arXiv elements, ``<source>``, unknown
elements with and without attributes, comments and CDATA; text with markup, entities,
Windows-1252 code points, UTF-8 read as Latin-1, and whitespace. Every document is well-formed.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from hypothesis import strategies as st

NAMESPACES = {
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "media": "http://search.yahoo.com/mrss/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "arxiv": "http://arxiv.org/schemas/atom",
    "atom": "http://www.w3.org/2005/Atom",
    "x": "https://unknown.example/ns",
}
PODCAST_NAMESPACE = "https://podcastindex.org/namespace/1.0"
_XML_CHARACTERS = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="\x00\ufffe\uffff",
).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20)
_SAMPLES = (
    "Plain title",
    "  spaced\n\tout  ",
    "AT&T <b>bold</b> & more",
    "<p>Para one</p><p>Two with <a href='/rel'>a link</a></p>",
    "Caf\u00c3\u00a9 au lait",  # UTF-8 read as Latin-1
    "smart \x93quotes\x94 and \x85",  # Windows-1252 code points
    "caf\u00e9 \u2014 \u65e5\u672c \U0001f600",
    "&amp;amp; double &lt;escaped&gt;",
    "x &nbsp; y &#169; &copy;",
    "see arXiv:2401.12345 and https://arxiv.org/abs/2402.00001v2",
    "a@b.example (Ann Author)",
    "",
    " ",
)
TEXTS = st.one_of(st.sampled_from(_SAMPLES), st.text(_XML_CHARACTERS, max_size=40))
URLS = st.sampled_from(
    (
        "https://example.org/post/1",
        "/relative/path?a=1&b=2",
        "relative.html",
        "",
        "  https://example.org/padded  ",
        "https://example.org/?utm_source=x&id=3#frag",
        "javascript:alert(1)",
        "mailto:someone@example.org",
        "//cdn.example.org/x.mp3",
        "https://arxiv.org/abs/2401.12345v2",
        "http://EXAMPLE.org:80/%7Euser/",
        "https://example.org/a b",
    )
)
DATES = st.sampled_from(
    (
        "Tue, 05 Nov 2024 00:00:00 -0500",
        "Wed, 02 Oct 2002 08:00:00 EST",
        "2024-11-05T05:00:00Z",
        "2024-11-05T05:00:00.123456+00:00",
        "2024-11-05",
        "Mon, 31 Feb 2024 10:00:00 GMT",
        "not a date",
        "",
    )
)
BASES = st.sampled_from(("https://base.example/dir/", "/other/", "sub/", "", "javascript:x"))
TYPES = st.sampled_from(("text", "html", "text/html", "text/plain", "TEXT/HTML", "", "text/xml"))


@st.composite
def text_node(draw: st.DrawFn, text: st.SearchStrategy[str] = TEXTS) -> str:
    """Escaped character data, or a CDATA section when it can be one."""
    value = draw(text)
    if "]]>" not in value and draw(st.booleans()):
        return f"<![CDATA[{value}]]>"
    return escape(value)


@st.composite
def attributes(draw: st.DrawFn, **choices: st.SearchStrategy[str]) -> str:
    """Some of ``choices`` as attributes, and sometimes an xml:base."""
    picked = [
        f" {name}={quoteattr(draw(value))}"
        for name, value in choices.items()
        if draw(st.booleans())
    ]
    if draw(st.integers(0, 5)) == 0:
        picked.append(f" xml:base={quoteattr(draw(BASES))}")
    return "".join(picked)


def simple(tag: str, text: st.SearchStrategy[str] = TEXTS) -> st.SearchStrategy[str]:
    """``<tag>text</tag>``, sometimes with an xml:base or a comment inside."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        inner = draw(text_node(text))
        if draw(st.integers(0, 6)) == 0:
            inner = f"{inner}<!-- comment -->{draw(text_node(text))}"
        return f"<{tag}{draw(attributes())}>{inner}</{tag}>"

    return build()


def typed(tag: str) -> st.SearchStrategy[str]:
    """A text construct with a random ``type`` attribute."""
    return st.builds(
        lambda attrs, inner: f"<{tag}{attrs}>{inner}</{tag}>",
        attributes(type=TYPES),
        text_node(),
    )


GUID = st.builds(
    lambda permalink, value: f"<guid{permalink}>{escape(value)}</guid>",
    st.sampled_from(("", ' isPermaLink="true"', ' isPermaLink="false"', ' isPermaLink="no"')),
    st.one_of(URLS, st.sampled_from(("oai:arXiv.org:2401.12345v2", "tag:example.org,2024:1"))),
)
CATEGORY = st.builds(
    lambda attrs, inner: f"<category{attrs}>{inner}</category>",
    attributes(domain=URLS, term=TEXTS),
    text_node(st.sampled_from(("cs.LG", "cs.AI", "", "Machine Learning", " spaced "))),
)
ENCLOSURE = st.builds(
    lambda attrs: f"<enclosure{attrs}/>",
    attributes(
        url=URLS,
        type=st.sampled_from(("audio/mpeg", "video/mp4", "", "application/pdf")),
        length=st.sampled_from(("123", "0", "", "12.5", "-1")),
    ),
)
MEDIA = st.one_of(
    st.builds(lambda a: f"<media:thumbnail{a}/>", attributes(url=URLS, width=st.just("10"))),
    st.builds(lambda u: f"<media:thumbnail>{escape(u)}</media:thumbnail>", URLS),
    st.builds(
        lambda a, title, thumb: (
            f"<media:content{a}><media:title>{title}</media:title>"
            f'<media:thumbnail url="{escape(thumb)}"/></media:content>'
        ),
        attributes(url=URLS, medium=st.just("image")),
        text_node(),
        URLS,
    ),
    st.builds(
        lambda title, desc, thumb: (
            f"<media:group><media:title>{title}</media:title>"
            f"<media:description>{desc}</media:description>"
            f'<media:thumbnail url="{escape(thumb)}"/></media:group>'
        ),
        text_node(),
        text_node(),
        URLS,
    ),
    simple("media:keywords"),
    st.builds(lambda a, t: f"<media:category{a}>{t}</media:category>", attributes(), text_node()),
)
ITUNES = st.one_of(
    simple("itunes:duration", st.sampled_from(("3600", "60:00", "1:02:03", " 45 min ", ""))),
    simple("itunes:episode", st.sampled_from(("12", "12.0", "x", ""))),
    simple("itunes:season", st.sampled_from(("2", ""))),
    st.builds(lambda a: f"<itunes:image{a}/>", attributes(href=URLS, url=URLS)),
    simple("itunes:summary"),
    simple("itunes:subtitle"),
    simple("itunes:author"),
    simple("itunes:title"),
    simple("itunes:keywords", st.sampled_from(("ml, ai ,, deep learning", "", "one"))),
    simple("itunes:explicit", st.sampled_from(("yes", "no", "clean", "Yes"))),
    simple("itunes:block", st.sampled_from(("yes", "Yes", "no"))),
    st.builds(lambda a: f"<itunes:category{a}/>", attributes(text=TEXTS)),
)
PODCAST = st.builds(
    lambda prefix, declare, attrs: (
        f"<{prefix}:transcript"
        + (f' xmlns:{prefix}="{PODCAST_NAMESPACE}"' if declare else "")
        + f"{attrs}/>"
    ),
    st.sampled_from(("podcast",)),
    st.booleans(),
    attributes(url=URLS, type=st.just("text/vtt")),
)
ARXIV = st.one_of(
    simple("arxiv:announce_type", st.sampled_from(("new", "cross", "replace", "bogus", ""))),
    simple("arxiv:comment"),
    simple("arxiv:journal_ref"),
    simple("arxiv:doi"),
    st.builds(lambda a: f"<arxiv:primary_category{a}/>", attributes(term=TEXTS)),
)
PEOPLE = st.one_of(
    simple("author", st.sampled_from((*_SAMPLES[-3:], "Ann", "ann@example.org", "<ann@x.org>"))),
    simple("dc:creator"),
    simple("dc:contributor"),
    simple("managingEditor"),
    st.builds(
        lambda name, email: f"<author><name>{name}</name><email>{email}</email></author>",
        text_node(),
        text_node(st.sampled_from(("ann@example.org", ""))),
    ),
)
DATED = st.one_of(
    *(
        simple(tag, DATES)
        for tag in ("pubDate", "dc:date", "dcterms:modified", "dcterms:issued", "atom:updated")
    )
)
UNKNOWN = st.one_of(
    simple("x:thing"),
    st.builds(lambda a, t: f"<x:tagged{a}>{t}</x:tagged>", attributes(kind=TEXTS), text_node()),
    simple("comments", URLS),
    simple("wfw:commentRss", URLS),
    simple("slash:comments", st.just("3")),
    st.builds(lambda t: f"<x:outer><x:inner>{t}</x:inner> tail </x:outer>", text_node()),
    st.builds(
        lambda t: f'<source url="https://src.example/"><title>{t}</title></source>', text_node()
    ),
    simple("ttl", st.sampled_from(("60", "x"))),
)
RSS_ITEM_PARTS = st.one_of(
    simple("title"),
    typed("title"),
    simple("link", URLS),
    simple("description"),
    simple("content:encoded"),
    GUID,
    CATEGORY,
    ENCLOSURE,
    MEDIA,
    ITUNES,
    PODCAST,
    ARXIV,
    PEOPLE,
    DATED,
    UNKNOWN,
    st.builds(lambda a: f"<atom:link{a}/>", attributes(href=URLS, rel=st.just("alternate"))),
    simple("dc:subject"),
    simple("dc:title"),
    simple("dc:description"),
)


def _declarations(podcast_prefix: str = "podcast") -> str:
    names = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
    return f'{names} xmlns:{podcast_prefix}="{PODCAST_NAMESPACE}"'


@st.composite
def rss_documents(draw: st.DrawFn) -> bytes:
    """An RSS 2.0 (or 0.9x) document with random channel elements and items."""
    version = draw(st.sampled_from(("2.0", "0.91", "0.92", "2.0.1", "")))
    lang = draw(st.sampled_from(("", ' xml:lang="en_US"', ' xml:lang=""')))
    channel = draw(
        st.lists(
            st.one_of(
                simple("title"),
                simple("link", URLS),
                simple("description"),
                simple("language", st.sampled_from(("en", "de-DE", ""))),
                simple("ttl", st.sampled_from(("60", " 30 ", "x", ""))),
                simple("lastBuildDate", DATES),
                simple("pubDate", DATES),
                st.builds(
                    lambda u, t: (
                        f"<image><url>{escape(u)}</url><title>{t}</title>"
                        f"<link>https://example.org/</link><width>88</width></image>"
                    ),
                    URLS,
                    text_node(),
                ),
                st.builds(lambda a: f"<itunes:image{a}/>", attributes(href=URLS)),
                st.just("<skipDays><day>Saturday</day><day>sunday</day></skipDays>"),
                st.builds(
                    lambda n, e: (
                        f"<itunes:owner><itunes:name>{n}</itunes:name>"
                        f"<itunes:email>{e}</itunes:email></itunes:owner>"
                    ),
                    text_node(),
                    text_node(),
                ),
                UNKNOWN,
            ),
            max_size=6,
        )
    )
    items = draw(st.lists(st.lists(RSS_ITEM_PARTS, max_size=9), max_size=4))
    item_base = draw(st.sampled_from(("", ' xml:base="https://items.example/x/"')))
    body = "".join(channel) + "".join(
        f"<item{item_base if n == 0 else ''}>{''.join(parts)}</item>"
        for n, parts in enumerate(items)
    )
    version_attribute = f' version="{version}"' if version else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss{version_attribute}{lang} '
        f"{_declarations()}><channel{draw(attributes())}>{body}</channel></rss>"
    ).encode()


ATOM_ENTRY_PARTS = st.one_of(
    typed("title"),
    simple("id", st.one_of(URLS, st.just("oai:arXiv.org:2401.12345v2"))),
    st.builds(
        lambda a: f"<link{a}/>",
        attributes(
            href=URLS,
            rel=st.sampled_from(("alternate", "enclosure", "related", "self", "ALTERNATE")),
            type=st.sampled_from(("text/html", "audio/mpeg", "application/pdf", "")),
            length=st.just("10"),
            title=st.just("pdf"),
        ),
    ),
    typed("summary"),
    st.builds(
        lambda a, t: f"<content{a}>{t}</content>",
        attributes(type=st.sampled_from(("html", "text", "text/html", "text/plain")), src=URLS),
        text_node(),
    ),
    simple("published", DATES),
    simple("updated", DATES),
    st.builds(
        lambda n, e, u: (
            f"<author><name>{n}</name><email>{e}</email><uri>{escape(u)}</uri></author>"
        ),
        text_node(),
        text_node(st.sampled_from(("ann@example.org", ""))),
        URLS,
    ),
    st.builds(lambda a: f"<category{a}/>", attributes(term=TEXTS, scheme=URLS, label=TEXTS)),
    ARXIV,
    MEDIA,
    UNKNOWN,
    simple("dc:creator"),
)


@st.composite
def atom_documents(draw: st.DrawFn) -> bytes:
    """An Atom 1.0 feed with random feed-level elements and entries."""
    head = draw(
        st.lists(
            st.one_of(
                typed("title"),
                simple("id", URLS),
                simple("updated", DATES),
                st.builds(lambda a: f"<link{a}/>", attributes(href=URLS, rel=st.just("self"))),
                st.builds(lambda u: f'<link href="{escape(u)}"/>', URLS),
                typed("subtitle"),
                simple("icon", URLS),
                simple("logo", URLS),
            ),
            max_size=5,
        )
    )
    entries = draw(st.lists(st.lists(ATOM_ENTRY_PARTS, max_size=9), max_size=4))
    body = "".join(head) + "".join(
        f"<entry{draw(attributes())}>{''.join(parts)}</entry>" for parts in entries
    )
    names = " ".join(
        f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items() if prefix != "atom"
    )
    lang = draw(st.sampled_from(("", ' xml:lang="en"')))
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"'
        f"{lang}{draw(attributes())} {names}>{body}</feed>"
    ).encode()


@st.composite
def rdf_documents(draw: st.DrawFn) -> bytes:
    """An RSS 1.0 (RDF) or RSS 0.90 document: the items are siblings of the channel."""
    namespace = draw(
        st.sampled_from(("http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"))
    )
    parts = st.one_of(
        simple("title"),
        simple("link", URLS),
        simple("description"),
        simple("dc:creator"),
        simple("dc:date", DATES),
        simple("dc:subject"),
    )
    channel = "".join(draw(st.lists(parts, max_size=4)))
    items = draw(st.lists(st.tuples(URLS, st.lists(parts, max_size=6)), max_size=4))
    body = "".join(
        f"<item rdf:about={quoteattr(about)}>{''.join(item)}</item>" for about, item in items
    )
    image = draw(st.sampled_from(("", "<image><url>https://example.org/i.png</url></image>")))
    return (
        '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        f'xmlns="{namespace}" xmlns:dc="{NAMESPACES["dc"]}">'
        f"<channel>{channel}</channel>{image}{body}</rdf:RDF>"
    ).encode()


FEED_DOCUMENTS = st.one_of(rss_documents(), atom_documents(), rdf_documents())


@st.composite
def encoded_documents(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A generated document re-encoded (declared or not), and the Content-Type it is served with.

    Characters the encoding lacks become character references.
    """
    text = draw(FEED_DOCUMENTS).decode()
    encoding = draw(st.sampled_from(("utf-8", "iso-8859-1", "windows-1252", "utf-16")))
    declaration, _, rest = text.partition("\n")
    if draw(st.booleans()):
        text = declaration.replace('encoding="utf-8"', f'encoding="{encoding}"') + "\n" + rest
    else:
        text = rest
    content_type = draw(
        st.sampled_from((None, "application/rss+xml", f"text/xml; charset={encoding}"))
    )
    return text.encode(encoding, "xmlcharrefreplace"), content_type


@st.composite
def broken_documents(draw: st.DrawFn) -> bytes:
    """A generated document broken the ways real feeds are: a bare ampersand, an undefined
    entity, a control character, junk after the root, a cut-off end, a stray end tag."""
    text = draw(FEED_DOCUMENTS).decode()
    position = draw(st.integers(len(text) // 3, len(text)))
    damage = draw(
        st.sampled_from(
            ("&", "&nbsp;", "&undefined;", "\x01", "</item>", "<", "]]>", "<br>", "&#0;")
        )
    )
    how = draw(st.sampled_from(("insert", "junk", "cut")))
    if how == "junk":
        text = f"{text}<script>var a = 1 && 2;</script>"
    elif how == "cut":
        text = text[:position]
    else:
        text = text[:position] + damage + text[position:]
    return text.encode()
