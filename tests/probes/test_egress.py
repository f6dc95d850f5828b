"""The egress guard: every refused range, odd spelling and allow-list rule."""

from __future__ import annotations

import pytest

from probes.egress import (
    DEFAULT_PORTS,
    LOW_RATE_WITHOUT_PROOF,
    PROBE_SCHEMES,
    Credentials,
    EgressRefused,
    GuardedTarget,
    default_resolver,
    guard_target,
    join_credentials,
    ownership_url,
    parse_allow_list,
    redact_url,
    split_credentials,
)

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"the guard must not resolve an address literal ({host})")


def answers(*addresses: str):
    calls: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(addresses)

    resolver.calls = calls  # type: ignore[attr-defined]
    return resolver


def refused(url: str, allow=None, resolver=no_dns) -> str:
    with pytest.raises(EgressRefused) as info:
        guard_target(url, allow=allow, resolver=resolver, schemes=PROBE_SCHEMES)
    return info.value.reason


# The refusal battery runs for every scheme a probe can aim at.
every_scheme = pytest.mark.parametrize("scheme", PROBE_SCHEMES)


@pytest.mark.parametrize(
    ("address", "what"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("169.254.1.1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("192.88.99.1", "6to4 relay"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("240.0.0.1", "reserved"),
        ("192.0.0.8", "IETF"),
    ],
)
@every_scheme
def test_special_ipv4_ranges_are_refused_with_their_name(
    scheme: str, address: str, what: str
) -> None:
    reason = refused(f"{scheme}://{address}/")
    assert reason.startswith(f"{address} is ")
    assert what in reason


@pytest.mark.parametrize(
    ("address", "what"),
    [
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique local"),
        ("fd12:3456::1", "unique local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("::ffff:8.8.8.8", "IPv4-mapped"),
        ("64:ff9b::808:808", "NAT64"),
        ("2002:808:808::1", "6to4"),
        ("2001:0:4136:e378::1", "Teredo"),
        ("2001:db8::1", "documentation"),
        ("100::1", "discard"),
    ],
)
@every_scheme
def test_special_ipv6_ranges_are_refused_with_their_name(
    scheme: str, address: str, what: str
) -> None:
    reason = refused(f"{scheme}://[{address}]:8080/")
    assert what in reason


@pytest.mark.parametrize(
    "spelling",
    [
        "127.1",
        "127.0.1",
        "2130706433",
        "0x7f.1",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "0177.1",
        "0x7f000001",
        "0X7F000001",
        "127.0.0.1.",
        "127.1.",
        "017700000001",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
    ],
)
@every_scheme
def test_odd_spellings_of_loopback_are_normalised_and_refused(scheme: str, spelling: str) -> None:
    reason = refused(f"{scheme}://{spelling}:8000/x")
    assert reason.startswith("127.0.0.1 is a loopback address")


@pytest.mark.parametrize(
    "spelling",
    [
        "169.254.169.254",
        "2852039166",
        "0xa9.0xfe.0xa9.0xfe",
        "0251.0376.0251.0376",
        "169.254.43518",
    ],
)
@every_scheme
def test_odd_spellings_of_the_metadata_address_are_refused(scheme: str, spelling: str) -> None:
    assert refused(f"{scheme}://{spelling}/latest/meta-data/") == (
        "169.254.169.254 is a cloud metadata address"
    )


@pytest.mark.parametrize("bad", ["256.1.1.1", "1.2.3.4.5", "0x1g.1", "09.1.1.1", "1.2.3.256"])
@every_scheme
def test_numeric_hosts_that_are_not_addresses_are_refused(scheme: str, bad: str) -> None:
    assert "not a valid IPv4 address" in refused(f"{scheme}://{bad}/")


@every_scheme
@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "[fd00:ec2::254]",
        "100.100.100.200",
        "[::ffff:169.254.169.254]",
        "[::ffff:a9fe:a9fe]",
        "[::169.254.169.254]",
        "[64:ff9b::a9fe:a9fe]",
        "[64:ff9b::169.254.169.254]",
        "[64:ff9b:1::a9fe:a9fe]",
        "[64:ff9b:1:ffff::a9fe:a9fe]",
        "[64:ff9b:1:2:3:4:a9fe:a9fe]",
        "[2002:a9fe:a9fe::1]",
        "[2002:a9fe:a9fe:ffff::]",
        "[2001:0:a9fe:a9fe::1]",
        "[2001:0:102:304::5601:5601]",  # Teredo client, obfuscated (bits inverted)
        "[::ffff:100.100.100.200]",
        "[64:ff9b:1::6464:64c8]",
    ],
)
def test_metadata_is_refused_even_when_the_allow_list_opens_everything(
    scheme: str, host: str
) -> None:
    everything = parse_allow_list("0.0.0.0/0, ::/0")
    reason = refused(f"{scheme}://{host}/", allow=everything)
    assert "cloud metadata address" in reason


@every_scheme
def test_private_ranges_need_the_allow_list_for_every_scheme(scheme: str) -> None:
    assert "private" in refused(f"{scheme}://10.0.0.7/")
    assert "loopback" in refused(f"{scheme}://localhost/", None, answers("127.0.0.1"))
    allowed = guard_target(
        f"{scheme}://10.0.0.7/", allow=parse_allow_list("10.0.0.0/8"), schemes=PROBE_SCHEMES
    )
    assert (allowed.address, allowed.port, allowed.allowed_by) == (
        "10.0.0.7",
        DEFAULT_PORTS[scheme],
        "allow-list",
    )


@every_scheme
def test_every_scheme_resolves_once_and_pins_the_address(scheme: str) -> None:
    resolver = answers(PUBLIC_V4, PUBLIC_V6)
    target = guard_target(
        f"{scheme}://broker.example:1234/x", allow=None, resolver=resolver, schemes=PROBE_SCHEMES
    )
    assert resolver.calls == [("broker.example", 1234)]
    assert (target.address, target.host, target.port) == (PUBLIC_V4, "broker.example", 1234)


@every_scheme
def test_credentials_never_pass_the_guard(scheme: str) -> None:
    assert refused(f"{scheme}://guest:s3cret@127.0.0.1/") == (
        "credentials in the URL are not allowed"
    )


def test_broker_schemes_are_refused_where_only_http_is_probed() -> None:
    with pytest.raises(EgressRefused) as info:
        guard_target("amqp://93.184.215.14/", allow=None)
    assert info.value.reason == "scheme 'amqp' is not allowed; use http or https"


def test_default_ports_per_scheme() -> None:
    expected = {"amqp": 5672, "amqps": 5671, "redis": 6379, "nats": 4222, "mqtt": 1883}
    expected |= {"mqtts": 8883, "grpc": 80, "grpcs": 443}
    for scheme, port in expected.items():
        assert guard_target(f"{scheme}://{PUBLIC_V4}", allow=None, schemes=PROBE_SCHEMES).port == (
            port
        )


def test_credentials_split_rejoin_and_redact() -> None:
    url = "amqp://gu%40st:p%3Aw%2F1@127.0.0.1:5672/vh?exchange=orders"
    bare, credentials = split_credentials(url)
    assert bare == "amqp://127.0.0.1:5672/vh?exchange=orders"
    assert credentials == Credentials("gu@st", "p:w/1")
    assert join_credentials(bare, credentials) == url
    assert "p:w/1" not in repr(credentials) and "p:w/1" not in str(credentials)
    assert redact_url(url) == "amqp://***@127.0.0.1:5672/vh?exchange=orders"
    assert split_credentials("redis://127.0.0.1/2") == ("redis://127.0.0.1/2", None)
    assert split_credentials("redis://:only-pw@127.0.0.1/2")[1] == Credentials("", "only-pw")


def test_a_name_on_the_allow_list_still_gets_the_metadata_check() -> None:
    allow = parse_allow_list("metadata.internal")
    reason = refused("http://metadata.internal/", allow, answers("169.254.169.254"))
    assert reason == "169.254.169.254 is a cloud metadata address"


def test_the_allow_list_opens_loopback() -> None:
    target = guard_target("http://127.0.0.1:8001/health", allow=parse_allow_list("127.0.0.0/8"))
    assert target.address == "127.0.0.1"
    assert target.port == 8001
    assert target.allowed_by == "allow-list"
    assert target.path_and_query == "/health"


def test_the_allow_list_covers_odd_spellings_after_normalisation() -> None:
    target = guard_target("http://0x7f.1:9/", allow=parse_allow_list("127.0.0.1/32"))
    assert target.address == "127.0.0.1"
    assert target.host == "127.0.0.1"


def test_a_host_name_on_the_allow_list_allows_exactly_that_name() -> None:
    allow = parse_allow_list("svc.internal.")
    target = guard_target("http://SVC.internal:81/", allow=allow, resolver=answers("10.0.0.5"))
    assert (target.address, target.allowed_by, target.host) == (
        "10.0.0.5",
        "allow-list",
        "svc.internal",
    )
    assert "private" in refused("http://other.internal/", allow, answers("10.0.0.5"))


def test_an_empty_allow_list_is_set_but_opens_nothing() -> None:
    empty = parse_allow_list("")
    assert empty is not None and not empty.networks and not empty.hosts
    assert parse_allow_list(None) is None
    assert parse_allow_list(" , ") == empty
    for allow in (empty, None):
        assert "loopback" in refused("http://127.0.0.1/", allow)
        assert guard_target(f"http://{PUBLIC_V4}/", allow=allow).allowed_by == "public"


def test_a_bad_allow_list_entry_fails_loudly() -> None:
    with pytest.raises(ValueError):
        parse_allow_list("10.0.0.0/8, not a name!")


def test_the_name_is_resolved_once_and_the_first_answer_is_used() -> None:
    answers_given = iter([[PUBLIC_V4], ["127.0.0.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers_given)

    target = guard_target("https://rebind.example/", allow=None, resolver=rebinding)
    assert calls == ["rebind.example"]
    assert target.address == PUBLIC_V4
    assert target.host == "rebind.example"
    assert (target.scheme, target.port, target.allowed_by) == ("https", 443, "public")


def test_every_resolved_address_is_checked() -> None:
    reason = refused("http://mixed.example/", None, answers(PUBLIC_V4, "192.168.0.10"))
    assert reason.startswith("192.168.0.10 is a private address")
    reason = refused("http://mixed.example/", None, answers(PUBLIC_V6, "fe80::1"))
    assert "link-local" in reason


def test_localhost_by_name_is_refused() -> None:
    assert "loopback" in refused("http://localhost/", None, answers("127.0.0.1", "::1"))


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("file:///etc/passwd", "file"),
        ("gopher://127.0.0.1:6379/_INFO", "gopher"),
        ("ftp://example.com/", "ftp"),
        ("dict://example.com/", "dict"),
        ("//example.com/", "(none)"),
    ],
)
def test_only_known_schemes_are_allowed(url: str, scheme: str) -> None:
    with pytest.raises(EgressRefused) as info:
        guard_target(url, allow=None, resolver=no_dns)
    assert info.value.reason == f"scheme {scheme!r} is not allowed; use http or https"
    assert refused(url).startswith(f"scheme {scheme!r} is not allowed; use http, https, grpc")


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pw@example.com/",
        "http://example.com\\@127.0.0.1/",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:80:80/",
        "http://[::1/",
        "http:///nohost",
        "http://exa_$mple.com/",
    ],
)
def test_malformed_or_ambiguous_urls_are_refused(url: str) -> None:
    refused(url)


def test_a_public_address_is_allowed_and_keeps_path_and_query() -> None:
    target = guard_target(f"http://{PUBLIC_V4}./a/b?c=1&d=2", allow=None)
    assert target == GuardedTarget(
        url=f"http://{PUBLIC_V4}./a/b?c=1&d=2",
        scheme="http",
        host=PUBLIC_V4,
        port=80,
        address=PUBLIC_V4,
        path_and_query="/a/b?c=1&d=2",
        allowed_by="public",
    )


def test_ownership_url_points_at_the_well_known_file() -> None:
    target = guard_target("https://api.example.com:8443/x", allow=None, resolver=answers(PUBLIC_V4))
    assert ownership_url(target) == "https://api.example.com:8443/.well-known/archway-probe.txt"
    assert LOW_RATE_WITHOUT_PROOF == (1.0, 60.0)


def test_the_default_resolver_answers_both_families_for_localhost() -> None:
    addresses = default_resolver("localhost", 80)
    assert "127.0.0.1" in addresses or "::1" in addresses
