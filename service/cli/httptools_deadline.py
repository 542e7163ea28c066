"""uvicorn's httptools protocol with the request-head deadline (its own module: importing it
fails where httptools is not installed, and ``connections.protocol_class`` falls back to h11)."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.cli.connections import HeadDeadline


class HeaderTimeoutHttpTools(HeadDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol (C parser) with the request-head deadline."""
