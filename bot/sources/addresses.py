"""Which network addresses Bulletin may fetch from (ARCHITECTURE.md, Security).

A URL pasted by a moderator must not make the bot talk to itself, the host's private network or
a cloud metadata service. So every address a fetch would connect to is checked: addresses written
in the URL (in every spelling a C resolver accepts: `2130706433`, `0177.0.0.1`, `0x7f.1`,
`::ffff:127.0.0.1`) and every address a host name resolves to. The check is done inside the
resolver the HTTP client connects with, so the address checked is the address connected to and a
DNS answer that changes between a check and a connect (rebinding) cannot slip through.

Ports: any port is allowed on a public address (a public service on :8080 is as public as one on
:443; what needs protecting lives on private addresses, which are refused whatever the port).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from bot.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# 64:ff9b::/96 maps IPv4 into IPv6 for NAT64 gateways: the IPv4 address inside is what is reached.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class AddressRefused(FetchError):
    """The address a URL leads to is not public and the config does not allow it."""


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """Read HOST as the C library's inet_aton would, or return None if it is not numeric.

    inet_aton takes 1 to 4 dot-separated parts, each decimal, octal (leading 0) or hex (0x);
    the last part fills all remaining bytes: `127.1` is 127.0.0.1, `2130706433` is too.
    A resolver handed such a name connects to that address, so it must be checked as one.
    """
    text = host[:-1] if host.endswith(".") else host
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _parse_number(part)
        if value is None:
            return None
        values.append(value)
    # Every part but the last is one byte; the last fills what is left.
    for value in values[:-1]:
        if value > 0xFF:
            return None
    remaining_bits = 8 * (4 - (len(values) - 1))
    if values[-1] >= 1 << remaining_bits:
        return None
    number = 0
    for value in values[:-1]:
        number = (number << 8) | value
    number = (number << remaining_bits) | values[-1]
    return ipaddress.IPv4Address(number)


def _parse_number(part: str) -> int | None:
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            digits = lowered[2:]
            # "0x" alone is accepted by glibc as zero.
            return int(digits, 16) if digits else 0
        if len(lowered) > 1 and lowered.startswith("0"):
            return int(lowered[1:], 8)
        if lowered.isdigit() and lowered.isascii():
            return int(lowered, 10)
    except ValueError:
        return None
    return None


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address HOST names without DNS: an IPv6 literal or a loose IPv4 spelling."""
    bare = host.strip("[]")
    if ":" in bare:
        try:
            return ipaddress.IPv6Address(bare)
        except ValueError:
            return None
    return parse_ipv4_loose(bare)


def refusal_reason(address: IPAddress) -> str | None:
    """Why ADDRESS may not be fetched from (e.g. "loopback"), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal_reason(embedded)
            return f"{reason} (inside an IPv6 address)" if reason else None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        # fec0::/10, deprecated but still routed inside some networks
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and routes to, if it is one of those forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _format_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which non-public addresses are allowed anyway (config `allow_private_addresses`).

    `allow_all` lets everything through (tests, the demo); `allowed` holds "host:port" strings,
    lower case, IPv6 hosts in brackets. An entry matches the host name as written in the URL or
    the address it resolved to, on that port only.
    """

    allow_all: bool = False
    allowed: frozenset[str] = frozenset()

    @classmethod
    def from_setting(cls, setting: bool | Iterable[str]) -> AddressPolicy:
        if isinstance(setting, bool):
            return cls(allow_all=setting)
        return cls(allowed=frozenset(entry.lower() for entry in setting))

    def check(self, address: IPAddress, port: int, host: str | None = None) -> None:
        """Raise AddressRefused unless ADDRESS (reached as HOST, on PORT) may be fetched from."""
        reason = refusal_reason(address)
        if reason is None or self.allow_all:
            return
        candidates = {_format_host_port(str(address), port)}
        if host is not None:
            candidates.add(_format_host_port(host.lower().rstrip("."), port))
        if candidates & self.allowed:
            return
        shown = host if host is not None and host != str(address) else str(address)
        detail = f" ({address})" if shown != str(address) else ""
        raise AddressRefused(f"address refused: {shown}{detail} is {reason}")

    def check_literal(self, host: str, port: int) -> None:
        """Check a host written as an address (any spelling); host names are left to DNS."""
        address = parse_ip_literal(host)
        if address is not None:
            self.check(address, port, host)


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that answers only with addresses the policy allows.

    aiohttp connects to exactly the addresses its resolver returns, so checking them here closes
    the gap a separate "resolve, check, then connect" would leave open to DNS rebinding. A host
    is refused when any of its addresses is refused, so a name cannot mix a public address with
    a private one and hope the private one gets tried.
    """

    def __init__(self, policy: AddressPolicy, base: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._base = base

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        literal = parse_ip_literal(host)
        if literal is not None:
            # A loose numeric spelling: answer it ourselves, as the C resolver would.
            self._policy.check(literal, port, host)
            is_v6 = isinstance(literal, ipaddress.IPv6Address)
            return [
                ResolveResult(
                    hostname=host,
                    host=str(literal),
                    port=port,
                    family=socket.AF_INET6 if is_v6 else socket.AF_INET,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            ]
        if self._base is None:
            self._base = ThreadedResolver()
        results = await self._base.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            self._policy.check(address, port, host)
        return results

    async def close(self) -> None:
        if self._base is not None:
            await self._base.close()
