"""Ingest: fetch -> parse -> normalize -> tag -> store, orchestrated by ``pipeline`` alone.

``fetch``, ``parse``, ``normalize``, ``tag`` and ``schedule`` are independent of each other and of
storage; only ``pipeline`` calls them together.
"""
