"""A C-core gRPC client (Debian's python3-grpcio) that calls GetUser with its request compressed.

argv: address, a bearer token, the compression ("gzip" or "deflate"), the hex-encoded
users.v1.GetUserRequest bytes.
stdout: "ok <hex-encoded users.v1.User bytes>", or "code <StatusCode name> <details>".
"""
import sys

import grpc

address, token, compression, request = sys.argv[1:]
algorithm = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}[compression]
channel = grpc.insecure_channel(address, compression=algorithm)
get_user = channel.unary_unary(
    "/users.v1.UserService/GetUser",
    request_serializer=lambda b: b,
    response_deserializer=lambda b: b,
)
try:
    response = get_user(bytes.fromhex(request), metadata=(("authorization", f"Bearer {token}"),), timeout=10)
    print("ok", response.hex(), flush=True)
except grpc.RpcError as error:
    print("code", error.code().name, error.details(), flush=True)
