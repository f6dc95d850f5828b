"""gRPC unary calls for the runner: one HTTP/2 channel, a slot per call in flight.

A target ``grpc://host:port/package.Service/Method`` with a JSON body is
encoded once, before the run, through the server's reflection service
(``grpc.reflection.v1alpha``): the method's input type is looked up, the JSON
parsed into it with ``json_format`` and serialised; every call then sends
those bytes. Without a method (path ``/``) the probe calls the standard
health check (``grpc.health.v1.Health/Check``) and counts an answer other
than SERVING as an error.

The channel connects to the guarded address (``ipv4:a.b.c.d:port``, no new
DNS lookup) and sends the registered host name as ``:authority``; with
``grpcs`` the certificate is verified against that name
(``grpc.ssl_target_name_override``), not against the address.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from probes.engine.model import Target

if TYPE_CHECKING:
    from probes.engine.runner import _Run

HEALTH_METHOD = "/grpc.health.v1.Health/Check"
TLS_SCHEMES = ("grpcs",)


class GrpcSetupError(ValueError):
    """The method could not be resolved or the JSON body not encoded."""


@dataclass(frozen=True)
class GrpcMethod:
    channel: Any
    call: Any  # grpc.aio.UnaryUnaryMultiCallable taking and returning bytes
    request: bytes
    health_check: bool


def channel_target(target: Target) -> str:
    if ":" in target.address:
        return f"ipv6:[{target.address}]:{target.port}"
    return f"ipv4:{target.address}:{target.port}"


def channel_options(target: Target) -> list[tuple[str, Any]]:
    authority = f"[{target.host}]" if ":" in target.host else target.host
    options: list[tuple[str, Any]] = [("grpc.default_authority", f"{authority}:{target.port}")]
    if target.scheme in TLS_SCHEMES:
        options.append(("grpc.ssl_target_name_override", target.host))
    return options


def _credentials(target: Target) -> Any:
    import grpc

    roots = None
    if target.ca_file:
        with open(target.ca_file, "rb") as fh:
            roots = fh.read()
    return grpc.ssl_channel_credentials(root_certificates=roots)


def method_path(target: Target) -> str:
    """``/package.Service/Method`` from the target's path, or the health check."""
    path = (target.path or "/").split("?", 1)[0]
    if path in ("", "/"):
        return HEALTH_METHOD
    parts = path.strip("/").split("/")
    if len(parts) != 2 or not all(parts) or "." not in parts[0]:
        raise GrpcSetupError(
            f"gRPC path {path!r} is not /package.Service/Method (or / for the health check)"
        )
    return f"/{parts[0]}/{parts[1]}"


def _reflected_input(target: Target, path: str) -> Any:
    """An empty message of the method's input type, looked up by server reflection."""
    import grpc
    from google.protobuf import descriptor_pool, message_factory
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    if target.scheme in TLS_SCHEMES:
        channel = grpc.secure_channel(
            channel_target(target), _credentials(target), options=channel_options(target)
        )
    else:
        channel = grpc.insecure_channel(channel_target(target), options=channel_options(target))
    with channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=target.timeout_s)
        except grpc.FutureTimeoutError as exc:
            raise OSError("the gRPC server did not answer") from exc
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        service_name, name = path.strip("/").split("/")
        try:
            method = pool.FindServiceByName(service_name).methods_by_name[name]
        except KeyError as exc:
            raise GrpcSetupError(
                f"the server's reflection does not know {service_name}/{name}"
            ) from exc
        except grpc.RpcError as exc:
            raise GrpcSetupError(
                f"the server does not answer reflection for {service_name}/{name} "
                f"({exc.code().name})"
            ) from exc
        return message_factory.GetMessageClass(method.input_type)()


def encode_request(target: Target, path: str) -> bytes:
    """The request message's bytes, via server reflection (blocking, run once)."""
    from google.protobuf import json_format

    if path == HEALTH_METHOD:
        from grpc_health.v1 import health_pb2

        message: Any = health_pb2.HealthCheckRequest()
    else:
        message = _reflected_input(target, path)
    try:
        json_format.Parse(target.body.decode("utf-8") if target.body else "{}", message)
    except (json_format.ParseError, UnicodeDecodeError) as exc:
        raise GrpcSetupError(
            f"the JSON body is not a valid {message.DESCRIPTOR.full_name}: {exc}"
        ) from exc
    return cast(bytes, message.SerializeToString())


async def open_grpc(target: Target) -> GrpcMethod:
    """Resolve and encode once, then open the channel the run's calls share."""
    import grpc

    path = method_path(target)
    request = await asyncio.get_running_loop().run_in_executor(None, encode_request, target, path)
    if target.scheme in TLS_SCHEMES:
        channel = grpc.aio.secure_channel(
            channel_target(target), _credentials(target), options=channel_options(target)
        )
    else:
        channel = grpc.aio.insecure_channel(channel_target(target), options=channel_options(target))
    try:
        await asyncio.wait_for(channel.channel_ready(), target.timeout_s)
    except TimeoutError as exc:
        await channel.close()
        raise OSError("the gRPC server did not answer") from exc
    return GrpcMethod(
        channel=channel,
        call=channel.unary_unary(path),
        request=request,
        health_check=path == HEALTH_METHOD,
    )


def error_class(code: Any) -> str:
    """A status code as an error class: timeout, connect or ``grpc_<name>``."""
    name = getattr(code, "name", str(code))
    if name == "DEADLINE_EXCEEDED":
        return "timeout"
    if name == "UNAVAILABLE":
        return "connect"
    return f"grpc_{name.lower()}"


class GrpcSlot:
    """One call in flight on the shared channel.

    A long-lived coroutine per slot waits for its next call, so a call costs
    a future rather than a new task.
    """

    handles_own_timeout = True  # the call's deadline
    shares_transport = True

    def __init__(self, run: _Run, method: GrpcMethod, timeout_s: float) -> None:
        self.run = run
        self.method = method
        self.timeout_s = timeout_s
        self.busy = False
        self.measured = False
        self.intended = 0.0
        self.sent_at = 0.0
        self.closed = False
        loop = asyncio.get_running_loop()
        self.next_call: asyncio.Future[None] = loop.create_future()
        self.task = loop.create_task(self._calls())

    def send(self, intended: float, now: float, measured: bool) -> None:
        self.busy = True
        self.measured = measured
        self.intended = intended
        self.sent_at = now
        if not self.next_call.done():
            self.next_call.set_result(None)

    def close(self) -> None:
        self.closed = True
        if not self.task.done():
            self.task.cancel()

    async def _calls(self) -> None:
        import grpc

        loop = asyncio.get_running_loop()
        method = self.method
        run = self.run
        while not self.closed:
            await self.next_call
            self.next_call = loop.create_future()
            try:
                answer = await method.call(method.request, timeout=self.timeout_s)
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as exc:
                run.fail(self, error_class(exc.code()))
                continue
            except grpc.aio.UsageError:
                run.fail(self, "connect")
                continue
            if method.health_check and not _serving(answer):
                run.fail(self, "grpc_not_serving")
                continue
            run.done(self, 0, None, True)


def _serving(answer: bytes) -> bool:
    from grpc_health.v1 import health_pb2

    status = health_pb2.HealthCheckResponse.FromString(answer).status
    return cast(bool, status == health_pb2.HealthCheckResponse.SERVING)
