"""A closed-loop HTTP load generator (used when ``wrk`` is not installed), run as its own process.

``python -m bench.loadgen '{"base": ..., "paths": [...], "tokens": [...], "seconds": 10,
"connections": 16}'`` keeps ``connections`` requests in flight for ``seconds``, cycling over the
paths and the bearer tokens, and prints one JSON line: requests, seconds, errors, p50/p95/p99.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from typing import Any

import httpx


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _client(
    client: httpx.AsyncClient,
    requests: Any,
    until: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    while time.perf_counter() < until:
        path, token = next(requests)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        start = time.perf_counter()
        try:
            answer = await client.get(path, headers=headers)
            failed = answer.status_code >= 400
        except httpx.HTTPError:
            failed = True
        latencies.append(time.perf_counter() - start)
        errors[0] += failed


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    tokens = spec["tokens"] or [""]
    pairs = zip(itertools.cycle(spec["paths"]), itertools.cycle(tokens), strict=False)
    latencies: list[float] = []
    errors = [0]
    limits = httpx.Limits(max_connections=spec["connections"])
    async with httpx.AsyncClient(base_url=spec["base"], limits=limits, timeout=30) as client:
        start = time.perf_counter()
        until = start + spec["seconds"]
        await asyncio.gather(
            *(_client(client, pairs, until, latencies, errors) for _ in range(spec["connections"]))
        )
        took = time.perf_counter() - start
    return {
        "requests": len(latencies),
        "seconds": took,
        "errors": errors[0],
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def main() -> int:
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
