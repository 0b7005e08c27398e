"""Which webhook URLs we may call: public addresses only, unless the operator allows more (pure).

A tenant types the URL, so without these checks a webhook could reach the machine itself, the
cloud metadata service (169.254.169.254) or the private network behind it. The rules apply to
every address a name resolves to, both when the subscription is saved and again before each
send; the sender then connects to the very address it checked, so a name that resolves
differently the second time (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2000
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL is malformed or points where webhooks may not go; the text says why."""


@dataclass(frozen=True)
class AllowList:
    """The operator's exceptions: exact host names, and addresses or networks (CIDR)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if "/" in entry or ":" in entry or not _plausible_host(entry):
                raise ValueError(f"not a host name, address or network: {raw!r}")
            hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in net for net in self.networks if net.version == address.version)


@dataclass(frozen=True)
class UrlPolicy:
    allow_http: bool = False
    allowed: AllowList = field(default_factory=AllowList)


@dataclass(frozen=True)
class Target:
    """A checked URL, split into what the sender needs to connect to a pinned address."""

    url: str
    scheme: str
    host: str  # lower case; an IPv6 literal without brackets
    port: int
    path: str  # path and query, at least "/"

    @property
    def literal(self) -> IPAddress | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def url_for(self, address: IPAddress) -> str:
        """The same URL aimed at ``address`` (the Host header and TLS name keep ``host``)."""
        shown = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{shown}:{self.port}{self.path}"


def _plausible_host(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63 and all(c.isalnum() or c in "-_" for c in label) for label in labels
    )


def parse_url(url: str, policy: UrlPolicy) -> Target:
    """Check the URL's form and scheme (and a literal address); names are checked later."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UnsafeUrl("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("the URL must start with https://")
    if scheme == "http" and not policy.allow_http:
        raise UnsafeUrl("only https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials in the URL are not allowed; verify our signature instead")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("the URL has no host")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise UnsafeUrl(f"the host {host!r} is not a valid name") from exc
    target = Target(
        url=url,
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
    )
    literal = target.literal
    if literal is not None:
        check_addresses(target, [str(literal)], policy)
    elif not _plausible_host(host):
        raise UnsafeUrl(f"the host {host!r} is not a valid name")
    return target


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def refusal(address: IPAddress) -> str | None:
    """Why webhooks may not go to ``address`` (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal(embedded)
            return f"{inner} (inside an IPv6 address)" if inner else None
    for reason, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if flag:
            return reason
    return None if address.is_global else "non-public"


def check_addresses(target: Target, addresses: Sequence[str], policy: UrlPolicy) -> list[IPAddress]:
    """The addresses ``target.host`` resolved to, all of them allowed; else UnsafeUrl."""
    parsed: list[IPAddress] = []
    for raw in addresses:
        try:
            parsed.append(ipaddress.ip_address(raw.split("%", 1)[0]))
        except ValueError as exc:
            raise UnsafeUrl(f"{target.host} resolved to {raw!r}, not an address") from exc
    if not parsed:
        raise UnsafeUrl(f"{target.host} does not resolve to any address")
    if policy.allowed.allows_host(target.host):
        return parsed
    for address in parsed:
        reason = refusal(address)
        if reason is not None and not policy.allowed.allows_address(address):
            what = (
                f"{address} is a {reason} address"
                if str(address) == target.host
                else f"{target.host} resolves to {address}, a {reason} address"
            )
            raise UnsafeUrl(
                f"{what}; webhooks only go to public addresses unless the operator allows it"
                " (CENTRALITA_WEBHOOK_ALLOWED_HOSTS)"
            )
    return parsed
