// TLS on both ports, mutual TLS, and the client certificate as credentials; with the project's
// own clients and with curl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { Agent } from 'undici';
import { UserClient } from '../src/grpc/client.js';
import { RestClient } from '../src/rest/client.js';
import { makeCertificates } from './support/certs.js';
import { grpcFailure } from './support/failures.js';
import { aUser } from './support/helpers.js';
import { startStack } from './support/stack.js';
import { ADMIN_TOKEN } from './support/tokens.js';

const certs = makeCertificates();

interface CurlResult {
  code: number;
  status: number;
  httpVersion: string;
  body: string;
}

/** curl with the test CA: resolves with its exit code, the HTTP status and version, and the body. */
function curl(url: string, args: string[] = []): Promise<CurlResult> {
  return new Promise((resolve) => {
    const write = '\n%{http_code} %{http_version}';
    execFile(
      'curl',
      ['-sS', '--cacert', certs.caCert, '-w', write, ...args, url],
      { timeout: 20_000 },
      (error, stdout) => {
        const lines = stdout.split('\n');
        const [statusCode = '0', httpVersion = ''] = (lines.pop() ?? '').split(' ');
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, status: Number(statusCode), httpVersion, body: lines.join('\n') });
      },
    );
  });
}

const tlsFlags = { 'tls-cert': certs.serverCert, 'tls-key': certs.serverKey };

describe('TLS', () => {
  it('serves gRPC over TLS and REST over HTTPS: the project clients and curl connect with the CA', async () => {
    const stack = await startStack(tlsFlags);
    const user = await stack.app.service.createUser(aUser());
    const grpc = new UserClient({ address: stack.address, token: ADMIN_TOKEN, tls: { ca: certs.read(certs.caCert) } });
    assert.equal((await grpc.getUser({ id: user.id })).id, user.id);
    grpc.close();
    const baseUrl = `https://127.0.0.1:${stack.rest.port}`;
    // Node's fetch takes undici's dispatcher option, which its RequestInit type does not list.
    const init: RequestInit & { dispatcher: Agent } = {
      dispatcher: new Agent({ connect: { ca: certs.read(certs.caCert) } }),
    };
    const rest = new RestClient(baseUrl, ADMIN_TOKEN, init);
    assert.equal((await rest.getUser(user.id)).email, user.email);
    const viaCurl = await curl(`${baseUrl}/users/${user.id}`, ['-H', `authorization: Bearer ${ADMIN_TOKEN}`]);
    assert.equal(viaCurl.status, 200);
    assert.equal((JSON.parse(viaCurl.body) as { id: string }).id, user.id);
    const plain = new UserClient({ address: stack.address, token: ADMIN_TOKEN, defaultDeadlineMs: 2000 });
    assert.equal((await grpcFailure(plain.getUser({ id: user.id }))).code, status.UNAVAILABLE, 'no plaintext gRPC');
    plain.close();
  });

  it('speaks HTTP/2 by ALPN with --rest-http2, and HTTP/1.1 to clients that do not offer it', async () => {
    const stack = await startStack({ ...tlsFlags, 'rest-http2': 'true' });
    const url = `https://127.0.0.1:${stack.rest.port}/healthz`;
    assert.equal((await curl(url, ['--http2'])).httpVersion, '2');
    assert.equal((await curl(url, ['--http1.1'])).httpVersion, '1.1');
  });
});

describe('mutual TLS', () => {
  it('refuses clients without a certificate the CA signed, on both ports', async () => {
    const stack = await startStack({ ...tlsFlags, 'tls-client-ca': certs.caCert });
    const refused = await curl(`https://127.0.0.1:${stack.rest.port}/users`, [
      '-H',
      `authorization: Bearer ${ADMIN_TOKEN}`,
    ]);
    assert.notEqual(refused.code, 0, 'the TLS handshake fails');
    const grpc = new UserClient({
      address: stack.address,
      token: ADMIN_TOKEN,
      tls: { ca: certs.read(certs.caCert) },
      defaultDeadlineMs: 3000,
    });
    assert.equal((await grpcFailure(grpc.getUser({ id: 'x' }))).code, status.UNAVAILABLE);
    grpc.close();
  });

  it('takes the certificate as credentials: CN is the subject, OU=admin an admin, any other unit a user', async () => {
    const stack = await startStack({ ...tlsFlags, 'tls-client-ca': certs.caCert });
    const [me, other] = await stack.app.service.createUsers([aUser(), aUser()]);
    const admin = certs.client('operator', 'admin');
    const user = certs.client(me!.id, 'users');
    const base = `https://127.0.0.1:${stack.rest.port}`;
    const asAdmin = ['--cert', admin.cert, '--key', admin.key];
    const asUser = ['--cert', user.cert, '--key', user.key];
    assert.equal((await curl(`${base}/users/${other!.id}`, asAdmin)).status, 200, 'no token needed');
    const seen = await curl(`${base}/users/${other!.id}`, asUser);
    assert.equal((JSON.parse(seen.body) as { email: string }).email, '', 'a user sees no other email');
    const patch = ['-X', 'PATCH', '-H', 'content-type: application/json', '-d', '{"name":"x"}'];
    assert.equal((await curl(`${base}/users/${other!.id}`, [...asUser, ...patch])).status, 403);
    assert.equal((await curl(`${base}/users/${me!.id}`, [...asUser, ...patch])).status, 200);

    const grpc = new UserClient({
      address: stack.address,
      tls: { ca: certs.read(certs.caCert), cert: certs.read(admin.cert), key: certs.read(admin.key) },
    });
    assert.equal((await grpc.getUser({ id: other!.id })).email, other!.email, 'an admin by its certificate');
    grpc.close();
  });
});
