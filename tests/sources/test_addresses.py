"""The address policy on its own: spellings, classes of address, allow lists, the resolver."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.sources.addresses import (
    AddressPolicy,
    AddressRefused,
    GuardedResolver,
    parse_ip_literal,
    parse_ipv4_loose,
    refusal_reason,
)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("10.0.1", "10.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("93.184.216.34", "93.184.216.34"),
    ],
)
def test_loose_ipv4_spellings_read_as_the_c_resolver_does(host, expected):
    assert parse_ipv4_loose(host) == ipaddress.IPv4Address(expected)


@pytest.mark.parametrize(
    "host",
    ["example.com", "1.2.3.4.5", "256.1.1.1", "1.2.65536", "4294967296", "08.0.0.1", "", "1..2"],
)
def test_names_and_out_of_range_numbers_are_not_addresses(host):
    assert parse_ipv4_loose(host) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [("[::1]", "::1"), ("::ffff:127.0.0.1", "::ffff:7f00:1"), ("0x7f.1", "127.0.0.1")],
)
def test_ip_literals_include_ipv6(host, expected):
    assert parse_ip_literal(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not globally routable"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback (inside an IPv6 address)"),
        ("::ffff:169.254.169.254", "link-local (inside an IPv6 address)"),
        ("2002:7f00:1::1", "loopback (inside an IPv6 address)"),
        ("64:ff9b::a00:1", "private (inside an IPv6 address)"),
        ("::7f00:1", "loopback (inside an IPv6 address)"),
    ],
)
def test_non_public_addresses_are_refused_with_their_reason(address, reason):
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address):
    assert refusal_reason(ipaddress.ip_address(address)) is None


LOOPBACK = ipaddress.ip_address("127.0.0.1")


def test_policy_refuses_private_by_default():
    with pytest.raises(AddressRefused, match=r"^address refused: 127\.0\.0\.1 is loopback$"):
        AddressPolicy().check(LOOPBACK, 80)


def test_policy_allow_all_lets_private_through():
    AddressPolicy.from_setting(True).check(LOOPBACK, 80)


def test_policy_allow_list_matches_address_and_port():
    AddressPolicy.from_setting(["127.0.0.1:8080"]).check(LOOPBACK, 8080)


def test_policy_allow_list_is_per_port():
    with pytest.raises(AddressRefused):
        AddressPolicy.from_setting(["127.0.0.1:8080"]).check(LOOPBACK, 8081)


def test_policy_allow_list_matches_host_name():
    AddressPolicy.from_setting(["localhost:8080"]).check(LOOPBACK, 8080, "LocalHost")


def test_policy_allow_list_takes_bracketed_ipv6():
    AddressPolicy.from_setting(["[::1]:8080"]).check(ipaddress.ip_address("::1"), 8080)


def test_policy_allows_any_port_on_public_addresses():
    AddressPolicy().check(ipaddress.ip_address("93.184.216.34"), 6379)


def test_policy_message_shows_spelling_and_address():
    with pytest.raises(AddressRefused, match=r"0x7f\.1 \(127\.0\.0\.1\) is loopback"):
        AddressPolicy().check_literal("0x7f.1", 80)


def test_policy_leaves_host_names_to_dns():
    AddressPolicy().check_literal("example.com", 80)


class ScriptedDNS(AbstractResolver):
    """DNS answers given in advance, one list per lookup (the last repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        answer = self.answers[min(len(self.lookups), len(self.answers)) - 1]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in answer
        ]

    async def close(self) -> None:
        pass


async def test_resolver_passes_public_answers():
    resolver = GuardedResolver(AddressPolicy(), ScriptedDNS(["93.184.216.34"]))
    results = await resolver.resolve("news.example", 443)
    assert [r["host"] for r in results] == ["93.184.216.34"]


async def test_resolver_refuses_a_name_with_any_private_answer():
    resolver = GuardedResolver(AddressPolicy(), ScriptedDNS(["93.184.216.34", "10.0.0.7"]))
    with pytest.raises(AddressRefused, match=r"news\.example \(10\.0\.0\.7\) is private"):
        await resolver.resolve("news.example", 443)


async def test_resolver_checks_every_lookup_so_rebinding_is_refused():
    dns = ScriptedDNS(["93.184.216.34"], ["169.254.169.254"])
    resolver = GuardedResolver(AddressPolicy(), dns)
    await resolver.resolve("rebind.example", 80)
    with pytest.raises(AddressRefused, match="link-local"):
        await resolver.resolve("rebind.example", 80)


async def test_resolver_answers_numeric_spellings_itself():
    dns = ScriptedDNS(["93.184.216.34"])
    resolver = GuardedResolver(AddressPolicy.from_setting(True), dns)
    results = await resolver.resolve("2130706433", 80)
    assert ([r["host"] for r in results], dns.lookups) == (["127.0.0.1"], [])


async def test_resolver_refuses_numeric_spellings_of_private_addresses():
    resolver = GuardedResolver(AddressPolicy(), ScriptedDNS(["93.184.216.34"]))
    with pytest.raises(AddressRefused, match="loopback"):
        await resolver.resolve("0177.0.0.1", 80)
