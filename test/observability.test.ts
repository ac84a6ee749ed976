// Metrics, access logs and traces, read the way an operator reads them: real calls on both
// protocols, then the scrape (counts match the calls, labels as specified), the log lines, the spans.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { type Client, credentials, makeGenericClientConstructor, Metadata, status } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { UserClient } from '../src/grpc/client.js';
import { ENGINE } from './support/engine.js';
import { grpcFailure } from './support/failures.js';
import { aUser, aUserJson, until } from './support/helpers.js';
import { has, parseScrape, promtoolCheckMetrics, type Sample, scrape, valueOf } from './support/metrics.js';
import { markdownTable } from './support/readme.js';
import { secondInstance } from './support/second-instance.js';
import { openSse } from './support/sse.js';
import { type LogLine, startStack } from './support/stack.js';
import { adminFetch } from './support/tokens.js';

const HTTP = 'http_server_request_duration_seconds';
const RPC = 'rpc_server_call_duration_seconds';
const SYSTEM = ENGINE === 'postgres' ? 'postgresql' : 'sqlite';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

/** How much each labelled count grew between two scrapes. */
const grew = (before: Sample[], later: Sample[], name: string, labels: Record<string, string>) =>
  valueOf(later, name, labels) - valueOf(before, name, labels);

type Callback<T> = (error: Error | null, value?: T) => void;
interface HealthClient extends Client {
  check(request: { service: string }, callback: Callback<{ status: string }>): void;
}
function healthCheck(address: string): Promise<string> {
  const Health = makeGenericClientConstructor(healthService, 'Health');
  const client = new Health(address, credentials.createInsecure()) as unknown as HealthClient;
  return new Promise<string>((resolve, reject) =>
    client.check({ service: '' }, (error, reply) => {
      client.close();
      return error ? reject(error) : resolve(reply!.status);
    }),
  ).finally(() => client.close());
}

describe('metrics', async () => {
  const stack = await startStack({}, { metrics: true });
  const { baseUrl, client, address, metricsUrl, app } = stack;
  const known = await stack.restClient.createUser(aUserJson());

  it('counts each HTTP request by method, route template and status; never a raw path or an invented method', async () => {
    const before = await scrape(metricsUrl);
    for (let i = 0; i < 3; i++) assert.equal((await adminFetch(`${baseUrl}/users/${known.id}`)).status, 200);
    assert.equal((await adminFetch(`${baseUrl}/users/${randomUUID()}`)).status, 404);
    assert.equal((await fetch(`${baseUrl}/users/${known.id}`)).status, 401, 'no token');
    const created = await adminFetch(`${baseUrl}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(aUserJson()),
    });
    assert.equal(created.status, 201);
    assert.equal((await adminFetch(`${baseUrl}/no/such/route/${randomUUID()}`)).status, 404);
    assert.equal((await adminFetch(`${baseUrl}/users`, { method: 'PURGE' })).status, 404);
    const later = await scrape(metricsUrl);

    const count = (method: string, route: string, code: number) =>
      grew(before, later, `${HTTP}_count`, {
        http_request_method: method,
        http_route: route,
        http_response_status_code: String(code),
      });
    assert.equal(count('GET', '/users/:id', 200), 3);
    assert.equal(count('GET', '/users/:id', 404), 1);
    assert.equal(count('GET', '/users/:id', 401), 1);
    assert.equal(count('POST', '/users', 201), 1);
    assert.equal(count('GET', '', 404), 1, 'an unknown path has no route');
    assert.equal(count('_OTHER', '', 404), 1, 'a method outside the standard set is _OTHER');
    const routes = new Set(later.filter((s) => s.name.startsWith(HTTP)).map((s) => s.labels.http_route));
    for (const route of routes) assert.doesNotMatch(route!, /[0-9a-f]{8}-/, `no raw id in a route label: ${route}`);
    const labels = { http_request_method: 'GET', http_route: '/users/:id', http_response_status_code: '200' };
    assert.equal(valueOf(later, `${HTTP}_bucket`, { ...labels, le: '+Inf' }), valueOf(later, `${HTTP}_count`, labels));
    assert.ok(valueOf(later, `${HTTP}_sum`, labels) > 0);
    assert.ok(has(later, `${HTTP}_bucket`, { ...labels, le: '0.0001' }), 'buckets finer than the conventions’ 5 ms');
    assert.ok(has(later, `${HTTP}_bucket`, { ...labels, le: '10' }));
  });

  it('counts each RPC by system, fully qualified method and status name, whoever ends it (server, deadline, client)', async () => {
    const before = await scrape(metricsUrl);
    await client.getUser({ id: known.id! });
    await client.getUser({ id: known.id! });
    assert.equal((await grpcFailure(client.getUser({ id: randomUUID() }))).code, status.NOT_FOUND);
    const anonymous = new UserClient({ address, defaultDeadlineMs: 5000 });
    after(() => anonymous.close());
    assert.equal((await grpcFailure(anonymous.getUser({ id: known.id! }))).code, status.UNAUTHENTICATED);
    // A watch outlives its deadline: grpc-js ends it, not the handler.
    const late = client.watchUsers({ deadlineMs: 200 });
    late.send({ userIds: [] });
    assert.equal((await grpcFailure(drain(late.events))).code, status.DEADLINE_EXCEEDED);
    await until(() => stack.server.watchStreams === 0, 'the server to end the late watch');
    const left = client.watchUsers();
    left.send({ userIds: [] });
    await until(() => stack.server.watchStreams === 1, 'the watch to open');
    left.cancel();
    await until(() => stack.server.watchStreams === 0, 'the watch to end');
    assert.equal(await healthCheck(address), 'SERVING');
    const later = await scrape(metricsUrl);

    const count = (method: string, code: string, samples = later) =>
      grew(before, samples, `${RPC}_count`, {
        rpc_system_name: 'grpc',
        rpc_method: method,
        rpc_response_status_code: code,
      });
    assert.equal(count('users.v1.UserService/GetUser', 'OK'), 2);
    assert.equal(count('users.v1.UserService/GetUser', 'NOT_FOUND'), 1);
    assert.equal(count('users.v1.UserService/GetUser', 'UNAUTHENTICATED'), 1);
    assert.equal(count('users.v1.UserService/WatchUsers', 'DEADLINE_EXCEEDED'), 1);
    await until(
      async () => count('users.v1.UserService/WatchUsers', 'CANCELLED', await scrape(metricsUrl)) === 1,
      'the cancelled watch to be counted',
    );
    assert.equal(count('grpc.health.v1.Health/Check', 'OK'), 1, 'every service is observed, not only ours');
  });

  it('counts the messages of each server stream', async () => {
    const tag = `Streamed ${randomUUID()}`;
    await Promise.all([1, 2, 3].map((i) => client.createUser(aUser({ name: `${tag} ${i}` }))));
    const before = await scrape(metricsUrl);
    assert.equal((await drain(client.listUsers({ filter: tag, pageSize: 2 }))).length, 3);
    const later = await scrape(metricsUrl);
    const labels = { rpc_system_name: 'grpc', rpc_method: 'users.v1.UserService/ListUsers' };
    assert.equal(grew(before, later, 'rpc_server_responses_per_rpc_sum', labels), 3);
    assert.equal(grew(before, later, 'rpc_server_responses_per_rpc_count', labels), 1);
  });

  it('shows open watch streams and delivered events by protocol', async () => {
    const base = await scrape(metricsUrl);
    const sse = [openSse(baseUrl), openSse(baseUrl)];
    const watch = client.watchUsers();
    watch.send({ userIds: [] });
    const gauge = async (protocol: string) => valueOf(await scrape(metricsUrl), 'twinapi_watch_streams', { protocol });
    await until(async () => (await gauge('sse')) === 2 && (await gauge('grpc')) === 1, 'the streams to show');
    await client.createUser(aUser());
    await Promise.all(sse.map((s) => s.waitFor(1)));
    const delivered = async (protocol: string) =>
      grew(base, await scrape(metricsUrl), 'twinapi_watch_events_delivered_total', { protocol });
    await until(async () => (await delivered('sse')) === 2 && (await delivered('grpc')) === 1, 'the events to count');
    for (const s of sse) s.close();
    watch.cancel();
    await until(async () => (await gauge('sse')) === 0 && (await gauge('grpc')) === 0, 'the streams to close');
  });

  it('times store operations by engine and operation, and shows where the change feed is', async () => {
    const before = await scrape(metricsUrl);
    await client.getUser({ id: known.id! });
    await stack.restClient.getUser(known.id!);
    await client.createUser(aUser());
    await app.feed.sync();
    const later = await scrape(metricsUrl);
    const operation = (name: string) =>
      grew(before, later, 'db_client_operation_duration_seconds_count', {
        db_system_name: SYSTEM,
        db_operation_name: name,
      });
    assert.equal(operation('get_user'), 2);
    assert.equal(operation('insert_users'), 1);
    assert.equal(valueOf(later, 'twinapi_change_feed_revision'), app.feed.headRevision);
    assert.equal(valueOf(later, 'twinapi_change_feed_lag_revisions'), 0);
    assert.equal(grew(before, later, 'twinapi_change_feed_wakeups_total', { cause: 'commit' }), 1);
  });

  it('serves the process metrics (event-loop delay, heap, GC, handles), and promtool accepts the whole scrape', async () => {
    const text = await (await fetch(metricsUrl)).text();
    const samples = parseScrape(text);
    for (const name of [
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_active_handles',
      'process_cpu_seconds_total',
    ])
      assert.ok(has(samples, name), `${name} is served`);
    assert.match(text, /# TYPE nodejs_gc_duration_seconds histogram/);
    const verdict = promtoolCheckMetrics(text);
    assert.equal(verdict.status, 0, verdict.output);
  });

  it("lists in the README's Metrics table exactly the metrics served, beside prom-client's process metrics", async () => {
    const text = await (await fetch(metricsUrl)).text();
    const served = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)]
      .filter(([, name]) => !/^(nodejs|process)_/.test(name!))
      .map(([, name, type]) => `${name} ${type}`)
      .sort();
    const listed = markdownTable('Metrics', 'metric')
      .map((row) => `${row.metric!.replaceAll('`', '')} ${row.type}`)
      .sort();
    assert.deepEqual(listed, served);
  });

  it('serves metrics only on their own port, only at GET or HEAD /metrics', async () => {
    const onApiPort = await adminFetch(`${baseUrl}/metrics`);
    assert.equal(onApiPort.status, 404);
    assert.equal(((await onApiPort.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
    const root = metricsUrl.replace(/\/metrics$/, '');
    assert.equal((await fetch(`${root}/`)).status, 404);
    assert.equal((await fetch(metricsUrl, { method: 'POST' })).status, 405);
    const head = await fetch(metricsUrl, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  });
});

describe('metrics of the change feed and the database', () => {
  it('counts the poll as a wake-up of its own', async () => {
    const { metricsUrl } = await startStack({ 'feed-poll-ms': '50' }, { metrics: true });
    await until(
      async () => valueOf(await scrape(metricsUrl), 'twinapi_change_feed_wakeups_total', { cause: 'poll' }) >= 3,
      'three polls',
    );
  });

  it("shows the lag behind another instance's commit until the feed reads it (woken by NOTIFY on PostgreSQL)", async () => {
    const { metricsUrl, app, config } = await startStack({ 'feed-poll-ms': '3600000' }, { metrics: true });
    const other = await secondInstance(config.db);
    assert.ok((await other.call('createUser', aUser())).ok);
    if (ENGINE === 'postgres') {
      await until(async () => {
        const samples = await scrape(metricsUrl);
        return (
          valueOf(samples, 'twinapi_change_feed_wakeups_total', { cause: 'notify' }) >= 1 &&
          valueOf(samples, 'twinapi_change_feed_lag_revisions') === 0 &&
          valueOf(samples, 'twinapi_change_feed_revision') === 1
        );
      }, 'NOTIFY to wake the feed');
      return;
    }
    // SQLite has no notification: only the (hour-long) poll would find it.
    const behind = await scrape(metricsUrl);
    assert.equal(valueOf(behind, 'twinapi_change_feed_lag_revisions'), 1);
    assert.equal(valueOf(behind, 'twinapi_change_feed_revision'), 0);
    await app.feed.sync();
    assert.equal(valueOf(await scrape(metricsUrl), 'twinapi_change_feed_lag_revisions'), 0);
  });

  it('shows the pool (PostgreSQL connections, SQLite reader threads): size, used and idle, waiting, wait times', async () => {
    const flags: Record<string, string> = ENGINE === 'postgres' ? { 'db-pool-size': '2' } : { 'sqlite-readers': '2' };
    const { metricsUrl, client, config, app } = await startStack(flags, { metrics: true });
    const id = (await client.createUser(aUser())).id;
    await app.feed.sync();
    const quiet = await scrape(metricsUrl);
    assert.equal(valueOf(quiet, 'db_client_connections_max'), 2);
    const used = valueOf(quiet, 'db_client_connections_usage', { state: 'used' });
    const idle = valueOf(quiet, 'db_client_connections_usage', { state: 'idle' });
    assert.ok(used === 0 && idle >= 1 && idle <= 2, `at rest: used ${used}, idle ${idle}`);
    assert.equal(valueOf(quiet, 'db_client_connections_pending_requests'), 0);
    const [pool] = quiet.filter((s) => s.name === 'db_client_connections_max');
    const poolName = pool!.labels.pool_name!;
    if (ENGINE === 'postgres') {
      assert.match(poolName, /^127\.0\.0\.1:5432\//);
      assert.doesNotMatch(poolName, /@|password/, 'no credentials in a label');
    } else assert.equal(poolName, config.db, 'the file the readers read');
    // Far more reads at once than connections (SQLite: long reads, which the readers run): a
    // scrape in the middle sees them queue, and the wait times show it after.
    const read = () => (ENGINE === 'postgres' ? app.service.getUser(id) : app.service.listUsers({ filter: 'test' }));
    await until(async () => {
      const reads = Promise.all(Array.from({ length: 60 }, read));
      const busy = await scrape(metricsUrl);
      await reads;
      return (
        valueOf(busy, 'db_client_connections_pending_requests') > 0 &&
        valueOf(busy, 'db_client_connections_usage', { state: 'used' }) === 2
      );
    }, 'a scrape to see reads waiting for the two connections');
    const after = await scrape(metricsUrl);
    const waits = { pool_name: poolName };
    assert.ok(grew(quiet, after, 'db_client_connection_wait_time_seconds_count', waits) >= 60);
    assert.ok(grew(quiet, after, 'db_client_connection_wait_time_seconds_sum', waits) > 0, 'some reads waited');
  });

  it(
    'times the wait for the SQLite write lock another process holds',
    {
      skip: ENGINE === 'postgres' && 'PostgreSQL has row locks, not a database write lock (the SQLite run covers this)',
    },
    async () => {
      const { metricsUrl, client, config } = await startStack({}, { metrics: true });
      const holder = new Worker(
        `const Database = require('better-sqlite3');
       const { workerData, parentPort } = require('node:worker_threads');
       const db = new Database(workerData);
       db.exec('begin immediate');
       parentPort.postMessage('held');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
       db.exec('commit');
       db.close();`,
        { eval: true, workerData: config.db },
      );
      await once(holder, 'message');
      await client.createUser(aUser());
      const samples = await scrape(metricsUrl);
      const name = 'twinapi_sqlite_write_lock_wait_seconds';
      assert.equal(valueOf(samples, `${name}_count`), 1);
      assert.equal(valueOf(samples, `${name}_bucket`, { le: '0.1' }), 0);
      assert.equal(valueOf(samples, `${name}_bucket`, { le: '0.5' }), 1, 'it waited about 300 ms');
    },
  );

  it('costs nothing with --metrics-port 0: no recording, no server, no per-call observation', async () => {
    const { app } = await startStack({ 'access-log': 'false' });
    assert.equal(app.telemetry.metrics, undefined);
    assert.equal(app.telemetry.calls, undefined);
    assert.ok(!app.servers.some((s) => s.name === 'metrics'));
  });
});

describe('access log', async () => {
  const logs: LogLine[] = [];
  const stack = await startStack({ 'log-level': 'info' }, { logs });
  const { baseUrl, client, app } = stack;
  const known = await stack.restClient.createUser(aUserJson());
  const accessLines = () => logs.filter((l) => l.log === 'access');

  it('writes one line per call of either protocol: what, outcome, duration, who, request id, trace id', async () => {
    logs.length = 0;
    await adminFetch(`${baseUrl}/users/${known.id}`, {
      headers: { 'x-request-id': 'rest-req-1', traceparent: TRACEPARENT },
    });
    const metadata = new Metadata();
    metadata.set('x-request-id', 'grpc-req-1');
    metadata.set('traceparent', TRACEPARENT);
    await client.getUser({ id: known.id! }, { metadata });
    await until(() => accessLines().length === 2, 'two access lines');
    const [rest, grpc] = accessLines();
    assert.deepEqual(
      { ...rest, time: 0, durationMs: 0, pid: 0 },
      {
        level: 30,
        time: 0,
        pid: 0,
        service: 'twinapi',
        log: 'access',
        protocol: 'http',
        method: 'GET',
        route: '/users/:id',
        status: 200,
        durationMs: 0,
        principal: 'admin',
        requestId: 'rest-req-1',
        traceId: TRACE_ID,
        msg: 'GET /users/:id 200',
      },
    );
    assert.ok((rest!.durationMs as number) > 0);
    assert.deepEqual(
      { ...grpc, time: 0, durationMs: 0, pid: 0 },
      {
        level: 30,
        time: 0,
        pid: 0,
        service: 'twinapi',
        log: 'access',
        protocol: 'grpc',
        method: 'users.v1.UserService/GetUser',
        status: 'OK',
        durationMs: 0,
        principal: 'admin',
        requestId: 'grpc-req-1',
        traceId: TRACE_ID,
        msg: 'users.v1.UserService/GetUser OK',
      },
    );
  });

  it('makes its own request id for a missing or unloggable one, and ignores an invalid traceparent', async () => {
    logs.length = 0;
    const response = await adminFetch(`${baseUrl}/users/${known.id}`, {
      headers: {
        'x-request-id': 'spaces and\ttabs',
        traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      },
    });
    assert.equal(response.status, 200, 'a bad traceparent never fails the call');
    const metadata = new Metadata();
    metadata.set('traceparent', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    await client.getUser({ id: known.id! }, { metadata });
    await until(() => accessLines().length === 2, 'two access lines');
    for (const line of accessLines()) {
      assert.match(line.requestId as string, /^[0-9a-z]{1,8}-[0-9a-z]+$/, 'a process prefix and a counter');
      assert.equal(line.traceId, undefined);
    }
    const [first, second] = accessLines().map((line) => line.requestId);
    assert.notEqual(first, second);
  });

  it('names no principal for a call refused before anyone was identified', async () => {
    logs.length = 0;
    await fetch(`${baseUrl}/users/${known.id}`);
    await until(() => accessLines().length === 1, 'one access line');
    assert.equal(accessLines()[0]!.status, 401);
    assert.equal(accessLines()[0]!.principal, undefined);
  });

  it("puts the call's trace id on its error lines too, on both protocols", async () => {
    const original = app.service.getUser.bind(app.service);
    app.service.getUser = () => Promise.reject(new Error('the disk is on fire'));
    try {
      logs.length = 0;
      const response = await adminFetch(`${baseUrl}/users/${known.id}`, { headers: { traceparent: TRACEPARENT } });
      assert.equal(response.status, 500);
      const metadata = new Metadata();
      metadata.set('traceparent', TRACEPARENT);
      assert.equal((await grpcFailure(client.getUser({ id: known.id! }, { metadata }))).code, status.INTERNAL);
      await until(() => logs.filter((l) => l.level >= 50).length === 2, 'two error lines');
      for (const line of logs.filter((l) => l.level >= 50)) {
        assert.equal(line.traceId, TRACE_ID, `${line.msg} carries the trace id`);
        assert.ok(line.requestId, `${line.msg} carries the request id`);
      }
    } finally {
      app.service.getUser = original;
    }
  });

  it('is off with --access-log false, and below --log-level info', async () => {
    const settings: Record<string, string>[] = [
      { 'log-level': 'info', 'access-log': 'false' },
      { 'log-level': 'warn' },
    ];
    for (const flags of settings) {
      const quiet: LogLine[] = [];
      const other = await startStack(flags, { logs: quiet });
      await other.client.getUser({ id: (await other.restClient.createUser(aUserJson())).id! });
      await adminFetch(`${other.baseUrl}/healthz`);
      assert.deepEqual(
        quiet.filter((l) => l.log === 'access'),
        [],
      );
      assert.equal(other.app.telemetry.calls, undefined, 'nothing observes the calls');
    }
  });
});

describe('tracing (OTLP/HTTP)', () => {
  it('exports a server span per call, a child of the caller’s traceparent, with the trace id its log lines carry', async () => {
    const received: unknown[] = [];
    const receiver = http.createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        if (request.url === '/v1/traces') received.push(JSON.parse(body));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    after(() => receiver.close());
    const endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    const logs: LogLine[] = [];
    const stack = await startStack({ 'otlp-endpoint': endpoint, 'log-level': 'info' }, { logs });
    const known = await stack.restClient.createUser(aUserJson());
    await adminFetch(`${stack.baseUrl}/users/${known.id}`, { headers: { traceparent: TRACEPARENT } });
    assert.equal((await grpcFailure(stack.client.getUser({ id: randomUUID() }))).code, status.NOT_FOUND);
    await stack.close(); // flushes the spans still buffered

    const spans = received.flatMap((batch) =>
      (batch as OtlpBatch).resourceSpans.flatMap((r) =>
        r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, resource: r.resource }))),
      ),
    );
    const attribute = (span: OtlpSpan, key: string) => {
      const value = span.attributes.find((a) => a.key === key)?.value;
      return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
    };
    const rest = spans.find((s) => s.name === 'GET /users/:id');
    assert.ok(rest, `a span for GET /users/:id among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(rest.traceId, TRACE_ID);
    assert.equal(rest.parentSpanId, PARENT_SPAN_ID);
    assert.equal(rest.kind, 2, 'SERVER');
    assert.equal(attribute(rest, 'http.route'), '/users/:id');
    assert.equal(attribute(rest, 'http.response.status_code'), 200);
    assert.equal(
      rest.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
      'twinapi',
      'service.name',
    );
    const grpc = spans.find((s) => s.name === 'users.v1.UserService/GetUser');
    assert.ok(grpc);
    assert.equal(attribute(grpc, 'rpc.system.name'), 'grpc');
    assert.equal(attribute(grpc, 'rpc.response.status_code'), 'NOT_FOUND');
    assert.ok(!grpc.parentSpanId, 'a call without traceparent starts a trace');
    const line = logs.find((l) => l.log === 'access' && l.method === 'users.v1.UserService/GetUser');
    assert.equal(line?.traceId, grpc.traceId, 'the log line names the trace the span is in');
  });

  it('loads no tracing SDK without an endpoint', async () => {
    const { app } = await startStack({ 'log-level': 'silent' });
    assert.equal(app.telemetry.calls, undefined);
  });
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}
interface OtlpBatch {
  resourceSpans: {
    resource: { attributes: OtlpSpan['attributes'] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

async function drain<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}
