"""Ingest: fetch -> parse -> normalize -> tag -> store, orchestrated by ``pipeline`` alone.

``fetch``, ``parse``, ``normalize``, ``tag`` and ``schedule`` are independent of each other and of
storage; only ``pipeline`` calls them together. ``schedule``, ``arxiv_calendar`` and ``health`` are
pure (data and ``now`` in, data out); ``politeness`` is the pipeline's host gate, which keeps its
turns in a store it is handed (the database, through ``service.storage.hosts``).
"""
