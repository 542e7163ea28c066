"""The SSRF guard: the address policy (tables and properties) and the backend that enforces it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

import httpcore
import pytest
from feedserver import FeedServer, Route
from hypothesis import given
from hypothesis import strategies as st

from service.errors import BlockedAddressError
from service.ingest.netguard import (
    GuardedBackend,
    IPAddress,
    NetGuard,
    embedded_ipv4,
    system_resolver,
)

GUARD = NetGuard()


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("151.101.1.69", None),
        ("172.32.0.1", None),
        ("100.128.0.1", None),
        ("2606:4700:4700::1111", None),
        ("2a00:1450:4001:82a::200e", None),
        ("127.0.0.1", "a loopback address"),
        ("127.255.255.254", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("100.127.255.255", "a carrier-grade NAT address"),
        ("0.0.0.0", "an unspecified (this-network) address"),
        ("0.1.2.3", "an unspecified (this-network) address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("255.255.255.255", "a broadcast address"),
        ("240.0.0.1", "a reserved address"),
        ("192.0.0.8", "a reserved (IETF protocol) address"),
        ("192.0.2.1", "a documentation address"),
        ("198.51.100.7", "a documentation address"),
        ("203.0.113.9", "a documentation address"),
        ("198.18.0.1", "a reserved (benchmarking) address"),
        ("192.88.99.1", "a reserved (6to4 relay) address"),
        ("::", "an unspecified address"),
        ("::1", "a loopback address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private (unique local) address"),
        ("fd12:3456::1", "a private (unique local) address"),
        ("fec0::1", "a private (site-local) address"),
        ("ff02::1", "a multicast address"),
        ("2001:db8::1", "a documentation address"),
        ("2001::1", "a reserved (Teredo tunnel) address"),
        ("100::1", "a reserved (discard) address"),
        ("::7f00:1", "a reserved (IPv4-compatible) address"),
        ("64:ff9b:1::a00:1", "a private NAT64 address"),
        ("::ffff:127.0.0.1", "a loopback address (127.0.0.1 inside IPv6)"),
        ("::ffff:10.1.2.3", "a private address (10.1.2.3 inside IPv6)"),
        ("::ffff:169.254.169.254", "a link-local address (169.254.169.254 inside IPv6)"),
        ("64:ff9b::a00:1", "a private address (10.0.0.1 inside IPv6)"),
        ("::ffff:0:7f00:1", "a loopback address (127.0.0.1 inside IPv6)"),
        ("::ffff:0:a9fe:a9fe", "a link-local address (169.254.169.254 inside IPv6)"),
        ("2002:a9fe:a9fe::1", "a link-local address (169.254.169.254 inside IPv6)"),
        ("2002:7f00:1::", "a loopback address (127.0.0.1 inside IPv6)"),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("2002:808:808::1", None),
    ],
)
def test_refusal_names_the_kind_of_address(address: str, label: str | None) -> None:
    assert GUARD.refusal(ip_address(address)) == label


def test_allow_seam_lets_exactly_the_given_networks_through() -> None:
    guard = NetGuard(allow=[ip_network("127.0.0.2/32")])
    assert guard.refusal(IPv4Address("127.0.0.2")) is None
    assert guard.refusal(IPv6Address("::ffff:127.0.0.2")) is None
    assert guard.refusal(IPv4Address("127.0.0.1")) == "a loopback address"
    assert guard.refusal(IPv4Address("169.254.169.254")) == "a link-local address"


def test_allow_all_lifts_the_guard() -> None:
    guard = NetGuard(allow_all=True)
    for address in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1"):
        assert guard.refusal(ip_address(address)) is None


def test_check_names_the_host_and_the_address() -> None:
    with pytest.raises(BlockedAddressError) as by_name:
        GUARD.check("feeds.example.org", [IPv4Address("93.184.215.14"), IPv4Address("10.0.0.5")])
    assert (
        by_name.value.reason == "refused: feeds.example.org resolves to 10.0.0.5, a private address"
    )
    with pytest.raises(BlockedAddressError) as by_ip:
        GUARD.check("[::1]", [IPv6Address("::1")])
    assert by_ip.value.reason == "refused: ::1 is a loopback address"
    GUARD.check("feeds.example.org", [IPv4Address("93.184.215.14")])  # public: no error


# --------------------------------------------------------------------------- properties

ipv4 = st.integers(min_value=0, max_value=2**32 - 1).map(IPv4Address)
BLOCKED_V4 = [
    ip_network(n)
    for n in ("10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16")
]


@given(st.sampled_from(BLOCKED_V4), st.integers(min_value=0, max_value=2**24 - 1))
def test_every_address_of_a_private_network_is_refused(network: Any, offset: int) -> None:
    address = network.network_address + offset % network.num_addresses
    assert GUARD.refusal(address) is not None


@given(ipv4)
def test_ipv6_forms_of_an_ipv4_address_are_judged_like_it(address: IPv4Address) -> None:
    refused = GUARD.refusal(address) is not None
    value = int(address)
    mapped = IPv6Address((0xFFFF << 32) | value)
    nat64 = IPv6Address((0x0064FF9B << 96) | value)
    six_to_four = IPv6Address((0x2002 << 112) | (value << 80))
    for form in (mapped, nat64, six_to_four):
        assert embedded_ipv4(form) == address
        assert (GUARD.refusal(form) is not None) == refused, form


# --------------------------------------------------------------------------- the backend


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Opens real connections and remembers where it was asked to connect."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, *args: Any) -> httpcore.AsyncNetworkStream:
        self.attempts.append(host)
        return await self._real.connect_tcp(host, port, *args)


def answering(*addresses: str) -> Any:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ip_address(a) for a in addresses]

    return resolve


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer.running(hosts=("127.0.0.2",)) as running:
        running.route("/", Route.feed(b"ok"))
        yield running


def test_refused_name_is_never_connected_to(server: FeedServer) -> None:
    recording = RecordingBackend()
    backend = GuardedBackend(GUARD, resolver=answering("169.254.169.254"), backend=recording)
    with pytest.raises(BlockedAddressError, match=r"metadata\.test resolves to 169\.254\.169\.254"):
        asyncio.run(backend.connect_tcp("metadata.test", server.port, timeout=1))
    assert recording.attempts == []


async def _exchange(backend: GuardedBackend, host: str, port: int) -> bytes:
    stream = await backend.connect_tcp(host, port, timeout=2)
    try:
        await stream.write(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        return await stream.read(4096)
    finally:
        await stream.aclose()


def test_connects_to_the_vetted_addresses_in_order(server: FeedServer) -> None:
    recording = RecordingBackend()
    guard = NetGuard(allow=[ip_network("127.0.0.0/29")])
    # nothing listens on 127.0.0.3: refused, so the next vetted address is tried
    backend = GuardedBackend(guard, resolver=answering("127.0.0.3", "127.0.0.2"), backend=recording)
    answer = asyncio.run(_exchange(backend, "feeds.test", server.port))
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert recording.attempts == ["127.0.0.3", "127.0.0.2"]
    assert server.seen("/")[0].host == "feeds.test"


def test_when_every_address_fails_the_last_error_is_raised(server: FeedServer) -> None:
    guard = NetGuard(allow=[ip_network("127.0.0.0/29")])
    backend = GuardedBackend(guard, resolver=answering("127.0.0.3", "127.0.0.4"))
    with pytest.raises(httpcore.ConnectError):
        asyncio.run(backend.connect_tcp("feeds.test", server.port, timeout=1))


def test_slow_resolution_is_a_connect_timeout() -> None:
    async def stalling(host: str, port: int) -> list[IPAddress]:
        await asyncio.sleep(30)
        return []

    backend = GuardedBackend(GUARD, resolver=stalling)
    with pytest.raises(httpcore.ConnectTimeout):
        asyncio.run(backend.connect_tcp("slow.test", 80, timeout=0.05))


def test_unix_sockets_are_refused() -> None:
    with pytest.raises(BlockedAddressError):
        asyncio.run(GuardedBackend(GUARD).connect_unix_socket("/var/run/docker.sock"))


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.2", ["127.0.0.2"]), ("[::1]", ["::1"]), ("::1", ["::1"])],
)
def test_system_resolver_takes_literals_as_they_are(host: str, expected: list[str]) -> None:
    assert asyncio.run(system_resolver(host, 80)) == [ip_address(a) for a in expected]


def test_system_resolver_resolves_localhost_to_loopback() -> None:
    found = asyncio.run(system_resolver("localhost", 80))  # /etc/hosts, no network
    assert found
    assert all(address.is_loopback for address in found)
    assert len(found) == len(set(found))
