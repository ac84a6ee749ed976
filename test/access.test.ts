// Identity and access on every protocol: who may call (authentication), what each caller may do
// (authorization, the OWASP API cases), and how much (rate limits).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { ErrorCode } from '../src/domain/errors.js';
import { UserClient } from '../src/grpc/client.js';
import { RestClient } from '../src/rest/client.js';
import { PROTOCOLS } from '../src/clients/users-api.js';
import { type Api, apiWithToken, failsWith } from './support/apis.js';
import { grpcFailure } from './support/failures.js';
import { aUser, until } from './support/helpers.js';
import { openSse } from './support/sse.js';
import { type LogLine, type Stack, startStack } from './support/stack.js';
import { bearer, TEST_JWT_SECRET, tokenOf } from './support/tokens.js';

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token with exactly these claims, signed (HS256) with `key`. */
const signed = (claims: Record<string, unknown>, key = secret) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);

/** Every protocol's client, acting with `token` (none: anonymous). */
const clientsOf = (stack: Stack, token?: string): Api[] =>
  PROTOCOLS.map((protocol) => apiWithToken(stack, protocol, token));

describe('authentication', async () => {
  const stack = await startStack({ 'jwt-issuer': 'https://issuer.test', 'jwt-audience': 'twinapi' });
  const valid = { sub: 'admin', role: 'admin', iss: 'https://issuer.test', aud: 'twinapi' };
  const user = await stack.app.service.createUser(aUser());
  const rejected: [string, () => Promise<string | undefined>][] = [
    ['no token', async () => undefined],
    ['an expired token', () => signed({ ...valid, exp: now() - 60 })],
    ['a token not valid yet', () => signed({ ...valid, nbf: now() + 3600, exp: now() + 7200 })],
    ['a token from another issuer', () => signed({ ...valid, iss: 'https://elsewhere.test', exp: now() + 60 })],
    ['a token for another audience', () => signed({ ...valid, aud: 'someone-else', exp: now() + 60 })],
    [
      'a token with a bad signature',
      () => signed({ ...valid, exp: now() + 60 }, new TextEncoder().encode('x'.repeat(40))),
    ],
    [
      'an unsigned token (alg: none)',
      async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...valid, exp: now() + 60 })}.`,
    ],
    ['a malformed token', async () => 'not.a.token'],
    ['a token without a role', () => signed({ sub: 'x', iss: valid.iss, aud: valid.aud, exp: now() + 60 })],
  ];

  for (const [name, token] of rejected) {
    it(`refuses ${name}: 401 / UNAUTHENTICATED on gRPC, REST and SSE`, async () => {
      const value = await token();
      for (const api of clientsOf(stack, value)) await failsWith(api, api.getUser(user.id), ErrorCode.UNAUTHENTICATED);
      const response = await fetch(`${stack.baseUrl}/users/${user.id}`, { headers: value ? bearer(value) : {} });
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer /);
      const sse = await fetch(`${stack.baseUrl}/users/events${value ? `?access_token=${value}` : ''}`);
      assert.equal(sse.status, 401);
      assert.equal(((await sse.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    });
  }

  it('refuses an Authorization that is not a bearer token', async () => {
    const response = await fetch(`${stack.baseUrl}/users/${user.id}`, {
      headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
    });
    assert.equal(response.status, 401);
  });

  it('guards HEAD as it guards GET: 401 without a token, 200 with one', async () => {
    // Fastify adds a HEAD route beside each GET; the route-bound hooks must reach it too.
    for (const path of [`/users/${user.id}`, '/users']) {
      const anonymous = await fetch(`${stack.baseUrl}${path}`, { method: 'HEAD' });
      assert.equal(anonymous.status, 401, path);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer /);
      const token = await signed({ ...valid, exp: now() + 60 });
      const known = await fetch(`${stack.baseUrl}${path}`, { method: 'HEAD', headers: bearer(token) });
      assert.equal(known.status, 200, path);
    }
  });

  it('takes a valid token in the header, and in ?access_token= on the event stream only', async () => {
    const token = await signed({ ...valid, exp: now() + 60 });
    for (const api of clientsOf(stack, token)) assert.equal((await api.getUser(user.id)).id, user.id);
    const sse = openSse(stack.baseUrl, `/users/events?access_token=${token}`, {});
    assert.equal((await sse.response).statusCode, 200);
    sse.close();
    const elsewhere = await fetch(`${stack.baseUrl}/users/${user.id}?access_token=${token}`);
    assert.equal(elsewhere.status, 401, 'other routes take no token in the URL');
  });

  it('leaves health, readiness, the OpenAPI document, the docs, gRPC health and reflection open', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs/']) {
      assert.equal((await fetch(`${stack.baseUrl}${path}`)).status, 200, path);
    }
    const anonymous = new UserClient({ address: stack.address });
    const health = await grpcFailure(anonymous.getUser({ id: user.id }));
    assert.equal(health.code, status.UNAUTHENTICATED, 'the user service is not open');
    anonymous.close();
  });
});

describe('authorization', async () => {
  const stack = await startStack();
  const [me, other] = await stack.app.service.createUsers([aUser(), aUser()]);
  const asUser = clientsOf(stack, await tokenOf('user', me!.id));

  for (const api of asUser) {
    describe(`as a user over ${api.name}`, () => {
      it("reads every user, but only its own email (object-level: another user's data)", async () => {
        assert.equal((await api.getUser(me!.id)).email, me!.email);
        const seen = await api.getUser(other!.id);
        assert.equal(seen.name, other!.name);
        assert.equal(seen.email, '', "another user's email is hidden");
        const listed = await api.listAll();
        assert.ok(
          listed.every((u) => u.id === me!.id || u.email === ''),
          'listing hides the emails too',
        );
        assert.equal(listed.find((u) => u.id === me!.id)?.email, me!.email);
      });

      it("never shares an encoding with an admin's read of the same version (the representation cache keeps hidden emails apart)", async () => {
        const asAdmin = clientsOf(stack, await tokenOf('admin')).find((a) => a.name === api.name)!;
        // The admin reads first (the full form is encoded and kept), then the user, then the admin again.
        assert.equal((await asAdmin.getUser(other!.id)).email, other!.email);
        assert.equal((await api.getUser(other!.id)).email, '', 'the kept full form is not the hidden one');
        assert.equal(
          (await asAdmin.getUser(other!.id)).email,
          other!.email,
          'the kept hidden form is not the full one',
        );
        const listedByAdmin = await asAdmin.listAll();
        assert.equal(listedByAdmin.find((u) => u.id === other!.id)?.email, other!.email);
        assert.equal((await api.listAll()).find((u) => u.id === other!.id)?.email, '');
      });

      it('changes and deletes only itself (object-level), refused by name; a missing user is still 404', async () => {
        const update = await failsWith(
          api,
          api.updateUser(other!.id, { name: 'Hijacked' }),
          ErrorCode.PERMISSION_DENIED,
        );
        assert.equal(update.metadata.rule, 'updateSelfOnly');
        const remove = await failsWith(api, api.deleteUser(other!.id), ErrorCode.PERMISSION_DENIED);
        assert.equal(remove.metadata.rule, 'deleteSelfOnly');
        await failsWith(
          api,
          api.updateUser('01a21000-0000-7000-8000-000000000000', { name: 'x' }),
          ErrorCode.USER_NOT_FOUND,
        );
        assert.equal((await stack.app.service.getUser(other!.id)).name, other!.name, 'nothing changed');
        assert.equal((await api.updateUser(me!.id, { name: `Me over ${api.name}` })).name, `Me over ${api.name}`);
      });

      it('never changes a role, its own included (property-level)', async () => {
        const error = await failsWith(
          api,
          api.updateUser(me!.id, { role: 'USER_ROLE_ADMIN' }),
          ErrorCode.PERMISSION_DENIED,
        );
        assert.equal(error.metadata.rule, 'roleRequiresAdmin');
        assert.equal((await stack.app.service.getUser(me!.id)).role, 'USER_ROLE_USER');
      });

      it('creates no user, one or a batch (function-level)', async () => {
        const one = await failsWith(
          api,
          api.createUser({ ...aUser(), role: 'USER_ROLE_ADMIN' }),
          ErrorCode.PERMISSION_DENIED,
        );
        assert.equal(one.metadata.rule, 'createRequiresAdmin');
        await failsWith(api, api.createUsers([aUser()]), ErrorCode.PERMISSION_DENIED);
      });

      it("watches every change, with other users' emails hidden in the events", async () => {
        const watch = api.watch({ userIds: [me!.id, other!.id] });
        await until(() => stack.app.service.openWatches > 0, 'the watch');
        await stack.app.service.updateUser(other!.id, { fields: ['tags'], changes: { tags: [api.name] } });
        await stack.app.service.updateUser(me!.id, { fields: ['tags'], changes: { tags: [api.name] } });
        const [theirs, mine] = await watch.take(2);
        watch.close();
        assert.equal(theirs?.user.email, '');
        assert.equal(mine?.user.email, me!.email);
        await until(() => stack.app.service.openWatches === 0, 'the watch to end');
      });
    });
  }

  it('lets a user delete itself, and an admin anyone', async () => {
    const [self, target] = await stack.app.service.createUsers([aUser(), aUser()]);
    const [, rest] = clientsOf(stack, await tokenOf('user', self!.id));
    await rest!.deleteUser(self!.id);
    await stack.restClient.deleteUser(target!.id);
    assert.deepEqual(
      (await Promise.allSettled([stack.app.service.getUser(self!.id), stack.app.service.getUser(target!.id)])).map(
        (r) => r.status,
      ),
      ['rejected', 'rejected'],
    );
  });
});

describe('rate limits', () => {
  it('gives each caller a token bucket: past it 429 with Retry-After and RateLimit-* / RESOURCE_EXHAUSTED with RetryInfo and QuotaFailure', async () => {
    const stack = await startStack({ 'rate-limit-rps': '1', 'rate-limit-burst': '3' });
    const user = await stack.app.service.createUser(aUser());
    const token = await tokenOf('user', user.id);
    const rest = new RestClient(stack.baseUrl, token);
    for (let i = 0; i < 3; i++) await rest.getUser(user.id);
    const refused = await fetch(`${stack.baseUrl}/users/${user.id}`, { headers: bearer(token) });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(refused.headers.get('ratelimit-limit'), '1');
    assert.equal(refused.headers.get('ratelimit-remaining'), '0');
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');

    const grpc = await grpcFailure(new UserClient({ address: stack.address, token }).getUser({ id: user.id }));
    assert.equal(grpc.code, status.RESOURCE_EXHAUSTED);
    assert.equal(grpc.errorType, 'RATE_LIMITED');
    assert.ok((grpc.retryInfo?.retryDelay?.seconds ?? 0) >= 1);
    assert.equal(grpc.quotaFailure?.violations[0]?.subject, user.id, "the quota is the caller's");

    // Another caller has its own bucket.
    assert.equal((await stack.restClient.getUser(user.id)).id, user.id);
  });

  it('caps the watch streams one caller holds (429 / RESOURCE_EXHAUSTED), without touching another caller', async () => {
    const stack = await startStack({ 'max-watch-streams-per-principal': '1' });
    const user = await stack.app.service.createUser(aUser());
    const token = await tokenOf('user', user.id);
    const first = openSse(stack.baseUrl, '/users/events', bearer(token));
    assert.equal((await first.response).statusCode, 200);
    const second = await fetch(`${stack.baseUrl}/users/events`, { headers: bearer(token) });
    assert.equal(second.status, 429);
    const watch = new UserClient({ address: stack.address, token }).watchUsers();
    watch.send({});
    const grpc = await grpcFailure(
      (async () => {
        for await (const _ of watch.events) {
          // none come
        }
      })(),
    );
    assert.equal(grpc.code, status.RESOURCE_EXHAUSTED);
    const admins = openSse(stack.baseUrl);
    assert.equal((await admins.response).statusCode, 200, 'another caller still watches');
    first.close();
    admins.close();
  });

  it('shares buckets between instances through Redis', async () => {
    const flags = { 'rate-limit-rps': '1', 'rate-limit-burst': '4', 'redis-url': 'redis://127.0.0.1:6379' };
    const a = await startStack(flags);
    const b = await startStack({ ...flags, db: a.config.db });
    const user = await a.app.service.createUser(aUser());
    // A subject no other run has used: the buckets live in the machine's Redis.
    const token = await tokenOf('user', `${user.id}-${Date.now()}`);
    const answers: number[] = [];
    for (let i = 0; i < 8; i++) {
      const stack = i % 2 === 0 ? a : b;
      answers.push((await fetch(`${stack.baseUrl}/users/${user.id}`, { headers: bearer(token) })).status);
    }
    assert.deepEqual(answers, [200, 200, 200, 200, 429, 429, 429, 429], 'one bucket of 4 across both instances');
  });

  it('keeps limiting, each instance alone, when Redis cannot be reached, and says so', async () => {
    const logs: LogLine[] = [];
    const stack = await startStack(
      { 'rate-limit-rps': '1', 'rate-limit-burst': '2', 'redis-url': 'redis://127.0.0.1:1', 'log-level': 'warn' },
      { logs },
    );
    const user = await stack.app.service.createUser(aUser());
    const token = await tokenOf('user', user.id);
    const answers: number[] = [];
    for (let i = 0; i < 3; i++)
      answers.push((await fetch(`${stack.baseUrl}/users/${user.id}`, { headers: bearer(token) })).status);
    assert.deepEqual(answers, [200, 200, 429]);
    assert.ok(
      logs.some((l) => /cannot reach Redis/.test(l.msg)),
      'a warning says so',
    );
  });
});

describe('--auth none', () => {
  it('takes every caller as an admin, and warns at startup', async () => {
    const logs: LogLine[] = [];
    const stack = await startStack({ auth: 'none', 'log-level': 'warn' }, { logs });
    assert.ok(logs.some((l) => l.level === 40 && /--auth none/.test(l.msg)));
    const [grpc, rest] = clientsOf(stack);
    const created = await rest!.createUser(aUser());
    assert.equal((await grpc!.getUser(created.id)).email, created.email);
  });
});
