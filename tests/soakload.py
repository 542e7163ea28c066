"""The soak test's load generator, a process of its own: GET the API until a deadline, tally.

    python tests/soakload.py BASE_URL API_TOKEN FEED_TOKEN SECONDS OUT.json [THREADS]

Threads take turns over ``/v1/feed``, ``/v1/items`` (when the API documents it), ``/healthz`` and
the profile's RSS subscription, as fast as the API answers. At the end OUT.json holds the
requests made, the statuses by endpoint, the transport errors and latency percentiles (ms).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

MAX_ERRORS_KEPT = 20


@dataclass
class Tally:
    """What the threads saw, guarded by ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def record(self, name: str, status: int | None, seconds: float, error: str = "") -> None:
        with self.lock:
            if status is None:
                self.error_count += 1
                if len(self.errors) < MAX_ERRORS_KEPT:
                    self.errors.append(f"{name}: {error}")
                return
            self.statuses.setdefault(name, Counter())[status] += 1
            self.latencies.append(seconds)


def endpoints(client: httpx.Client, token: str, feed_token: str) -> list[tuple[str, str, bool]]:
    """(name, path, with the API token) of every endpoint the load visits."""
    documented = client.get("/openapi.json").json()["paths"]
    chosen = [
        ("/v1/feed", "/v1/feed?limit=20", True),
        ("/healthz", "/healthz", False),
        ("feed.rss", f"/v1/subscriptions/{feed_token}/feed.rss", False),
    ]
    if "/v1/items" in documented:
        chosen.append(("/v1/items", "/v1/items?limit=20", True))
    return chosen


def hammer(
    base_url: str, token: str, feed_token: str, *, deadline: float, offset: int, tally: Tally
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        chosen = endpoints(client, token, feed_token)
        turn = offset
        while time.monotonic() < deadline:
            name, path, authorized = chosen[turn % len(chosen)]
            turn += 1
            started = time.monotonic()
            try:
                response = client.get(path, headers=headers if authorized else None)
            except httpx.HTTPError as exc:
                tally.record(name, None, 0.0, f"{type(exc).__name__}: {exc}")
                continue
            tally.record(name, response.status_code, time.monotonic() - started)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def summary(tally: Tally) -> dict[str, object]:
    return {
        "requests": len(tally.latencies) + tally.error_count,
        "statuses": {name: dict(counts) for name, counts in tally.statuses.items()},
        "transport_errors": tally.error_count,
        "errors": tally.errors,
        "latency_ms": {
            name: round(percentile(tally.latencies, share) * 1000, 1)
            for name, share in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))
        },
    }


def main(argv: list[str]) -> None:
    base_url, token, feed_token, seconds, out = argv[:5]
    threads = int(argv[5]) if len(argv) > 5 else 3
    deadline = time.monotonic() + float(seconds)
    tally = Tally()
    workers = [
        threading.Thread(
            target=hammer,
            args=(base_url, token, feed_token),
            kwargs={"deadline": deadline, "offset": n, "tally": tally},
        )
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    Path(out).write_text(json.dumps(summary(tally), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
