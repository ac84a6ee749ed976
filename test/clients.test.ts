// Clients for every stack: the OpenAPI document passes Redocly's recommended lint, a TypeScript
// client generated from it (openapi-typescript + openapi-fetch) type-checks and calls every
// operation, and the `twinapi users` CLI works end to end over each protocol.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import openapiTS, { astToString } from 'openapi-typescript';
import { PROTOCOLS, type Protocol } from '../src/clients/users-api.js';
import { EXIT_CODE_OF } from '../src/cli/users.js';
import { freePort } from '../src/app/free-port.js';
import { markdownTable, ROOT } from './support/readme.js';
import { startStack } from './support/stack.js';
import { ADMIN_TOKEN } from './support/tokens.js';

const stack = await startStack();
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);

/** A folder inside the project (gitignored), so generated code resolves the project's packages. */
function workDir(label: string): string {
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  return mkdtempSync(join(ROOT, 'tmp', `${label}-`));
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: ROOT, timeout: timeoutMs, env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('the OpenAPI document', () => {
  it("passes Redocly's recommended lint with no error and no warning; every operation has an operationId", async () => {
    const document = (await (await fetch(`${stack.baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const file = join(workDir('openapi'), 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    const lint = await run(bin('redocly'), ['lint', '--extends', 'recommended', '--format', 'json', file]);
    const report = JSON.parse(lint.stdout) as { totals: { errors: number; warnings: number }; problems: unknown[] };
    assert.deepEqual(report.totals, { ...report.totals, errors: 0, warnings: 0 }, JSON.stringify(report.problems));
    assert.equal(lint.code, 0, lint.stderr);
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => `${method.toUpperCase()} ${path} ${operation.operationId}`),
    );
    assert.deepEqual(operations.sort(), [
      'DELETE /users/{id} deleteUser',
      'GET /healthz getLiveness',
      'GET /readyz getReadiness',
      'GET /users listUsers',
      'GET /users/events watchUsers',
      'GET /users/{id} getUser',
      'PATCH /users/{id} updateUser',
      'POST /users createUser',
      'POST /users/batch createUsers',
    ]);
  });
});

// The program a user would write against the generated types: strict, no casts.
const GENERATED_CLIENT = `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

const [baseUrl, token] = process.argv.slice(2) as [string, string];
const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } });
const email = (label: string) => \`\${label}-\${Date.now()}@generated.example\`;

const liveness = await client.GET('/healthz');
const readiness = await client.GET('/readyz');
const created = await client.POST('/users', { body: { name: 'Generated One', email: email('one'), tags: ['generated'] } });
// Every field of a User is optional in the schema (\`?fields=\` returns a subset), as in Google's APIs.
const id = created.data?.id;
if (id === undefined) throw new Error(\`create: \${created.response.status}\`);
const got = await client.GET('/users/{id}', { params: { path: { id } } });
const listed = await client.GET('/users', { params: { query: { filter: 'Generated', limit: 10 } } });
const updated = await client.PATCH('/users/{id}', { params: { path: { id } }, body: { name: 'Generated Again' } });
const batch = await client.POST('/users/batch', { body: { users: [{ name: 'Generated Two', email: email('two') }] } });
const missing = await client.GET('/users/{id}', { params: { path: { id: 'nobody' } } });
const invalid = await client.POST('/users', { body: { name: '', email: 'not-an-email' } });

// The event stream: the created user's event is replayed from revision 0.
const stream = await client.GET('/users/events', { params: { query: { after_revision: 0 } }, parseAs: 'stream' });
let text = '';
const reader = stream.response.body!.getReader();
while (!text.includes('event: created')) {
  const chunk = await reader.read();
  if (chunk.done) break;
  text += new TextDecoder().decode(chunk.value);
}
await reader.cancel();

const deleted = await client.DELETE('/users/{id}', { params: { path: { id } } });
console.log(JSON.stringify({
  getLiveness: liveness.data?.status,
  getReadiness: readiness.data?.status,
  createUser: created.response.status,
  getUser: got.data?.name,
  listUsers: listed.data?.users.map((u) => u.id).includes(id),
  updateUser: updated.data?.name,
  createUsers: batch.data?.createdCount,
  missing: { status: missing.response.status, code: missing.error?.error.code },
  invalid: { status: invalid.response.status, fields: invalid.error?.error.details.map((d) => d.field).sort() },
  watchUsers: { status: stream.response.status, created: text.includes('event: created') },
  deleteUser: deleted.response.status,
}));
`;

describe('a TypeScript client generated from the served document', () => {
  it('type-checks (strict) and calls every operation, an error path and the event stream', async () => {
    const dir = workDir('generated-client');
    const document = await (await fetch(`${stack.baseUrl}/openapi.json`)).text();
    writeFileSync(join(dir, 'schema.d.ts'), astToString(await openapiTS(document)));
    writeFileSync(join(dir, 'client.ts'), GENERATED_CLIENT);
    const check = await run(bin('tsc'), [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--target',
      'es2022',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--types',
      'node',
      join(dir, 'client.ts'),
    ]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const called = await run(process.execPath, ['--import', 'tsx', join(dir, 'client.ts'), stack.baseUrl, ADMIN_TOKEN]);
    assert.equal(called.code, 0, called.stderr);
    assert.deepEqual(JSON.parse(called.stdout), {
      getLiveness: 'ok',
      getReadiness: 'ok',
      createUser: 201,
      getUser: 'Generated One',
      listUsers: true,
      updateUser: 'Generated Again',
      createUsers: 1,
      missing: { status: 404, code: 'USER_NOT_FOUND' },
      invalid: { status: 400, fields: ['email', 'name'] },
      watchUsers: { status: 200, created: true },
      deleteUser: 204,
    });
  });
});

/** `twinapi users …` as a user runs it: a process, its output and its exit code. */
const cli = (protocol: Protocol, args: string[], env: Record<string, string> = { TWINAPI_TOKEN: ADMIN_TOKEN }) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'users', ...args, ...serverOf(protocol)], env);

const serverOf = (protocol: Protocol) => [
  '--via',
  protocol,
  '--server',
  protocol === 'grpc' ? stack.address : stack.baseUrl,
];

describe('twinapi users (the CLI)', () => {
  for (const protocol of PROTOCOLS) {
    it(`lists, gets, creates, updates, deletes and watches over ${protocol}; errors exit with their code`, async () => {
      const email = `cli-${protocol}-${Date.now()}@example.com`;
      const created = await cli(protocol, [
        'create',
        '--name',
        `Cli ${protocol}`,
        '--email',
        email,
        '--role',
        'admin',
        '--tags',
        'a,b',
        '--output',
        'json',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const user = JSON.parse(created.stdout) as { id: string; role: string; tags: string[] };
      assert.equal(user.role, 'USER_ROLE_ADMIN');
      assert.deepEqual(user.tags, ['a', 'b']);

      const got = await cli(protocol, ['get', user.id, '--output', 'table']);
      assert.equal(got.code, 0, got.stderr);
      assert.match(got.stdout, /^ID\s+NAME\s+EMAIL\s+ROLE\s+TAGS\s+CREATEDAT\n/);
      assert.match(got.stdout, new RegExp(`${user.id}\\s+Cli ${protocol}\\s+${email}\\s+admin\\s+a,b`));

      const listed = await cli(protocol, ['list', '--filter', `Cli ${protocol}`, '--output', 'json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(
        listed.stdout
          .trim()
          .split('\n')
          .some((line) => (JSON.parse(line) as { id: string }).id === user.id),
      );

      const updated = await cli(protocol, ['update', user.id, '--name', `Renamed ${protocol}`, '--output', 'json']);
      assert.equal(updated.code, 0, updated.stderr);
      assert.equal((JSON.parse(updated.stdout) as { name: string }).name, `Renamed ${protocol}`);

      // --if-match: the version the update applies to; a stale one exits PRECONDITION_FAILED's code.
      const before = JSON.parse(updated.stdout) as { etag: string };
      const conditional = await cli(protocol, [
        'update',
        user.id,
        '--name',
        'Again',
        '--if-match',
        before.etag,
        '--output',
        'json',
      ]);
      assert.equal(conditional.code, 0, conditional.stderr);
      const stale = await cli(protocol, ['update', user.id, '--name', 'Late', '--if-match', before.etag]);
      assert.equal(stale.code, EXIT_CODE_OF.PRECONDITION_FAILED, stale.stderr);
      assert.match(stale.stderr, /^twinapi: PRECONDITION_FAILED /);
      const staleDelete = await cli(protocol, ['delete', user.id, '--if-match', before.etag]);
      assert.equal(staleDelete.code, EXIT_CODE_OF.PRECONDITION_FAILED, staleDelete.stderr);
      // --idempotency-key: a retry answers with the first user.
      const retried = [
        'create',
        '--name',
        'Retried',
        '--email',
        `retry-${email}`,
        '--idempotency-key',
        `k-${email}`,
        '--output',
        'json',
      ];
      const once = await cli(protocol, retried);
      const twice = await cli(protocol, retried);
      assert.equal(twice.code, 0, twice.stderr);
      assert.equal((JSON.parse(twice.stdout) as { id: string }).id, (JSON.parse(once.stdout) as { id: string }).id);

      const missing = await cli(protocol, ['get', 'nobody']);
      assert.equal(missing.code, EXIT_CODE_OF.USER_NOT_FOUND, missing.stderr);
      assert.match(missing.stderr, /^twinapi: USER_NOT_FOUND \(.+\): user nobody not found\n$/);

      const invalid = await cli(protocol, ['create', '--name', ' ', '--email', 'nope']);
      assert.equal(invalid.code, EXIT_CODE_OF.INVALID_ARGUMENT, invalid.stderr);
      assert.match(invalid.stderr, /^twinapi: INVALID_ARGUMENT \(.+\): .*email: .*\n$/);
      assert.match(invalid.stderr, /name: /);

      const anonymous = await cli(protocol, ['get', user.id], {});
      assert.equal(anonymous.code, EXIT_CODE_OF.UNAUTHENTICATED, anonymous.stderr);

      // watch: the user's events from revision 0 (the first two: its create and first update), as they stream, until Ctrl-C.
      const watch = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'users',
          'watch',
          '--after-revision',
          '0',
          '--ids',
          user.id,
          '--output',
          'json',
          ...serverOf(protocol),
        ],
        { cwd: ROOT, env: { ...process.env, TWINAPI_TOKEN: ADMIN_TOKEN } },
      );
      const timer = setTimeout(() => watch.kill('SIGKILL'), 30_000);
      let out = '';
      const events = await new Promise<{ type: string; revision: number }[]>((resolve) => {
        watch.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const lines = out.split('\n').filter(Boolean);
          if (lines.length >= 2)
            resolve(lines.slice(0, 2).map((l) => JSON.parse(l) as { type: string; revision: number }));
        });
      });
      watch.kill('SIGINT');
      const exit = await new Promise<number | null>((resolve) => watch.on('exit', resolve));
      clearTimeout(timer);
      assert.deepEqual(
        events.map((e) => e.type),
        ['EVENT_TYPE_CREATED', 'EVENT_TYPE_UPDATED'],
      );
      assert.ok(events[1]!.revision > events[0]!.revision);
      assert.equal(exit, 0, 'Ctrl-C ends a watch cleanly');

      const deleted = await cli(protocol, ['delete', user.id]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal((await cli(protocol, ['get', user.id])).code, EXIT_CODE_OF.USER_NOT_FOUND);
    });
  }

  it('refuses bad usage with exit code 2 and the usage text', async () => {
    for (const args of [
      ['frobnicate'],
      ['get'],
      ['create', '--name', 'x'],
      ['list', '--via', 'carrier-pigeon'],
      ['list', '--bogus'],
    ]) {
      const result = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'users', ...args]);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /Usage: twinapi users <action>/);
    }
  });

  it('exits UNAVAILABLE when no server answers', async () => {
    const port = await freePort();
    for (const protocol of PROTOCOLS) {
      const server = protocol === 'grpc' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
      const closed = await run(process.execPath, [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'users',
        'list',
        '--via',
        protocol,
        '--server',
        server,
      ]);
      assert.equal(closed.code, EXIT_CODE_OF.UNAVAILABLE, `${protocol}: ${closed.stderr}`);
      assert.match(closed.stderr, /UNAVAILABLE/);
    }
  });

  it('has its exit codes in the README', () => {
    const rows = markdownTable('Clients', 'exit code');
    const documented = Object.fromEntries(
      rows.map((r) => [r['error code']!.replaceAll('`', ''), Number(r['exit code'])]),
    );
    assert.deepEqual(documented, { done: 0, 'another failure': 1, 'bad usage': 2, ...EXIT_CODE_OF });
  });
});
