"""Subscriptions for feed readers: RSS 2.0, Atom, JSON Feed 1.1 and OPML 2.0, built with lxml.

Pure renderers: they take frozen records (``document.FeedDocument``, ``opml.OpmlDocument``) and
return bytes. They know nothing of HTTP, storage or the clock; ``service.outputs.subscriptions``
and ``service.outputs.outlines`` compose the records from storage, the API and the CLI serve them.

    FeedDocument -> rss.render_rss | atom.render_atom | jsonfeed.render_json_feed -> bytes
    OpmlDocument -> opml.render_opml -> bytes

Every text goes through lxml (escaped by construction) after ``safe.xml_text`` drops characters
XML 1.0 forbids; every URL we link passes ``safe.web_url`` (http and https only); every HTML body
is built with lxml and cleaned again with nh3 (``safe.clean_html``), although stored summaries
were sanitized at ingest already.
"""
