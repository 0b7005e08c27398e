"""Which URLs and addresses webhooks may reach, and the operator's allowance (pure)."""

from __future__ import annotations

import ipaddress
import re

import pytest

from centralita.webhooks.ssrf import (
    AllowList,
    UnsafeUrl,
    UrlPolicy,
    check_addresses,
    parse_url,
    refusal,
)

STRICT = UrlPolicy()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.20", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:127.0.0.1", "loopback (inside an IPv6 address)"),
        ("::ffff:169.254.169.254", "link-local (inside an IPv6 address)"),
        ("64:ff9b::a00:1", "private (inside an IPv6 address)"),
        ("2002:7f00:1::", "loopback (inside an IPv6 address)"),
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
        ("::ffff:93.184.215.14", None),
    ],
)
def test_refusal(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://hooks.example.com/x", "only https"),
        ("ftp://hooks.example.com/x", "must start with https"),
        ("hooks.example.com/x", "must start with https"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://hooks example.com/", "spaces"),
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://[::1]/hook", "loopback"),
        ("https://10.0.0.1/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::ffff:10.0.0.1]/", "private"),
        ("https://bad_host!.example.com/", "not a valid name"),
        ("https://example.com/" + "x" * 2000, "longer than"),
    ],
)
def test_bad_urls(url: str, error: str) -> None:
    with pytest.raises(UnsafeUrl, match=error):
        parse_url(url, STRICT)


def test_a_good_url_is_split_for_pinned_connection() -> None:
    target = parse_url("https://Hooks.Example.com:8443/in?x=1", STRICT)
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "hooks.example.com",
        8443,
        "/in?x=1",
    )
    assert target.host_header == "hooks.example.com:8443"
    assert target.url_for(ipaddress.ip_address("93.184.215.14")) == (
        "https://93.184.215.14:8443/in?x=1"
    )
    assert (
        target.url_for(ipaddress.ip_address("2606:2800::1")) == "https://[2606:2800::1]:8443/in?x=1"
    )
    assert parse_url("https://hooks.example.com", STRICT).host_header == "hooks.example.com"


def test_names_are_checked_on_every_resolved_address() -> None:
    target = parse_url("https://localhost/hook", STRICT)
    with pytest.raises(UnsafeUrl, match=re.escape("localhost resolves to 127.0.0.1, a loopback")):
        check_addresses(target, ["127.0.0.1"], STRICT)
    with pytest.raises(UnsafeUrl, match="::1"):
        check_addresses(target, ["::1"], STRICT)
    mixed = parse_url("https://rebind.example.com/", STRICT)
    with pytest.raises(UnsafeUrl, match=re.escape("resolves to 10.1.2.3, a private")):
        check_addresses(mixed, ["93.184.215.14", "10.1.2.3"], STRICT)
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        check_addresses(mixed, [], STRICT)
    assert check_addresses(mixed, ["93.184.215.14"], STRICT) == [
        ipaddress.ip_address("93.184.215.14")
    ]


def test_operator_allowance_by_network_and_by_name() -> None:
    policy = UrlPolicy(allow_http=True, allowed=AllowList.parse(["127.0.0.1", "hooks.internal"]))
    target = parse_url("http://127.0.0.1:8088/hook", policy)
    assert target.scheme == "http"
    assert check_addresses(target, ["127.0.0.1"], policy)
    # a listed address does not open its neighbours
    with pytest.raises(UnsafeUrl, match=re.escape("127.0.0.2")):
        parse_url("http://127.0.0.2/hook", policy)
    # a listed name is trusted whatever it resolves to
    internal = parse_url("http://hooks.internal/in", policy)
    assert check_addresses(internal, ["10.9.8.7"], policy)
    network = UrlPolicy(allowed=AllowList.parse(["10.20.0.0/16"]))
    assert check_addresses(parse_url("https://10.20.3.4/", network), ["10.20.3.4"], network)
    with pytest.raises(UnsafeUrl):
        parse_url("https://10.21.0.1/", network)


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host", "a/b", "::zz"])
def test_bad_allowance_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        AllowList.parse([entry])
