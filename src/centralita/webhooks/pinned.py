"""One POST to a tenant-typed URL, through the SSRF check, to the very address it approved.

Both senders of tenant URLs use it: the event webhooks (``sender.py``) and the staff
messages' Slack/Teams-style webhook (``staff_messages.delivery``). The URL is checked
(``ssrf.parse_url``), its name resolved and every address checked (``resolve``); the request
then goes to the first approved address, with the name kept for the Host header and for TLS
(SNI and the certificate), so a name that resolves differently a moment later (DNS
rebinding) reaches nothing new. Redirects are not followed and proxies from the environment
are ignored: either could lead somewhere unchecked.
"""

from __future__ import annotations

import httpx

from centralita.webhooks.resolve import Resolver, checked_addresses, resolve
from centralita.webhooks.ssrf import UrlPolicy, parse_url

CONNECT_TIMEOUT = 5.0


async def post_pinned(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    policy: UrlPolicy,
    io_timeout: float,
    excerpt_bytes: int = 500,
    resolver: Resolver = resolve,
) -> tuple[int, str]:
    """The status and the first ``excerpt_bytes`` of the answer (as text). ``io_timeout``
    bounds each network phase (connect at most ``CONNECT_TIMEOUT``); a caller wanting a
    total deadline wraps the call in ``asyncio.timeout``. Raises
    ``UnsafeUrl`` before connecting anywhere refused, and httpx's errors after."""
    target = parse_url(url, policy)
    address = (await checked_addresses(target, policy, resolver))[0]
    extensions = {}
    if target.scheme == "https" and target.literal is None:
        extensions["sni_hostname"] = target.host  # the certificate is checked for the name
    limits = httpx.Timeout(io_timeout, connect=min(CONNECT_TIMEOUT, io_timeout))
    async with httpx.AsyncClient(timeout=limits, follow_redirects=False, trust_env=False) as client:
        request = client.build_request(
            "POST",
            target.url_for(address),
            content=body,
            headers={**headers, "Host": target.host_header},
            extensions=extensions,
        )
        response = await client.send(request, stream=True)
        try:
            received = b""
            async for chunk in response.aiter_raw():
                received += chunk
                if len(received) >= excerpt_bytes:
                    break
        finally:
            await response.aclose()
    text = received[:excerpt_bytes].decode("utf-8", "replace").replace("\x00", "")
    return response.status_code, text
