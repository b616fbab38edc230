"""Keeps webhooks from reaching into our own network (server-side request forgery).

A subscription's URL must be http(s) on port 80 or 443, and its host must resolve only
to public (global) addresses; IPv6 forms that carry an IPv4 address are judged by that
address. The check runs when the URL is saved, and again on every connection: the
sender's transport resolves the host itself, checks every address and connects to the
checked address, so a DNS answer that changes after the first check (rebinding) cannot
slip through. `RENEWALS_WEBHOOKS_ALLOW_PRIVATE=1` turns both checks off, for tests and
local development. Refusals never name the addresses a host resolved to: an admin who
saves a URL must not learn our internal network from the error.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

SCHEMES = frozenset({"http", "https"})
PORTS = frozenset({80, 443})
"""Other ports are how a guard-passing URL probes services that are not web servers."""
RESOLVE_TIMEOUT_SECONDS = 5.0
"""A resolver that does not answer must not hold an API request (or a sender) for long."""


class RefusedUrl(ValueError):
    """The URL is not one webhooks may be sent to; the message says why."""


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to `address` reaches: IPv4-mapped (a dual-stack
    socket), the well-known NAT64 prefix (DNS64 answers for IPv4-only hosts) and 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global unicast only: loopback, private, link-local, shared (CGNAT), reserved,
    unspecified and multicast addresses are not, nor IPv6 forms of such IPv4 ones.

    IPv4-compatible (deprecated), IPv4-translated (SIIT) and local-use NAT64 addresses
    are never public: no public endpoint has one, and where the IPv4 sits in a
    local-use NAT64 address depends on the operator's prefix length."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in net for net in (_NAT64_LOCAL, _IPV4_COMPATIBLE, _IPV4_TRANSLATED)):
            return False
        address = _embedded_ipv4(address) or address
    return address.is_global and not address.is_multicast


async def public_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, all of them public; raises `RefusedUrl` when it
    does not resolve or any address is not public."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except (OSError, UnicodeError, TimeoutError) as exc:
            raise RefusedUrl(f"the host {host!r} does not resolve") from exc
        found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not all(is_public(a) for a in found):
        what = "is" if literal is not None else "resolves to"
        raise RefusedUrl(f"the host {host!r} {what} a non-public address")
    if not found:
        raise RefusedUrl(f"the host {host!r} does not resolve")
    return list(dict.fromkeys(str(a) for a in found))


def _target(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    if parsed.scheme not in SCHEMES:
        raise RefusedUrl("only http and https URLs are allowed")
    if not parsed.host:
        raise RefusedUrl("the URL has no host")
    return parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)


def _check_port(port: int) -> None:
    if port not in PORTS:
        raise RefusedUrl(f"only ports 80 and 443 are allowed, not {port}")


async def check_url(url: str, *, allow_private: bool) -> None:
    """Raises `RefusedUrl` unless webhooks may go to `url`."""
    host, port = _target(url)
    if not allow_private:
        await public_addresses(host, port)
        _check_port(port)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host, refuses non-public addresses and ports other than 80 and 443,
    connects to a checked address (TLS still verifies the certificate for the original
    host name)."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        error: httpcore.ConnectError | None = None
        addresses = await public_addresses(host, port)
        _check_port(port)
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ARG002 (the interface's signature)
        socket_options: Iterable[Any] | None = None,  # noqa: ARG002
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedUrl(f"unix sockets are not allowed ({path})")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport without proxies from the environment, whose connections go
    through `_GuardedBackend` unless private addresses are allowed."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        if not allow_private:
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=httpx.create_ssl_context(trust_env=False),
                network_backend=_GuardedBackend(),
            )
