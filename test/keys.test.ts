// Where the key that verifies tokens comes from, `twinapi token`, and the token cache.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { cachedVerifier } from '../src/access/tokens.js';
import { secretFileFor } from '../src/access/keys.js';
import { RestClient, RestError } from '../src/rest/client.js';
import pg from 'pg';
import { freshSchemaUrl, schemaOf } from './support/databases.js';
import { POSTGRES_URL, postgresUnreachable } from './support/engine.js';
import { aUserJson, tempDir } from './support/helpers.js';
import { spawnServe, startServeProcess } from './support/serve-process.js';
import { startStack } from './support/stack.js';
import { ADMIN_TOKEN } from './support/tokens.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;

/** `twinapi <args>` as a user runs it: resolves with the exit code, stdout and stderr. */
function twinapi(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const now = () => Math.floor(Date.now() / 1000);

async function sqlRows(text: string): Promise<{ n: number }[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<{ n: number }>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('a generated secret beside the SQLite database', () => {
  it(
    'is made once (mode 0600) by `twinapi token` or `serve`, and tokens survive a restart',
    { timeout: 60_000 },
    async () => {
      const db = join(tempDir(), 'keys.db');
      const token = await twinapi(['token', '--role', 'admin', '--db', db]);
      assert.equal(token.code, 0, token.stderr);
      assert.match(token.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'one JWT on stdout, nothing else');
      assert.equal(statSync(secretFileFor(db)).mode & 0o777, 0o600);

      for (let start = 0; start < 2; start++) {
        const server = await startServeProcess({ db, 'jwt-secret': '' });
        const rest = new RestClient(server.restUrl, token.stdout.trim());
        const created = await rest.createUser(aUserJson());
        assert.ok(created.id, `start ${start + 1}: the token printed before it started is accepted`);
        assert.equal(await server.stop(), 0);
      }
    },
  );
});

describe('`twinapi token`', () => {
  it('says what is wrong, on one line, with a non-zero exit', async () => {
    const db = join(tempDir(), 'cli.db');
    for (const [args, reason] of [
      [['--role', 'root'], /--role must be admin or user/],
      [['--role', 'user'], /--sub <user id>/],
      [['--role', 'admin', '--ttl', 'forever'], /--ttl forever/],
      [['--role', 'admin', '--auth', 'none'], /takes no tokens/],
    ] as const) {
      const result = await twinapi(['token', ...args, '--db', db]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr.trim().split('\n').at(-1)!, reason);
    }
  });
});

describe('PostgreSQL without a configured key', async () => {
  const unreachable = await postgresUnreachable();
  it(
    'refuses to start, with a one-line reason',
    { skip: unreachable && !process.env.CI ? unreachable : false },
    async () => {
      const db = await freshSchemaUrl();
      const serve = spawnServe({ db, 'jwt-secret': '' });
      assert.equal(await serve.exited, 1);
      const lines = serve.stderr().trim().split('\n');
      assert.equal(lines.length, 1, serve.stderr());
      assert.match(lines[0]!, /--auth jwt on PostgreSQL needs --jwt-secret/);
      const tables = await sqlRows(
        `select count(*)::int as n from information_schema.tables where table_schema = '${schemaOf(db)}'`,
      );
      assert.equal(tables[0]?.n, 0, 'it refused before touching the database');
    },
  );
});

describe('keys of an identity provider', () => {
  it('verifies tokens with a public key file (ES256), and refuses HS256 ones', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const file = join(tempDir(), 'provider.pem');
    writeFileSync(file, await exportSPKI(publicKey));
    const stack = await startStack({ 'jwt-secret': '', 'jwt-public-key-file': file });
    const token = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('provider-admin')
      .setExpirationTime(now() + 60)
      .sign(privateKey);
    assert.ok((await new RestClient(stack.baseUrl, token).createUser(aUserJson())).id);
    const refused = await new RestClient(stack.baseUrl, ADMIN_TOKEN).createUser(aUserJson()).catch((e: unknown) => e);
    assert.ok(refused instanceof RestError && refused.status === 401, 'an HS256 token is not accepted');
  });

  it('verifies tokens with the JWKS of an identity provider (RS256), by key id', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const provider = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    provider.listen(0, '127.0.0.1');
    await once(provider, 'listening');
    after(() => provider.close());
    const url = `http://127.0.0.1:${(provider.address() as { port: number }).port}/.well-known/jwks.json`;
    const stack = await startStack({ 'jwt-secret': '', 'jwt-jwks-url': url });
    const sign = (kid: string) =>
      new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setSubject('sso')
        .setExpirationTime(now() + 60)
        .sign(privateKey);
    assert.ok((await new RestClient(stack.baseUrl, await sign('k1')).createUser(aUserJson())).id);
    const unknown = await new RestClient(stack.baseUrl, await sign('k2'))
      .createUser(aUserJson())
      .catch((e: unknown) => e);
    assert.ok(unknown instanceof RestError && unknown.status === 401);
  });
});

describe('the token cache', () => {
  it('verifies a token once until it expires, and never keeps a failure', async () => {
    let clock = 1_000_000;
    let verified = 0;
    const verify = cachedVerifier(
      async (token) => {
        verified++;
        if (token === 'bad') throw new Error('bad');
        return { subject: token, role: 'user', expiresAt: 1_000_000 + 60_000 };
      },
      () => clock,
    );
    await verify('good');
    await verify('good');
    assert.equal(verified, 1, 'the second call came from the cache');
    await assert.rejects(async () => verify('bad'));
    await assert.rejects(async () => verify('bad'));
    assert.equal(verified, 3, 'failures are verified each time');
    clock += 61_000;
    await verify('good');
    assert.equal(verified, 4, 'an expired entry is verified again');
  });
});
