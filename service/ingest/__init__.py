"""Ingest: fetch -> parse -> normalize -> tag -> embed -> decide -> store, orchestrated by
``pipeline`` alone (``bulk`` runs many local files through the same document pool).

``fetch``, ``parse``, ``normalize``, ``tag`` and ``schedule`` are independent of each other and of
storage; only ``pipeline`` calls them together. ``decide``, ``schedule``, ``arxiv_calendar`` and
``health`` are pure (data and ``now`` in, data out); ``politeness`` is the pipeline's host gate,
which keeps its turns in a store it is handed (the database, through ``service.storage.hosts``).
``subscribe`` adds sources (one URL, vetted and optionally probed, or an OPML list).
"""
