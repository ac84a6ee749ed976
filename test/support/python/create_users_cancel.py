"""A C-core gRPC client (Debian's python3-grpcio) that streams CreateUsers requests and cancels
before it has sent them all. C-core cancels with a bare RST_STREAM, without half-closing first.

argv: address, a bearer token, then each request as hex-encoded users.v1.CreateUserRequest bytes.
stdout: "sent" once every request is written; then it waits for a line on stdin and cancels;
finally "code <StatusCode name>".
"""
import sys
import threading

import grpc

address, token, *requests = sys.argv[1:]
cancel = threading.Event()


def stream():
    for hex_bytes in requests:
        yield bytes.fromhex(hex_bytes)
    print("sent", flush=True)
    cancel.wait()  # never half-closes: the batch is not complete


channel = grpc.insecure_channel(address)
create_users = channel.stream_unary(
    "/users.v1.UserService/CreateUsers",
    request_serializer=lambda b: b,
    response_deserializer=lambda b: b,
)
future = create_users.future(stream(), metadata=(("authorization", f"Bearer {token}"),))
sys.stdin.readline()
future.cancel()
cancel.set()
try:
    future.result()
    print("code OK", flush=True)
except grpc.FutureCancelledError:
    print("code CANCELLED", flush=True)
except grpc.RpcError as error:
    print("code", error.code().name, flush=True)
channel.close()
