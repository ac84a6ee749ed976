// The HTTP/1.1 ceiling: node:http answering every request with pre-encoded JSON bytes.
import { createServer } from 'node:http';
import { announce, portOf, serverSettings } from './entry.js';

const { userJson } = serverSettings<{ userJson: string }>();
const body = Buffer.from(userJson);
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
const server = createServer((_request, response) => {
  response.writeHead(200, headers);
  response.end(body);
});
server.listen(0, '127.0.0.1', () => {
  announce({ http: portOf(server.address()) }, async () => {
    server.closeAllConnections();
    server.close();
  });
});
