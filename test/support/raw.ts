// Clients that send exactly the bytes a test gives them, for inputs no well-behaved client sends.
import { once } from 'node:events';
import net from 'node:net';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { ADMIN_TOKEN } from './tokens.js';

const identity = (bytes: Buffer) => bytes;

/** A gRPC call of `method` (e.g. `GetUser`), as an admin, whose request messages are these raw bytes; rejects with the error it ends with. */
export async function rawGrpc(
  address: string,
  method: string,
  messages: Buffer[],
  options: { stream?: 'client' | 'bidi' } = {},
) {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${ADMIN_TOKEN}`);
  const path = `/users.v1.UserService/${method}`;
  const deadline = new Date(Date.now() + 10_000);
  try {
    return await new Promise((resolve, reject) => {
      const done = (error: Error | null, value?: unknown) => (error ? reject(error) : resolve(value));
      if (options.stream === 'bidi') {
        const call = client.makeBidiStreamRequest(path, identity, identity, metadata, { deadline });
        call.on('data', () => {});
        call.on('error', reject);
        call.on('end', () => resolve(undefined));
        for (const message of messages) call.write(message);
        // A watch does not end when the client half-closes: it ends on the error, or at the deadline.
        return;
      }
      if (options.stream === 'client') {
        const call = client.makeClientStreamRequest(path, identity, identity, metadata, { deadline }, done);
        void (async () => {
          for (const message of messages) if (!call.write(message)) await once(call, 'drain');
          call.end();
        })();
        return;
      }
      client.makeUnaryRequest(path, identity, identity, messages[0]!, metadata, { deadline }, done);
    });
  } finally {
    client.close();
  }
}

/** Sends `text` on a plain TCP connection and resolves with everything the server answers before closing. */
export function rawHttp(port: number, text: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', () => {});
  });
}

/** The status and JSON body of a raw HTTP answer. */
export function parseHttp(answer: string): { status: number; headers: string; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  let parsed: unknown = body;
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON: the test says what it expected
  }
  return { status, headers: head.toLowerCase(), body: parsed };
}
