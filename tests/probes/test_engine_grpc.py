"""gRPC probes against a server started by the test (reflection and health on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.egress import PROBE_SCHEMES, guard_target, parse_allow_list
from probes.engine import (
    GrpcSetupError,
    LoadPlan,
    Target,
    decode_histogram,
    merge_outcomes,
    run_probe_sync,
    summary,
)
from tests.probes.brokers import make_certificates, to_loopback
from tests.probes.grpc_service import echo_server, health_pb2
from tests.probes.outcomes import SUMMARY_KEYS

LOOPBACK = parse_allow_list("127.0.0.0/8")


def grpc_target(url: str, body: bytes = b"", resolver=None, **kwargs) -> Target:
    extra = {"resolver": resolver} if resolver is not None else {}
    guarded = guard_target(url, allow=LOOPBACK, schemes=PROBE_SCHEMES, **extra)
    return Target.from_guarded(guarded, body=body, **kwargs)


def short(model: str, **kw) -> LoadPlan:
    return LoadPlan(model, **(dict(rate=150, concurrency=4, duration_s=0.6, warmup_s=0.1) | kw))


@pytest.mark.parametrize("model", ["open", "closed"])
def test_a_json_body_is_encoded_through_reflection_and_called(model: str) -> None:
    with echo_server() as server:
        url = f"grpc://127.0.0.1:{server.port}/archway.test.Echo/Say"
        outcome = run_probe_sync(grpc_target(url, b'{"text": "hi", "repeat": 3}'), short(model))
        received = list(server.requests)
    s = summary(outcome)
    assert set(s) == SUMMARY_KEYS
    assert outcome.kind == "grpc" and outcome.errors == {}
    assert s["requests"] > 0 and outcome.completed == s["requests"]
    if model == "open":
        assert s["requests"] == round(150 * 0.6)
    assert received and all((r.text, r.repeat) == ("hi", 3) for r in received)
    assert decode_histogram(outcome.histogram).get_total_count() == outcome.completed


def test_without_a_method_the_health_check_is_called() -> None:
    with echo_server() as server:
        target = grpc_target(f"grpc://127.0.0.1:{server.port}")
        serving = run_probe_sync(target, short("closed", duration_s=0.3))
        server.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        down = run_probe_sync(target, short("open", duration_s=0.3))
    assert serving.errors == {} and serving.completed > 0
    assert down.completed == 0 and down.errors == {"grpc_not_serving": down.requests}


def test_an_unknown_method_is_refused_before_the_run() -> None:
    with echo_server() as server:
        url = f"grpc://127.0.0.1:{server.port}/archway.test.Echo/Nope"
        with pytest.raises(GrpcSetupError, match="does not know archway.test.Echo/Nope"):
            run_probe_sync(grpc_target(url, b"{}"), short("open"))


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/archway.test.Echo/Say", b'{"txt": 1}', "not a valid archway.test.EchoRequest"),
        ("/archway.test.Echo/Say", b"{not json", "not a valid archway.test.EchoRequest"),
        ("/Say", b"{}", "is not /package.Service/Method"),
    ],
)
def test_bad_bodies_and_paths_are_refused_before_the_run(
    path: str, body: bytes, message: str
) -> None:
    with echo_server() as server:
        target = grpc_target(f"grpc://127.0.0.1:{server.port}{path}", body)
        with pytest.raises(GrpcSetupError, match=message):
            run_probe_sync(target, short("open"))


def test_grpc_shards_merge_exactly() -> None:
    with echo_server() as server:
        target = grpc_target(f"grpc://127.0.0.1:{server.port}/archway.test.Echo/Say", b"{}")
        whole = short("open", rate=100)
        shards = [run_probe_sync(target, whole.for_shard(k, 2)) for k in range(2)]
    merged = merge_outcomes(shards)
    assert merged.requests == round(100 * 0.6) and merged.kind == "grpc"


def test_a_server_that_is_gone_fails_the_setup() -> None:
    from tests.probes.servers import free_port

    target = grpc_target(
        f"grpc://127.0.0.1:{free_port()}/archway.test.Echo/Say", b"{}", timeout_s=0.5
    )
    with pytest.raises(OSError):
        run_probe_sync(target, short("open"))


def test_grpcs_verifies_the_registered_name_on_the_pinned_address(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path, "svc.test")
    with echo_server(cert_file=certs.cert_file, key_file=certs.key_file) as server:
        url = f"grpcs://svc.test:{server.port}/archway.test.Echo/Say"
        target = grpc_target(
            url, b'{"text": "x"}', to_loopback, ca_file=certs.ca_file, timeout_s=1.0
        )
        assert (target.address, target.host) == ("127.0.0.1", "svc.test")
        outcome = run_probe_sync(target, short("closed", duration_s=0.3))
        assert outcome.completed > 0 and outcome.errors == {}
        wrong = grpc_target(
            f"grpcs://other.test:{server.port}/archway.test.Echo/Say",
            b"{}",
            to_loopback,
            ca_file=certs.ca_file,
            timeout_s=1.0,
        )
        with pytest.raises(OSError):
            run_probe_sync(wrong, short("closed", duration_s=0.3))
