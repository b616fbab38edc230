"""The SSRF guard on its own: which addresses are public, and which URLs are refused."""

from __future__ import annotations

import httpx
import pytest

from shared.domain.webhook_subscriptions.url_guard import GuardedTransport, RefusedUrl, check_url

# IPv6 forms that carry an IPv4 address, with a private and a public one inside.
EMBEDDED_PRIVATE = [
    "64:ff9b::7f00:1",  # NAT64 well-known prefix, 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64, 169.254.169.254 (cloud metadata)
    "64:ff9b:1::7f00:1",  # NAT64 local-use prefix
    "2002:7f00:1::",  # 6to4, 127.0.0.1
    "2002:a00:1::1",  # 6to4, 10.0.0.1
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:0:127.0.0.1",  # IPv4-translated
    "::ffff:0:a00:1",  # IPv4-translated, 10.0.0.1
]
EMBEDDED_PUBLIC_REFUSED = [
    "64:ff9b:1::808:808",  # local-use NAT64: the IPv4's place depends on the prefix length
    "::8.8.8.8",  # IPv4-compatible: deprecated, no public endpoint has one
    "::ffff:0:8.8.8.8",  # IPv4-translated: the same
]
EMBEDDED_PUBLIC_ALLOWED = [
    "64:ff9b::808:808",  # what DNS64 answers for an IPv4-only public host
    "2002:808:808::1",
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
async def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(RefusedUrl, match="non-public"):
        await check_url(url, allow_private=False)
    await check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/x", "file:///etc/passwd", "gopher://x/"])
async def test_only_http_and_https(url: str) -> None:
    with pytest.raises(RefusedUrl, match="http"):
        await check_url(url, allow_private=True)


@pytest.mark.parametrize("address", EMBEDDED_PRIVATE + EMBEDDED_PUBLIC_REFUSED)
async def test_ipv6_forms_of_non_public_or_unroutable_ipv4_are_refused(address: str) -> None:
    url = f"https://[{address}]/hooks"
    with pytest.raises(RefusedUrl, match="non-public"):
        await check_url(url, allow_private=False)
    await check_url(url, allow_private=True)


@pytest.mark.parametrize("address", EMBEDDED_PRIVATE + EMBEDDED_PUBLIC_REFUSED)
async def test_ipv6_forms_of_non_public_ipv4_are_refused_at_connection(address: str) -> None:
    async with httpx.AsyncClient(transport=GuardedTransport(allow_private=False)) as client:
        with pytest.raises(RefusedUrl, match="non-public"):
            await client.post(f"http://[{address}]/hooks", content=b"{}")


@pytest.mark.parametrize("address", EMBEDDED_PUBLIC_ALLOWED)
async def test_ipv6_forms_of_public_ipv4_are_judged_by_that_ipv4(address: str) -> None:
    await check_url(f"https://[{address}]/hooks", allow_private=False)


async def test_public_addresses_pass() -> None:
    await check_url("https://93.184.216.34/hooks", allow_private=False)
    await check_url("http://93.184.216.34:80/hooks", allow_private=False)
    await check_url("https://93.184.216.34:443/hooks", allow_private=False)
    await check_url("https://[2606:2800:220:1::]/hooks", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34:8443/hooks",
        "http://93.184.216.34:22/",
        "http://[2606:2800:220:1::]:6379/",
    ],
)
async def test_only_ports_80_and_443(url: str) -> None:
    with pytest.raises(RefusedUrl, match="only ports 80 and 443"):
        await check_url(url, allow_private=False)
    await check_url(url, allow_private=True)


async def test_a_port_outside_80_and_443_is_refused_at_connection() -> None:
    async with httpx.AsyncClient(transport=GuardedTransport(allow_private=False)) as client:
        with pytest.raises(RefusedUrl, match="only ports 80 and 443"):
            await client.post("https://93.184.216.34:8443/hooks", content=b"{}")


async def test_refusals_do_not_name_the_addresses_a_host_resolves_to() -> None:
    with pytest.raises(RefusedUrl) as refused:
        await check_url("http://localhost/hook", allow_private=False)
    message = str(refused.value)
    assert "non-public" in message
    assert "127.0.0.1" not in message
    assert "::1" not in message


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(RefusedUrl, match="does not resolve"):
        await check_url("https://no-such-host.invalid/hooks", allow_private=False)
