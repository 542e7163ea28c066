"""Canonical URLs: one spelling per page, so the same link from two feeds is one item.

``canonical_url`` resolves a link against its base (xml:base or the feed URL), keeps http(s) only,
lowercases scheme and host, drops credentials, default ports, fragments and tracking parameters
(``utm_*``, ``fbclid``, ``gclid``, ``ref`` ...), and percent-encodes what must be. It is
idempotent: a canonical URL is its own canonical form.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "ref",
        "ref_src",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_hsenc",
        "wt_mc",
        "wt_zmc",
    }
)
TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Reserved and unreserved characters, and "%" so existing escapes stay as they are.
_PATH_SAFE = "/%:@!$&'()*+,;=~-._"
_QUERY_SAFE = _PATH_SAFE + "?"
_NOT_IN_HOSTS = " /\\?#[]@"
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")  # control characters: never in a URL we keep


def canonical_url(link: str | None, base: str | None = None) -> str | None:
    """The canonical absolute http(s) form of ``link`` (resolved against ``base``), or None."""
    if not link:
        return None
    link = link.strip()
    if base:
        try:
            link = urljoin(base.strip(), link)
        except ValueError:
            return None
    return _canonical_absolute(link)


def _canonical_absolute(link: str) -> str | None:
    if _FORBIDDEN.search(link):
        return None
    try:
        parts = urlsplit(link)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or not _usable_host(host):
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    query = _without_tracking(quote(parts.query, safe=_QUERY_SAFE))
    return f"{scheme}://{netloc}{path}{'?' + query if query else ''}"


def _without_tracking(query: str) -> str:
    kept = [piece for piece in query.split("&") if piece and not is_tracking_parameter(piece)]
    return "&".join(kept)


def is_tracking_parameter(piece: str) -> bool:
    """True for a ``name=value`` query piece whose name is a known tracking parameter."""
    name = piece.split("=", 1)[0].lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def _usable_host(host: str | None) -> bool:
    """A host name without the characters that cannot be in one (a space, a slash ...)."""
    return bool(host) and not any(c in (host or "") for c in _NOT_IN_HOSTS)


def absolute_url(link: str | None, base: str | None = None) -> str | None:
    """``link`` resolved against ``base`` if it is http(s), otherwise unchanged (no tracking
    removal: enclosure and image URLs are often signed) but for the characters a URL may not
    hold (spaces, quotes, angle brackets, non-ASCII), which are percent-encoded."""
    if not link or _FORBIDDEN.search(link.strip()):
        return None
    try:
        resolved = urljoin(base.strip(), link.strip()) if base else link.strip()
        parts = urlsplit(resolved)
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not _usable_host(parts.hostname):
        return None
    path = quote(parts.path, safe=_PATH_SAFE)
    query, fragment = (quote(part, safe=_QUERY_SAFE) for part in (parts.query, parts.fragment))
    return urlunsplit((parts.scheme, parts.netloc, path, query, fragment))
