"""The test feed server itself: what later poller and reliability tests rely on."""

from __future__ import annotations

import gzip
import threading
import time

import httpx
import pytest
from feedserver import MIB, FeedServer, Route, gzip_bomb

HOSTS = ("127.0.0.2", "127.0.0.3")


def get(url: str, **headers: str) -> httpx.Response:
    with httpx.Client(trust_env=False) as client:
        return client.get(url, headers=headers)


def test_counts_requests_per_path_and_serves_routes_in_turn() -> None:
    with FeedServer.running(hosts=HOSTS) as server:
        url = server.route("/f", Route(status=503), Route.feed(b"feed"))
        statuses = [get(url).status_code for _ in range(3)]
        assert statuses == [503, 200, 200]
        assert server.hits("/f") == 3
        assert get(server.url("/missing")).status_code == 404
        assert server.hits("/missing") == 1


def test_serves_the_same_port_on_every_address_with_per_host_routes() -> None:
    with FeedServer.running(hosts=HOSTS) as server:
        server.route("/f", Route.feed(b"anyone"))
        server.route("/f", Route.feed(b"only three"), host="127.0.0.3")
        assert get(server.url("/f", "127.0.0.2")).content == b"anyone"
        assert get(server.url("/f", "127.0.0.3")).content == b"only three"
        assert server.hits("/f", host="127.0.0.3") == 1
        assert server.seen("/f")[1].local_address == "127.0.0.3"


def test_answers_conditional_requests() -> None:
    with FeedServer.running(hosts=HOSTS) as server:
        url = server.route("/f", Route.feed(b"feed", etag='"1"', last_modified="Mon"))
        assert get(url, **{"If-None-Match": '"1"'}).status_code == 304
        assert get(url, **{"If-None-Match": '"0"'}).status_code == 200
        assert get(url, **{"If-Modified-Since": "Mon"}).status_code == 304


def test_tracks_the_peak_of_concurrent_requests_per_host() -> None:
    with FeedServer.running(hosts=HOSTS) as server:
        url = server.route("/held", Route.feed(b"x", gate="release"))
        threads = [threading.Thread(target=get, args=(url,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        give_up = time.monotonic() + 10
        while server.in_flight("127.0.0.2") < 3 and time.monotonic() < give_up:
            time.sleep(0.01)  # until all three are held at the gate
        assert server.in_flight("127.0.0.2") == 3
        server.open_gate("release")
        for thread in threads:
            thread.join()
        get(url)
        assert server.max_concurrent("127.0.0.2") == 3
        assert server.in_flight("127.0.0.2") == 0
        assert server.max_concurrent("127.0.0.3") == 0


def test_compressed_routes_and_the_bomb_decode_as_announced() -> None:
    with FeedServer.running(hosts=HOSTS) as server:
        url = server.route("/g", Route.compressed(b"feed" * 100, "gzip"))
        assert get(url).content == b"feed" * 100  # httpx decodes gzip itself
    bomb = gzip_bomb(8 * MIB)
    assert gzip.decompress(bomb) == bytes(8 * MIB)
    assert len(bomb) < 16 * 1024


def test_misbehaving_routes_misbehave() -> None:
    with FeedServer.running(hosts=HOSTS) as server:
        cut = server.route("/cut", Route.feed(b"x" * 1000, cut_after=10))
        with pytest.raises(httpx.RemoteProtocolError):
            get(cut)
        reset = server.route("/reset", Route(reset=True))
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            get(reset)


@pytest.mark.anyio
async def test_runs_inside_a_running_loop() -> None:
    async with FeedServer(hosts=HOSTS) as server:
        url = server.route("/f", Route.compressed(b"deflated", "deflate"))
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(url)
        assert response.content == b"deflated"  # httpx decodes deflate itself
        assert server.connections == 1


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
