// The gRPC ceiling: node:http2 answering every call with a pre-encoded gRPC frame and OK trailers.
import { createServer } from 'node:http2';
import { announce, portOf, serverSettings } from './entry.js';

const { userProtobufBase64 } = serverSettings<{ userProtobufBase64: string }>();
const message = Buffer.from(userProtobufBase64, 'base64');
const frame = Buffer.alloc(5 + message.length);
frame.writeUInt32BE(message.length, 1);
message.copy(frame, 5);

const server = createServer();
server.on('stream', (stream) => {
  stream.on('data', () => {});
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frame);
  });
});
server.listen(0, '127.0.0.1', () => {
  announce({ grpc: portOf(server.address()) }, async () => {
    server.close();
  });
});
