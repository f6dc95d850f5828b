"""The egress guard on any string: a GuardedTarget or EgressRefused, never another
exception, and never a cloud metadata address, whatever the allow-list says."""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes.egress import EgressRefused, GuardedTarget, guard_target, parse_allow_list

PROPERTY_SETTINGS = settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
ALLOW_LISTS = [None, parse_allow_list(""), parse_allow_list("127.0.0.0/8"),
               parse_allow_list("0.0.0.0/0,::/0"), parse_allow_list("example.test")]  # fmt: skip
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}

host_spellings = st.one_of(
    st.ip_addresses().map(lambda a: f"[{a}]" if a.version == 6 else str(a)),
    st.integers(min_value=-1, max_value=2**130).map(str),
    st.from_regex(r"\A(0x[0-9a-fA-F]{1,10}|0[0-7]{1,12}|[0-9]{1,4})(\.(0x[0-9a-f]{1,4}|[0-9]{1,4})){0,4}\.?\Z"),
    st.from_regex(r"\A[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}\.?\Z"),
    st.sampled_from(["169.254.169.254", "[64:ff9b:1::a9fe:a9fe]", "[::ffff:a9fe:a9fe]",
                     "[2002:a9fe:a9fe::]", "[fd00:ec2::254]", "metadata.google.internal"]),
    st.text(max_size=40),
)  # fmt: skip
urls = st.one_of(
    st.builds(
        lambda scheme, userinfo, host, port, path: f"{scheme}://{userinfo}{host}{port}{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "file", "gopher", ""]),
        st.sampled_from(["", "user@", "a:b@", "@"]),
        host_spellings,
        st.one_of(st.just(""), st.integers(-5, 70_000).map(lambda p: f":{p}"), st.text(max_size=8)),
        st.text(max_size=30),
    ),
    st.text(max_size=200),
)
# What a resolver may answer: addresses (any kind), junk, or nothing.
answers = st.lists(
    st.one_of(st.ip_addresses().map(str), st.text(max_size=20), st.just("fe80::1%eth0")),
    max_size=4,
)


@PROPERTY_SETTINGS
@given(url=urls, allow=st.sampled_from(ALLOW_LISTS), resolved=answers)
def test_any_target_is_guarded_or_refused_and_never_metadata(url, allow, resolved):
    try:
        target = guard_target(url, allow=allow, resolver=lambda host, port: list(resolved))
    except EgressRefused:
        return
    assert isinstance(target, GuardedTarget)
    assert target.scheme in ("http", "https")
    address = ipaddress.ip_address(target.address)
    assert address not in METADATA
    embedded = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
    assert embedded not in METADATA
