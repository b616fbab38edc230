"""The SSRF guard on its own: which addresses are public, and which URLs are refused."""

from __future__ import annotations

import pytest

from shared.domain.webhook_subscriptions.url_guard import RefusedUrl, check_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
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


async def test_public_addresses_pass() -> None:
    await check_url("https://93.184.216.34/hooks", allow_private=False)
    await check_url("https://[2606:2800:220:1::]/hooks", allow_private=False)


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(RefusedUrl, match="does not resolve"):
        await check_url("https://no-such-host.invalid/hooks", allow_private=False)
