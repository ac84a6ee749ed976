import http from 'node:http';
import { type ClientHttp2Session, connect } from 'node:http2';
import { UserEvent, WatchUsersRequest } from '../../gen/users/v1/users.js';
import { GRPC_REQUEST_HEADERS, grpcFrame } from '../load/spec.js';
import { UserClient } from '../../grpc/client.js';
import { GRPC_DEFAULTS, GRPC_ENGINES, type GrpcEngineName } from '../../grpc/server.js';
import { RestClient } from '../../rest/client.js';
import type { UserJson } from '../../rest/representation.js';
import { type SseMessage, SseParser } from '../../rest/sse-parser.js';
import { type BenchData, oursSettings } from '../fixtures.js';
import type { Pinning } from '../pinning.js';
import type { Progress } from '../progress.js';
import { launchServer, type LaunchedServer } from '../servers/launch.js';
import { type LatencySummary, type Spread, spread, summarizeLatencies } from '../stats.js';

export interface StreamingSettings {
  pinning: Pinning;
  runs: number;
  subscribers: number;
  events: number;
}

export interface ListAllMeasurement {
  protocol: 'grpc-stream' | 'rest-pages';
  /** The gRPC engine that served it (REST: the server's, grpc-js). */
  engine: GrpcEngineName;
  label: string;
  users: number;
  /** Milliseconds to receive every user: median and spread over the runs. */
  ms: Spread;
  usersPerSecond: number;
}

export interface FanOutMeasurement {
  protocol: 'grpc-watch' | 'sse' | 'graphql-sse' | 'trpc-sse';
  engine: GrpcEngineName;
  label: string;
  subscribers: number;
  events: number;
  /** Events delivered per second, summed over subscribers. */
  deliveredPerSecond: number;
  /** Commit (the user's updatedAt) to arrival at a subscriber, ms resolution. */
  latencyMs: LatencySummary;
  missing: number;
}

export interface StreamingResults {
  listAll: ListAllMeasurement[];
  fanOut: FanOutMeasurement[];
}

const REST_PAGE = 500;
const FAN_OUT_TIMEOUT_MS = 60_000;
const BATCH = 100;

/** gRPC runs once per engine; REST's list and the three event streams (SSE, GraphQL, tRPC) once, beside the default engine. */
export const streamingSteps = (settings: StreamingSettings) =>
  GRPC_ENGINES.length * (settings.runs + 1) + settings.runs + 3;

async function time(run: () => Promise<number>): Promise<{ ms: number; users: number }> {
  const start = performance.now();
  const users = await run();
  return { ms: performance.now() - start, users };
}

async function listAllGrpc(client: UserClient): Promise<number> {
  let users = 0;
  for await (const _ of client.listUsers({ pageSize: REST_PAGE })) users++;
  return users;
}

async function listAllRest(rest: RestClient): Promise<number> {
  let users = 0;
  let pageToken: string | undefined;
  do {
    const page = await rest.listUsers({ limit: REST_PAGE, ...(pageToken ? { pageToken } : {}) });
    users += page.users.length;
    pageToken = page.nextPageToken || undefined;
  } while (pageToken);
  return users;
}

const MEASURED_NAME = 'Fan Out';

/** A subscriber: knows it is attached once any event arrives; times only the measured events. */
class Tally {
  attached = false;
  readonly latencies: number[] = [];
  private waiter?: () => void;

  constructor(private readonly expected: number) {}

  record(name: string, updatedAtMs: number): void {
    this.attached = true;
    if (name !== MEASURED_NAME) return;
    this.latencies.push(Date.now() - updatedAtMs);
    if (this.latencies.length >= this.expected) this.waiter?.();
  }

  done(): Promise<void> {
    if (this.latencies.length >= this.expected) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

/**
 * A WatchUsers subscriber as lean as the SSE one beside it: one stream on a shared node:http2
 * connection, each message cut from the DATA and decoded with the generated codec. (grpc-js's client
 * costs more per message than the server does: with it, the lab measured its own client.)
 */
function watchGrpc(session: ClientHttp2Session, token: string, tally: Tally): () => void {
  const stream = session.request({
    ...GRPC_REQUEST_HEADERS,
    ':method': 'POST',
    ':path': '/users.v1.UserService/WatchUsers',
    authorization: `Bearer ${token}`,
  });
  // Changes only, as the SSE subscriber asks: each message is one the tally counts.
  stream.write(grpcFrame(WatchUsersRequest.encode({ userIds: [], bookmarks: false }).finish()));
  let buffered: Buffer = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
      const end = 5 + buffered.readUInt32BE(1);
      const { user } = UserEvent.decode(buffered.subarray(5, end));
      tally.record(user!.name, user!.updatedAt!.getTime());
      buffered = buffered.subarray(end);
    }
  });
  stream.on('error', () => {});
  return () => stream.close();
}

type ChangedUser = Pick<Required<UserJson>, 'name' | 'updatedAt'>;

/** What an event stream's subscriber sends to open it, and how it reads the changed user off each message. */
interface EventStreamWay {
  path: string;
  /** The subscription's request (a POST), for GraphQL; the others are a GET. */
  body?: string;
  /** The changed user's name and commit time, from one SSE message; undefined for anything else. */
  read(message: SseMessage): ChangedUser | undefined;
}

/** One change's user in each API's SSE: REST's event data is the user; GraphQL's and tRPC's wrap it. */
const EVENT_STREAMS: Record<'sse' | 'graphql-sse' | 'trpc-sse', EventStreamWay> = {
  sse: {
    path: '/users/events?bookmarks=false',
    read: (message) => JSON.parse(message.data!) as ChangedUser,
  },
  'graphql-sse': {
    path: '/graphql/stream',
    body: JSON.stringify({
      query: 'subscription { userEvents(bookmarks: false) { type revision user { name updatedAt } } }',
    }),
    read: (message) =>
      message.event === 'next'
        ? ((JSON.parse(message.data!) as { data?: { userEvents?: { user?: ChangedUser } } }).data?.userEvents?.user ??
          undefined)
        : undefined,
  },
  'trpc-sse': {
    path: `/trpc/users.events?input=${encodeURIComponent(JSON.stringify({ bookmarks: false }))}`,
    // tRPC's data messages have no event name (its own are `connected`, `ping`, `serialized-error`, `return`).
    read: (message) =>
      message.event === undefined && message.data !== undefined
        ? (JSON.parse(message.data) as { user?: ChangedUser }).user
        : undefined,
  },
};

function watchEventStream(baseUrl: string, way: EventStreamWay, token: string, tally: Tally): () => void {
  const parser = new SseParser();
  const headers = {
    accept: 'text/event-stream',
    authorization: `Bearer ${token}`,
    ...(way.body ? { 'content-type': 'application/json' } : {}),
  };
  const request = http.request(`${baseUrl}${way.path}`, { method: way.body ? 'POST' : 'GET', headers }, (response) => {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      for (const message of parser.push(chunk)) {
        const user = way.read(message);
        if (user) tally.record(user.name, Date.parse(user.updatedAt));
      }
    });
  });
  request.on('error', () => {});
  request.end(way.body);
  return () => request.destroy();
}

/**
 * `subscribers` watchers on one protocol; a primer event shows every one is
 * attached, then `events` creates are committed in batches and the clock runs
 * until every subscriber has every event.
 */
async function fanOut(
  subscribe: (tally: Tally) => () => void,
  client: UserClient,
  settings: StreamingSettings,
  runId: string,
): Promise<{ deliveredPerSecond: number; latencyMs: LatencySummary; missing: number }> {
  const tallies = Array.from({ length: settings.subscribers }, () => new Tally(settings.events));
  const stops = tallies.map((tally) => subscribe(tally));
  try {
    // A subscriber may not be attached yet: commit primers until every one has seen one.
    let primers = 0;
    const attachBy = Date.now() + 10_000;
    while (!tallies.every((t) => t.attached)) {
      if (Date.now() > attachBy)
        throw new Error(
          `only ${tallies.filter((t) => t.attached).length} of ${tallies.length} subscribers attached in 10 s`,
        );
      await client.createUser({ name: 'Primer', email: `primer.${runId}.${primers++}@example.com` });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const start = performance.now();
    for (let sent = 0; sent < settings.events; sent += BATCH) {
      const size = Math.min(BATCH, settings.events - sent);
      await client.createUsers(
        Array.from({ length: size }, (_, i) => ({ name: 'Fan Out', email: `fan.${runId}.${sent + i}@example.com` })),
      );
    }
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, FAN_OUT_TIMEOUT_MS).unref());
    await Promise.race([Promise.all(tallies.map((t) => t.done())), timeout]);
    const seconds = (performance.now() - start) / 1000;
    const delivered = tallies.reduce((n, t) => n + Math.min(t.latencies.length, settings.events), 0);
    return {
      deliveredPerSecond: delivered / seconds,
      latencyMs: summarizeLatencies(tallies.flatMap((t) => t.latencies.slice(0, settings.events))),
      missing: settings.subscribers * settings.events - delivered,
    };
  } finally {
    for (const stop of stops) stop();
  }
}

export async function runStreaming(
  data: BenchData,
  settings: StreamingSettings,
  progress: Progress,
): Promise<StreamingResults> {
  const results: StreamingResults = { listAll: [], fanOut: [] };
  // Every list-all before any fan-out, whose events add users: each engine lists the same table.
  for (const phase of [listAllOn, fanOutOn]) {
    for (const engine of GRPC_ENGINES) {
      const measured = await onServer(engine, data, settings, (server) => phase(server, data, settings, progress));
      results.listAll.push(...measured.listAll);
      results.fanOut.push(...measured.fanOut);
    }
  }
  return results;
}

/** Our server with one gRPC engine, and clients of it; REST and SSE are measured beside the default engine. */
export interface ServerUnderTest {
  engine: GrpcEngineName;
  withRest: boolean;
  /** How labels name the engine: not at all for the default. */
  on: string;
  grpcPort: number;
  baseUrl: string;
  client: UserClient;
  rest: RestClient;
}

async function onServer(
  engine: GrpcEngineName,
  data: BenchData,
  settings: StreamingSettings,
  work: (server: ServerUnderTest) => Promise<StreamingResults>,
): Promise<StreamingResults> {
  const server = await launchServer('ours', oursSettings(data, { grpcEngine: engine }), settings.pinning.serverCores);
  try {
    return await onLaunched(server, engine, data, work);
  } finally {
    await server.stop();
  }
}

/** `work` on a server already launched (serving gRPC with `engine`), with clients it closes after. */
export async function onLaunched<T>(
  server: LaunchedServer,
  engine: GrpcEngineName,
  data: BenchData,
  work: (server: ServerUnderTest) => Promise<T>,
): Promise<T> {
  const client = new UserClient({
    address: `127.0.0.1:${server.ports.grpc}`,
    defaultDeadlineMs: FAN_OUT_TIMEOUT_MS,
    token: data.token,
  });
  const baseUrl = `http://127.0.0.1:${server.ports.http}`;
  const withRest = engine === GRPC_DEFAULTS.engine;
  try {
    return await work({
      engine,
      withRest,
      on: withRest ? '' : ` (${engine} engine)`,
      grpcPort: server.ports.grpc!,
      baseUrl,
      client,
      rest: new RestClient(baseUrl, data.token),
    });
  } finally {
    client.close();
  }
}

/** Every user as one ListUsers stream, and (beside the default engine) as REST cursor pages. */
async function listAllOn(
  { engine, withRest, on, client, rest }: ServerUnderTest,
  _data: BenchData,
  settings: StreamingSettings,
  progress: Progress,
): Promise<StreamingResults> {
  const lists: [ListAllMeasurement['protocol'], string, () => Promise<number>][] = [
    ['grpc-stream', `gRPC ListUsers (one server stream)${on}`, () => listAllGrpc(client)],
  ];
  if (withRest) lists.push(['rest-pages', `REST GET /users (cursor pages of ${REST_PAGE})`, () => listAllRest(rest)]);
  const listAll: ListAllMeasurement[] = [];
  for (const [protocol, label, run] of lists) {
    const runs = [];
    for (let i = 1; i <= settings.runs; i++) {
      progress.step(`streaming list-all ${label} run ${i}/${settings.runs}`);
      runs.push(await time(run));
    }
    const ms = spread(runs.map((r) => r.ms));
    const users = runs[0]!.users;
    listAll.push({ protocol, engine, label, users, ms, usersPerSecond: (users / ms.median) * 1000 });
  }
  return { listAll, fanOut: [] };
}

/** WatchUsers fan-out, and (beside the default engine) the event streams': REST's SSE, GraphQL's and tRPC's subscriptions. */
export async function fanOutOn(
  { engine, withRest, on, grpcPort, baseUrl, client }: ServerUnderTest,
  data: BenchData,
  settings: StreamingSettings,
  progress: Progress,
): Promise<StreamingResults> {
  // Windows as large as a tuned client's: the 64 KiB defaults, shared by 50 streams, would pace the server.
  const session = connect(`http://127.0.0.1:${grpcPort}`, { settings: { initialWindowSize: 1 << 20 } });
  session.on('error', () => {});
  session.on('connect', () => session.setLocalWindowSize(16 << 20));
  const runId = `${Date.now().toString(36)}${engine}`;
  const { subscribers, events } = settings;
  progress.step(`streaming fan-out gRPC WatchUsers${on} × ${subscribers}`);
  const grpc = await fanOut((t) => watchGrpc(session, data.token, t), client, settings, `${runId}g`).finally(() =>
    session.close(),
  );
  const fanOuts: FanOutMeasurement[] = [
    { protocol: 'grpc-watch', engine, label: `gRPC WatchUsers${on}`, subscribers, events, ...grpc },
  ];
  if (withRest) {
    for (const [protocol, label] of [
      ['sse', 'REST Server-Sent Events'],
      ['graphql-sse', 'GraphQL subscription (SSE)'],
      ['trpc-sse', 'tRPC subscription (SSE)'],
    ] as const) {
      progress.step(`streaming fan-out ${label}${on} × ${subscribers}`);
      const way = EVENT_STREAMS[protocol];
      const measured = await fanOut(
        (t) => watchEventStream(baseUrl, way, data.token, t),
        client,
        settings,
        `${runId}${protocol}`,
      );
      fanOuts.push({ protocol, engine, label: `${label}${on}`, subscribers, events, ...measured });
    }
  }
  return { listAll: [], fanOut: fanOuts };
}
