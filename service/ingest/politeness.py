"""Politeness towards publishers, across every worker process: the pipeline's ``host_gate``.

Each request waits for a turn on its host before it starts. Turns live in the database (host
leases, see ``service.storage.hosts``), so the limits hold however many workers run:

- any host: at most ``per_host`` requests at once;
- arXiv (arxiv.org and every subdomain: rss., export., the API): ONE limiter for them all, one
  request at a time and at least ``arxiv_spacing`` (3 s, their rule) from the end of one request
  to the start of the next (so request starts are at least that far apart too).

Inside one process a semaphore per host keeps tasks from asking the database in vain. A turn is
leased for ``hold`` (longer than any fetch may take), so a killed worker's turn comes back.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from service.clock import utcnow
from service.errors import StaycurrentError
from service.ingest.arxiv_calendar import ARXIV_DOMAIN, is_arxiv_host
from service.records import HostTurn

log = logging.getLogger("staycurrent.politeness")

MAX_KEY_LENGTH = 255
UNREACHABLE_BACKOFF = 10  # x retry_every, while the database refuses
SLOT_SUFFIX_ROOM = 4
Sleep = Callable[[float], Awaitable[None]]


class HostTurns(Protocol):
    """Where turns are kept (``service.storage.hosts.HostLeases``; a dict in unit tests)."""

    def ensure(self, keys: Sequence[str]) -> None: ...

    def take(
        self, keys: Sequence[str], owner: str, now: datetime, hold: timedelta
    ) -> HostTurn | None: ...

    def give_back(self, key: str, owner: str, request_ended_at: datetime | None) -> None: ...


@dataclass(frozen=True, slots=True)
class HostRule:
    """How a host may be asked: its lease key, requests at once, time between two requests."""

    key: str
    slots: int
    spacing: timedelta = timedelta(0)

    def lease_keys(self) -> tuple[str, ...]:
        """One lease row per request allowed at once: ``key``, ``key#1``, ``key#2`` ..."""
        return (self.key, *(f"{self.key}#{i}" for i in range(1, self.slots)))


class HostLimiter:
    """Turns on hosts for one worker; ``gate`` is the pipeline's ``host_gate``."""

    def __init__(
        self,
        turns: HostTurns,
        *,
        owner: str,
        per_host: int = 2,
        arxiv_spacing: timedelta = timedelta(seconds=3),
        hold: timedelta = timedelta(seconds=60),
        retry_every: float = 0.1,
        clock: Callable[[], datetime] = utcnow,
        sleep: Sleep = asyncio.sleep,
        is_arxiv: Callable[[str], bool] = is_arxiv_host,
    ) -> None:
        self.turns = turns
        self.owner = owner
        self.per_host = per_host
        self.arxiv_spacing = arxiv_spacing
        self.hold = hold
        self.retry_every = retry_every
        self.clock = clock
        self.sleep = sleep
        self.is_arxiv = is_arxiv
        self._local: dict[str, asyncio.Semaphore] = {}
        self._ensured: set[str] = set()
        self._serial = itertools.count(1)

    def rule(self, host: str) -> HostRule:
        """arXiv's hosts share one key, one request at a time, spaced; any other host its own."""
        if self.is_arxiv(host):
            return HostRule(ARXIV_DOMAIN, 1, self.arxiv_spacing)
        return HostRule(host.lower()[: MAX_KEY_LENGTH - SLOT_SUFFIX_ROOM], self.per_host)

    @asynccontextmanager
    async def gate(self, host: str) -> AsyncIterator[None]:
        """Hold a turn on ``host`` for one request (waiting for it, and for the spacing)."""
        rule = self.rule(host)
        local = self._local.setdefault(rule.key, asyncio.Semaphore(rule.slots))
        async with local:
            owner = f"{self.owner}/{next(self._serial)}"
            turn = await self._take(rule, owner)
            asked = False
            try:
                await self._keep_distance(turn, rule)
                asked = True
                yield
            finally:
                await self._give_back(turn, owner, self.clock() if asked else None)

    async def _take(self, rule: HostRule, owner: str) -> HostTurn:
        """Wait for a free turn; while the database fails, wait for it too (and say so)."""
        keys = rule.lease_keys()
        hold = self.hold + rule.spacing
        while True:
            try:
                turn = await self._try_take(rule, keys, owner, hold)
            except StaycurrentError as exc:
                log.warning("waiting for the database to take a turn on %s: %s", rule.key, exc)
                await self.sleep(self.retry_every * UNREACHABLE_BACKOFF)
                continue
            if turn is not None:
                return turn
            await self.sleep(self.retry_every)

    async def _try_take(
        self, rule: HostRule, keys: tuple[str, ...], owner: str, hold: timedelta
    ) -> HostTurn | None:
        if rule.key not in self._ensured:
            await asyncio.to_thread(self.turns.ensure, keys)
            self._ensured.add(rule.key)
        return await asyncio.to_thread(self.turns.take, keys, owner, self.clock(), hold)

    async def _give_back(self, turn: HostTurn, owner: str, finished: datetime | None) -> None:
        try:
            await asyncio.to_thread(self.turns.give_back, turn.key, owner, finished)
        except StaycurrentError as exc:  # the lease will expire; the fetch's outcome matters more
            log.warning("could not give back the turn on %s: %s", turn.key, exc.reason)

    async def _keep_distance(self, turn: HostTurn, rule: HostRule) -> None:
        if turn.last_request_at is None or not rule.spacing:
            return
        allowed = turn.last_request_at + rule.spacing
        while (wait := (allowed - self.clock()).total_seconds()) > 0:
            await self.sleep(wait)
