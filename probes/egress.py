"""The egress guard: decides whether a probe may send traffic to a URL.

Pure Python (no Django): settings are passed in. The guard

1. accepts only the schemes its caller names (``http``/``https`` by default,
   :data:`PROBE_SCHEMES` for broker and gRPC probes) and parses the host carefully,
   normalising the spellings a browser or curl would accept for the same
   address (``127.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``,
   ``[::ffff:127.0.0.1]``, trailing dots ...) before any check;
2. resolves a host name exactly ONCE and checks EVERY address it resolved to,
   so a name that answers ``[public, private]`` is refused and a DNS answer
   that changes between the check and the connect (DNS rebinding) cannot
   matter: the probe connects to ``GuardedTarget.address``, never re-resolves;
3. refuses loopback, private, shared (CGNAT), link-local, unique-local,
   multicast, broadcast, unspecified, documentation/reserved and the
   IPv6 transition ranges (IPv4-mapped, NAT64, 6to4, Teredo) unless the
   administrator's allow-list covers them;
4. refuses cloud metadata addresses whatever the allow-list says, including
   when they are embedded in an IPv6 transition address: IPv4-mapped and
   IPv4-compatible, NAT64 (``64:ff9b::/96`` and the local-use
   ``64:ff9b:1::/48``, IPv4 in the last 32 bits), 6to4 and Teredo.

Credentials never pass the guard: a broker URL's ``user:password@`` is taken
out with :func:`split_credentials` first (stored apart by the caller) and
the bare URL is guarded; :func:`redact_url` is what error messages may show.

Allow-list semantics (``ARCHWAY_PROBE_ALLOW``, parsed by :func:`parse_allow_list`):

* unset (``None``): the default policy: public addresses are allowed
  (``allowed_by="public"``; the caller then asks for an ownership proof or
  keeps to :data:`LOW_RATE_WITHOUT_PROOF`), every special range is refused;
* set: the value is the WHOLE list of exceptions, nothing implicit is added;
  ``""`` is set but empty, so nothing beyond the default policy is allowed.
  An entry is a CIDR (``10.0.0.0/8``), a bare address, or a host name; a host
  name opens exactly that name (its resolved addresses are still checked
  against the metadata addresses).

Redirects are never followed by the engine, so a public target cannot bounce
the probe to an internal address: the engine only records status and Location.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

OWNERSHIP_PATH = "/.well-known/archway-probe.txt"
# Without an ownership proof a public target may only be probed gently.
LOW_RATE_WITHOUT_PROOF = (1.0, 60.0)  # (requests per second, seconds)

ALLOWED_SCHEMES = ("http", "https")
# Every scheme a probe can aim at, with its default port and kind. TLS schemes
# verify the certificate against the registered host name, not the address.
DEFAULT_PORTS = {
    "http": 80,
    "https": 443,
    "grpc": 80,
    "grpcs": 443,
    "amqp": 5672,
    "amqps": 5671,
    "redis": 6379,
    "rediss": 6379,
    "nats": 4222,
    "nats+tls": 4222,
    "tls": 4222,
    "mqtt": 1883,
    "mqtts": 8883,
}
PROBE_SCHEMES = tuple(DEFAULT_PORTS)
SCHEME_KINDS = {
    "http": "http",
    "https": "http",
    "grpc": "grpc",
    "grpcs": "grpc",
    "amqp": "amqp",
    "amqps": "amqp",
    "redis": "redis",
    "rediss": "redis",
    "nats": "nats",
    "nats+tls": "nats",
    "tls": "nats",
    "mqtt": "mqtt",
    "mqtts": "mqtt",
}
TLS_SCHEMES = frozenset({"https", "grpcs", "amqps", "rediss", "nats+tls", "tls", "mqtts"})

# Refused whatever the allow-list says: they hand out cloud credentials.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack ...
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)


def _net(cidr: str) -> IPNetwork:
    return ipaddress.ip_network(cidr)


# Order matters: the first matching range names the reason, so the more
# specific ranges come before the ranges that contain them.
SPECIAL_RANGES: tuple[tuple[IPNetwork, str], ...] = (
    (_net("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_net("127.0.0.0/8"), "a loopback address"),
    (_net("10.0.0.0/8"), "a private address"),
    (_net("172.16.0.0/12"), "a private address"),
    (_net("192.168.0.0/16"), "a private address"),
    (_net("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (_net("169.254.0.0/16"), "a link-local address"),
    (_net("192.0.0.0/24"), "an IETF protocol assignment address"),
    (_net("192.0.2.0/24"), "a documentation address"),
    (_net("198.51.100.0/24"), "a documentation address"),
    (_net("203.0.113.0/24"), "a documentation address"),
    (_net("192.88.99.0/24"), "a 6to4 relay anycast address"),
    (_net("198.18.0.0/15"), "a benchmarking address"),
    (_net("224.0.0.0/4"), "a multicast address"),
    (_net("255.255.255.255/32"), "the broadcast address"),
    (_net("240.0.0.0/4"), "a reserved address"),
    (_net("::/128"), "the unspecified address"),
    (_net("::1/128"), "a loopback address"),
    (_net("::ffff:0:0/96"), "an IPv4-mapped address"),
    (_net("::/96"), "an IPv4-compatible (deprecated) address"),
    (_net("64:ff9b::/96"), "a NAT64 address"),
    (_net("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_net("100::/64"), "a discard-only address"),
    (_net("2001::/32"), "a Teredo address"),
    (_net("2001:db8::/32"), "a documentation address"),
    (_net("2001::/23"), "an IETF protocol assignment address"),
    (_net("2002::/16"), "a 6to4 address"),
    (_net("3fff::/20"), "a documentation address"),
    (_net("fc00::/7"), "a unique local address"),
    (_net("fe80::/10"), "a link-local address"),
    (_net("fec0::/10"), "a site-local (deprecated) address"),
    (_net("ff00::/8"), "a multicast address"),
)


class EgressRefused(Exception):  # noqa: N818 - the name is part of the public API
    """The guard refused a target; ``reason`` is one sentence naming why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AllowList:
    """Networks and exact host names an administrator opened for probing."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    def covers(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)

    def names(self, host: str) -> bool:
        return _normalise_name(host) in self.hosts


@dataclass(frozen=True)
class GuardedTarget:
    """A checked target: connect to ``address``, send ``Host: host``."""

    url: str
    scheme: str
    host: str  # the original name, for the Host header and TLS SNI
    port: int
    address: str  # the checked IP address the probe must connect to
    path_and_query: str
    allowed_by: str  # "allow-list" | "public"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def parse_allow_list(value: str | None) -> AllowList | None:
    """Parse ``ARCHWAY_PROBE_ALLOW``: comma-separated CIDRs, addresses and names.

    ``None`` (unset) gives ``None``: the default policy. ``""`` gives an empty
    allow-list. A bad entry raises ``ValueError`` so a typo fails at start-up
    instead of silently opening or closing something.
    """
    if value is None:
        return None
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        name = _normalise_name(entry)
        if not _is_host_name(name) or _looks_numeric(name):
            raise ValueError(
                f"ARCHWAY_PROBE_ALLOW entry {entry!r} is neither a CIDR nor a host name"
            )
        hosts.add(name)
    return AllowList(networks=tuple(networks), hosts=frozenset(hosts))


def default_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with ``getaddrinfo`` (IPv4 and IPv6), in the order given."""
    try:
        infos = socket.getaddrinfo(host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EgressRefused(f"{host} could not be resolved ({exc})") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    return addresses


def guard_target(
    url: str,
    *,
    allow: AllowList | None,
    resolver: Resolver = default_resolver,
    schemes: tuple[str, ...] = ALLOWED_SCHEMES,
) -> GuardedTarget:
    """Check ``url`` and return where the probe may connect, or raise EgressRefused.

    ``schemes`` names the schemes this caller can probe (HTTP by default;
    :data:`PROBE_SCHEMES` for every kind).
    """
    scheme, host, port, path_and_query, literal = _split(url, schemes)
    if literal is not None:
        addresses = [literal]
        by_name = False
    else:
        answers = resolver(host, port)  # the one and only resolution
        if not answers:
            raise EgressRefused(f"{host} did not resolve to any address")
        addresses = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
            except ValueError as exc:
                raise EgressRefused(f"{host} resolved to {answer!r}, not an address") from exc
        by_name = allow is not None and allow.names(host)

    verdicts = [
        _check(address, allow=allow, name_allowed=by_name, host=host) for address in addresses
    ]
    allowed_by = "allow-list" if all(v == "allow-list" for v in verdicts) else "public"
    return GuardedTarget(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        address=str(addresses[0]),
        path_and_query=path_and_query,
        allowed_by=allowed_by,
    )


def ownership_url(target: GuardedTarget) -> str:
    """The URL of the ownership proof file on the target's host."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    port = "" if target.port == DEFAULT_PORTS[target.scheme] else f":{target.port}"
    return f"{target.scheme}://{host}{port}{OWNERSHIP_PATH}"


# --- credentials ---------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """A broker login taken out of a URL; its repr never shows the secret."""

    username: str
    password: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return (
            f"Credentials(username={self.username!r}, password={'***' if self.password else ''!r})"
        )

    __str__ = __repr__


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """``amqp://u:p@host/vh`` -> (``amqp://host/vh``, Credentials("u", "p")).

    The user name and password are percent-decoded. A URL without ``@`` in
    its authority comes back unchanged with ``None``.
    """
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return bare, Credentials(unquote(user), unquote(password))


def join_credentials(url: str, credentials: Credentials | None) -> str:
    """The inverse of :func:`split_credentials` (percent-encodes both parts)."""
    if credentials is None:
        return url
    parts = urlsplit(url)
    userinfo = quote(credentials.username, safe="")
    if credentials.password:
        userinfo += ":" + quote(credentials.password, safe="")
    netloc = f"{userinfo}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact_url(url: str) -> str:
    """``url`` with any user name and password replaced by ``***`` (for messages)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    hostport = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{hostport}", parts.path, parts.query, parts.fragment))


# --- checks -------------------------------------------------------------------


def _check(address: IPAddress, *, allow: AllowList | None, name_allowed: bool, host: str) -> str:
    """Return how ``address`` is allowed ("allow-list" | "public") or raise."""
    shown = str(address)
    metadata = _metadata_in(address)
    if metadata is not None:
        if metadata == address:
            raise EgressRefused(f"{shown} is a cloud metadata address")
        raise EgressRefused(f"{shown} embeds the cloud metadata address {metadata}")
    inner = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if name_allowed or (
        allow is not None and (allow.covers(address) or (inner is not None and allow.covers(inner)))
    ):
        return "allow-list"
    if inner is not None:
        # ::ffff:a.b.c.d reaches a.b.c.d: name the IPv4 address when it is special.
        for network, what in SPECIAL_RANGES:
            if inner.version == network.version and inner in network:
                raise EgressRefused(
                    f"{inner} is {what} (written as the IPv4-mapped {shown}); "
                    "add it to ARCHWAY_PROBE_ALLOW to probe it"
                )
    for network, what in SPECIAL_RANGES:
        if address.version == network.version and address in network:
            suffix = "" if host == shown else f" ({host} resolved or normalised to it)"
            raise EgressRefused(
                f"{shown} is {what}{suffix}; add it to ARCHWAY_PROBE_ALLOW to probe it"
            )
    if not address.is_global:
        raise EgressRefused(f"{shown} is not a globally routable address")
    return "public"


# IPv6 prefixes whose last 32 bits are an IPv4 address the packet reaches.
_LAST_32_BITS_V4 = (_net("64:ff9b::/96"), _net("64:ff9b:1::/48"))


def _metadata_in(address: IPAddress) -> IPAddress | None:
    """The metadata address ``address`` is or embeds, if any."""
    if address in METADATA_ADDRESSES:
        return address
    if isinstance(address, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if address.ipv4_mapped is not None:
            embedded.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.append(address.teredo[1])
            embedded.append(address.teredo[0])
        packed = address.packed
        if packed[:12] == bytes(12) or any(address in net for net in _LAST_32_BITS_V4):
            embedded.append(ipaddress.IPv4Address(packed[12:]))
        for inner in embedded:
            if inner in METADATA_ADDRESSES:
                return inner
    return None


# --- parsing ------------------------------------------------------------------


def _split(url: str, schemes: tuple[str, ...]) -> tuple[str, str, int, str, IPAddress | None]:
    """Split and normalise ``url``: (scheme, host, port, path_and_query, literal)."""
    if any(ch in url for ch in "\r\n\t\x00 ") or not url.isprintable():
        raise EgressRefused("the URL contains whitespace or control characters")
    if "\\" in url:
        raise EgressRefused("the URL contains a backslash, which clients read differently")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise EgressRefused(f"the URL could not be parsed ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        shown = scheme or "(none)"
        choices = " or ".join(schemes) if len(schemes) <= 2 else ", ".join(schemes)
        raise EgressRefused(f"scheme {shown!r} is not allowed; use {choices}")
    netloc = parts.netloc
    if "@" in netloc:
        raise EgressRefused("credentials in the URL are not allowed")
    if not netloc:
        raise EgressRefused("the URL has no host")

    if netloc.startswith("["):
        close = netloc.find("]")
        if close < 0:
            raise EgressRefused("the URL has an unclosed '[' in its host")
        raw_host, rest = netloc[1:close], netloc[close + 1 :]
        if rest and not rest.startswith(":"):
            raise EgressRefused("the URL has text after the bracketed host")
        port_text = rest[1:] if rest else ""
        try:
            literal: IPAddress | None = ipaddress.IPv6Address(raw_host.split("%", 1)[0])
        except ValueError as exc:
            raise EgressRefused(f"[{raw_host}] is not a valid IPv6 address") from exc
    else:
        raw_host, _, port_text = netloc.partition(":")
        if ":" in port_text:
            raise EgressRefused("the URL host has more than one ':'")
        literal = None

    port = _port(port_text, scheme)
    if literal is not None:
        host = str(literal)
    else:
        host = _normalise_name(raw_host)
        if not host:
            raise EgressRefused("the URL has no host")
        if _looks_numeric(host):
            v4 = _parse_ipv4(host)
            if v4 is None:
                raise EgressRefused(f"{raw_host!r} is not a valid IPv4 address")
            literal = v4
            host = str(v4)
        elif not _is_host_name(host):
            raise EgressRefused(f"{raw_host!r} is not a valid host name")

    path = parts.path or "/"
    path_and_query = f"{path}?{parts.query}" if parts.query else path
    return scheme, host, port, path_and_query, literal


def _port(text: str, scheme: str) -> int:
    if not text:
        return DEFAULT_PORTS[scheme]
    if not text.isdigit():
        raise EgressRefused(f"port {text!r} is not a number")
    port = int(text)
    if not 0 < port < 65536:
        raise EgressRefused(f"port {port} is out of range")
    return port


def _normalise_name(name: str) -> str:
    name = name.strip().rstrip(".").lower()
    try:
        return name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return name


def _is_host_name(name: str) -> bool:
    if not name or len(name) > 253:
        return False
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
    return all(
        0 < len(label) <= 63 and set(label) <= allowed and not label.startswith("-")
        for label in name.split(".")
    )


def _looks_numeric(name: str) -> bool:
    """True when the last label is a number, so clients parse the host as IPv4.

    This follows the WHATWG URL "ends in a number" rule: ``1.2.3.0x10`` and
    ``2130706433`` are IPv4 addresses, ``10.example`` is a name.
    """
    last = name.rstrip(".").rsplit(".", 1)[-1]
    if not last:
        return False
    if last.isdigit():
        return True
    return last[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in last[2:])


def _parse_ipv4(name: str) -> ipaddress.IPv4Address | None:
    """inet_aton-style parsing: 1 to 4 parts, each decimal, 0x-hex or 0-octal.

    The last part fills all the remaining bytes, so ``127.1`` is 127.0.0.1 and
    ``2130706433`` is 127.0.0.1, exactly as curl and browsers connect.
    """
    parts = name.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        try:
            if part[:2] in ("0x", "0X"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)
