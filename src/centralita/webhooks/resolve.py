"""Name resolution for webhook URLs, and the one check both saving and sending go through."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from centralita.config import Settings
from centralita.webhooks.ssrf import AllowList, IPAddress, Target, UnsafeUrl, UrlPolicy
from centralita.webhooks.ssrf import check_addresses as _check_addresses

Resolver = Callable[[str, int], Awaitable[list[str]]]
RESOLVE_TIMEOUT_SECONDS = 5.0


def policy_from(settings: Settings) -> UrlPolicy:
    return UrlPolicy(
        allow_http=settings.webhook_allow_http,
        allowed=AllowList.parse(settings.webhook_allowed_hosts),
    )


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, with a timeout)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM),
            timeout=RESOLVE_TIMEOUT_SECONDS,
        )
    except TimeoutError as exc:
        raise UnsafeUrl(f"{host} did not resolve within {RESOLVE_TIMEOUT_SECONDS:g}s") from exc
    except OSError as exc:
        raise UnsafeUrl(f"{host} does not resolve ({exc.strerror or exc})") from exc
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


async def checked_addresses(
    target: Target, policy: UrlPolicy, resolver: Resolver = resolve
) -> list[IPAddress]:
    """The addresses to connect to, every one of them allowed; else UnsafeUrl."""
    literal = target.literal
    if literal is not None:
        return _check_addresses(target, [str(literal)], policy)
    return _check_addresses(target, await resolver(target.host, target.port), policy)
