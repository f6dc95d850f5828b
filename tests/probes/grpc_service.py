"""A tiny gRPC service for probe tests and the bench, described in Python.

``archway.test.Echo/Say`` takes ``EchoRequest {text, repeat}`` and answers
``EchoReply {text}`` (``text`` repeated). The descriptors are built with
``descriptor_pb2`` (no .proto compiler needed) and served with server
reflection and the standard health service.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

SERVICE = "archway.test.Echo"


def _pool() -> descriptor_pool.DescriptorPool:
    proto = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="archway_test_echo.proto", package="archway.test", syntax="proto3"
    )
    request = file.message_type.add(name="EchoRequest")
    request.field.add(name="text", number=1, type=proto.TYPE_STRING, label=proto.LABEL_OPTIONAL)
    request.field.add(name="repeat", number=2, type=proto.TYPE_INT32, label=proto.LABEL_OPTIONAL)
    reply = file.message_type.add(name="EchoReply")
    reply.field.add(name="text", number=1, type=proto.TYPE_STRING, label=proto.LABEL_OPTIONAL)
    service = file.service.add(name="Echo")
    service.method.add(
        name="Say", input_type=".archway.test.EchoRequest", output_type=".archway.test.EchoReply"
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return pool


POOL = _pool()
EchoRequest: Any = message_factory.GetMessageClass(
    POOL.FindMessageTypeByName("archway.test.EchoRequest")
)
EchoReply: Any = message_factory.GetMessageClass(
    POOL.FindMessageTypeByName("archway.test.EchoReply")
)


@dataclass
class EchoServer:
    port: int
    health: Any
    requests: list[Any] = field(default_factory=list)


def _handlers(requests: list[Any]) -> grpc.GenericRpcHandler:
    def say(request: Any, context: grpc.ServicerContext) -> Any:
        if len(requests) < 1000:
            requests.append(request)
        return EchoReply(text=request.text * max(1, request.repeat))

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Say": grpc.unary_unary_rpc_method_handler(
                say,
                request_deserializer=EchoRequest.FromString,
                response_serializer=EchoReply.SerializeToString,
            )
        },
    )


@contextlib.contextmanager
def echo_server(
    *, cert_file: str | None = None, key_file: str | None = None, threads: int = 4
) -> Iterator[EchoServer]:
    """The Echo service with reflection and health on 127.0.0.1 (TLS when given a cert)."""
    requests: list[Any] = []
    server = grpc.server(futures.ThreadPoolExecutor(threads))
    server.add_generic_rpc_handlers((_handlers(requests),))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    reflection.enable_server_reflection((SERVICE, reflection.SERVICE_NAME), server, POOL)
    if cert_file and key_file:
        pair = (Path(key_file).read_bytes(), Path(cert_file).read_bytes())
        port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([pair]))
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield EchoServer(port=port, health=servicer, requests=requests)
    finally:
        server.stop(0.5).wait()


def serve_forever(port: int, threads: int = 8) -> None:
    """Run the Echo service on ``port`` until killed (the bench's subprocess)."""
    server = grpc.server(futures.ThreadPoolExecutor(threads))
    server.add_generic_rpc_handlers((_handlers([]),))
    reflection.enable_server_reflection((SERVICE, reflection.SERVICE_NAME), server, POOL)
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


__all__ = ["EchoReply", "EchoRequest", "EchoServer", "echo_server", "health_pb2", "serve_forever"]
