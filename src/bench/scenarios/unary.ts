import { userToProto } from '../../contract/users.js';
import { GRPC_DEFAULTS, GRPC_ENGINES } from '../../grpc/server.js';
import { GetUserRequest, ListUsersRequest, User as UserCodec } from '../../gen/users/v1/users.js';
import { userToJson } from '../../rest/representation.js';
import { type BenchData, LIST_SIZE, oursSettings } from '../fixtures.js';
import { type DriverName, runLoad } from '../load/drivers.js';
import { probe, succeeded } from '../load/node-driver.js';
import {
  GRPC_REQUEST_HEADERS,
  grpcFrame,
  type LoadProtocol,
  type LoadResult,
  type LoadSpec,
  overHttp1,
} from '../load/spec.js';
import type { Pinning } from '../pinning.js';
import type { Progress } from '../progress.js';
import { launchServer, type ServerKind } from '../servers/launch.js';
import { type LatencySummary, type Spread, spread } from '../stats.js';

/** GetUser, the 100-user page, and GetUser asking for two fields only (where a client can ask: GraphQL, REST's ?fields=). */
export type Endpoint = 'get' | 'list' | 'get-slim';
/** `same-work` targets are the overhead scenario's (scenarios/overhead.ts), which asks for them through loadSpecFor. */
export type TargetGroup = 'ours' | 'ceiling' | 'baseline' | 'same-work' | 'original';

export interface UnaryTarget {
  id: string;
  label: string;
  group: TargetGroup;
  protocol: LoadProtocol;
  endpoint: Endpoint;
  /** Connect's encoding: JSON or binary protobuf. */
  format?: 'json' | 'binary';
  /** Which API a plain HTTP target calls: REST's routes (the default) or tRPC's procedures. */
  api?: 'rest' | 'trpc';
}

/** One server process and the targets it answers; each process runs alone on the server core(s). */
interface ServerPlan {
  kind: ServerKind;
  settings: (data: BenchData) => object;
  targets: UnaryTarget[];
}

type Way = Pick<UnaryTarget, 'label' | 'protocol' | 'format' | 'api'> & { key: string };

/** Our server's ways to call one endpoint over HTTP/1.1 and gRPC: what a backend and a browser would use. */
const OUR_H1_PROTOCOLS: Way[] = [
  { key: 'grpc', label: 'twinapi gRPC', protocol: 'grpc' },
  { key: 'rest-h1', label: 'twinapi REST (HTTP/1.1)', protocol: 'http1' },
  { key: 'connect-json', label: 'twinapi Connect JSON (HTTP/1.1)', protocol: 'connect', format: 'json' },
  { key: 'connect-binary', label: 'twinapi Connect binary (HTTP/1.1)', protocol: 'connect', format: 'binary' },
  { key: 'grpc-web', label: 'twinapi gRPC-Web (HTTP/1.1)', protocol: 'grpc-web' },
  { key: 'graphql', label: 'twinapi GraphQL (HTTP/1.1)', protocol: 'graphql' },
  { key: 'trpc', label: 'twinapi tRPC (HTTP/1.1)', protocol: 'http1', api: 'trpc' },
];

/** The ways a client can ask for fewer fields: GraphQL's selection, REST's ?fields=. */
const SLIM_WAYS = new Set(['rest-h1', 'graphql']);

const ourTargets = (transport: 'h1' | 'h2'): UnaryTarget[] =>
  transport === 'h1'
    ? (['get', 'list', 'get-slim'] as const).flatMap((endpoint) =>
        OUR_H1_PROTOCOLS.filter(({ key }) => endpoint !== 'get-slim' || SLIM_WAYS.has(key)).map(({ key, ...way }) => ({
          id: `ours-${key}-${endpoint}`,
          group: 'ours' as const,
          endpoint,
          ...way,
        })),
      )
    : (['get', 'list'] as const).map((endpoint) => ({
        id: `ours-rest-h2-${endpoint}`,
        label: 'twinapi REST (HTTP/2)',
        group: 'ours' as const,
        protocol: 'h2c' as const,
        endpoint,
      }));

const constantUser = (data: BenchData) => ({
  userJson: JSON.stringify(userToJson(data.sampleUser)),
  userProtobufBase64: Buffer.from(UserCodec.encode(userToProto(data.sampleUser)).finish()).toString('base64'),
});

export const SERVER_PLANS: ServerPlan[] = [
  { kind: 'ours', settings: (d) => oursSettings(d), targets: ourTargets('h1') },
  { kind: 'ours', settings: (d) => oursSettings(d, { http2: true }), targets: ourTargets('h2') },
  // gRPC served by the other engine(s) too (ours-grpc-* is the default engine's).
  ...GRPC_ENGINES.filter((engine) => engine !== GRPC_DEFAULTS.engine).map((engine) => ({
    kind: 'ours' as const,
    settings: (d: BenchData) => oursSettings(d, { grpcEngine: engine }),
    targets: (['get', 'list'] as const).map((endpoint) => ({
      id: `ours-grpc-${engine}-${endpoint}`,
      label: `twinapi gRPC (${engine} engine)`,
      group: 'ours' as const,
      protocol: 'grpc' as const,
      endpoint,
    })),
  })),
  {
    kind: 'bare-http',
    settings: constantUser,
    targets: [
      { id: 'bare-http-get', label: 'bare node:http (constant)', group: 'ceiling', protocol: 'http1', endpoint: 'get' },
    ],
  },
  {
    kind: 'bare-http2-grpc',
    settings: constantUser,
    targets: [
      {
        id: 'bare-http2-grpc-get',
        label: 'bare node:http2 gRPC (pre-encoded)',
        group: 'ceiling',
        protocol: 'grpc',
        endpoint: 'get',
      },
    ],
  },
  {
    kind: 'bare-fastify',
    settings: constantUser,
    targets: [
      {
        id: 'bare-fastify-get',
        label: 'bare Fastify (constant)',
        group: 'baseline',
        protocol: 'http1',
        endpoint: 'get',
      },
    ],
  },
  {
    kind: 'bare-grpc-js',
    settings: constantUser,
    targets: [
      {
        id: 'bare-grpc-js-get',
        label: 'bare grpc-js (constant)',
        group: 'baseline',
        protocol: 'grpc',
        endpoint: 'get',
      },
    ],
  },
  {
    kind: 'bare-trpc',
    settings: constantUser,
    targets: [
      {
        id: 'bare-trpc-get',
        label: 'bare tRPC (its Fastify adapter, constant)',
        group: 'baseline',
        protocol: 'http1',
        api: 'trpc',
        endpoint: 'get',
      },
    ],
  },
  {
    kind: 'bare-mercurius',
    settings: constantUser,
    targets: [
      {
        id: 'bare-mercurius-get',
        label: 'bare Mercurius (graphql-jit, constant)',
        group: 'baseline',
        protocol: 'graphql',
        endpoint: 'get',
      },
    ],
  },
  {
    kind: 'original',
    settings: (d) => ({ db: d.db }),
    targets: (['get', 'list'] as const).flatMap((endpoint) => [
      {
        id: `original-grpc-${endpoint}`,
        label: 'original gRPC (grpc-js + proto-loader)',
        group: 'original' as const,
        protocol: 'grpc' as const,
        endpoint,
      },
      {
        id: `original-rest-${endpoint}`,
        label: 'original REST (Express 5)',
        group: 'original' as const,
        protocol: 'http1' as const,
        endpoint,
      },
    ]),
  },
];

/** What a request names: the user GetUser asks for, the list's cursor, and the bearer token. */
export type RequestData = Pick<BenchData, 'sampleUser' | 'listPageToken' | 'token'>;

export function requestFor(target: UnaryTarget, data: RequestData): Request {
  const request = requestPath(target, data);
  // Our servers take the bearer token (one with auth off ignores it: the requests stay the same).
  if (target.group !== 'ours') return request;
  return { ...request, headers: { ...request.headers, authorization: `Bearer ${data.token}` } };
}

type Request = { path: string; body?: Buffer; headers?: Record<string, string> };

/** The RPC path and its request message: one user by id, or the 100-user page after the list cursor. */
function rpcRequest(data: RequestData, endpoint: Endpoint) {
  return endpoint !== 'list'
    ? {
        path: '/users.v1.UserService/GetUser',
        binary: GetUserRequest.encode({ id: data.sampleUser.id }).finish(),
        json: { id: data.sampleUser.id },
      }
    : {
        path: '/users.v1.UserService/ListUsers',
        binary: ListUsersRequest.encode({ pageSize: LIST_SIZE, pageToken: data.listPageToken, filter: '' }).finish(),
        json: { pageSize: LIST_SIZE, pageToken: data.listPageToken },
      };
}

/** Every field of a user, as GraphQL selects them (what the other ways always send). */
const ALL_FIELDS = 'id name email role tags createdAt updatedAt revision etag';
/** The two fields a slim GetUser asks for. */
const SLIM_FIELDS = ['id', 'name'];

/** GraphQL's query and variables for each endpoint. */
function graphqlRequest(data: RequestData, endpoint: Endpoint): Request {
  const query =
    endpoint === 'list'
      ? // `first` literal: the complexity limit counts a variable `first` at the most a page may hold (500).
        `query List($after: String) { users(first: ${LIST_SIZE}, after: $after) { revision edges { node { ${ALL_FIELDS} } } pageInfo { hasNextPage endCursor } } }`
      : `query Get($id: ID!) { user(id: $id) { ${endpoint === 'get' ? ALL_FIELDS : SLIM_FIELDS.join(' ')} } }`;
  const variables = endpoint === 'list' ? { after: data.listPageToken } : { id: data.sampleUser.id };
  return {
    path: '/graphql',
    body: Buffer.from(JSON.stringify({ query, variables })),
    headers: { 'content-type': 'application/json' },
  };
}

/** tRPC's procedure and its input (plain JSON, in the query string as tRPC's GET carries it). */
function trpcRequest(data: RequestData, endpoint: Endpoint): Request {
  const [procedure, input] =
    endpoint === 'list'
      ? ['users.list', { pageSize: LIST_SIZE, pageToken: data.listPageToken }]
      : ['users.get', { id: data.sampleUser.id }];
  return { path: `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}` };
}

function restRequest(data: RequestData, endpoint: Endpoint): Request {
  const user = `/users/${data.sampleUser.id}`;
  if (endpoint === 'get') return { path: user };
  if (endpoint === 'get-slim') return { path: `${user}?fields=${SLIM_FIELDS.join(',')}` };
  return { path: `/users?limit=${LIST_SIZE}&page_token=${encodeURIComponent(data.listPageToken)}` };
}

function requestPath(target: UnaryTarget, data: RequestData): Request {
  if (target.protocol === 'graphql') return graphqlRequest(data, target.endpoint);
  if (target.protocol === 'http1' || target.protocol === 'h2c')
    return target.api === 'trpc' ? trpcRequest(data, target.endpoint) : restRequest(data, target.endpoint);
  const { path, binary, json } = rpcRequest(data, target.endpoint);
  // A server stream (ListUsers) is enveloped on Connect as on gRPC; a unary call (GetUser) is the bare message.
  const streaming = target.endpoint === 'list';
  switch (target.protocol) {
    case 'grpc':
      return { path, body: grpcFrame(binary), headers: { ...GRPC_REQUEST_HEADERS } };
    case 'grpc-web':
      return { path, body: grpcFrame(binary), headers: { 'content-type': 'application/grpc-web+proto' } };
    case 'connect': {
      const message = target.format === 'json' ? Buffer.from(JSON.stringify(json)) : Buffer.from(binary);
      const type = `application/${streaming ? 'connect+' : ''}${target.format === 'json' ? 'json' : 'proto'}`;
      return { path, body: streaming ? grpcFrame(message) : message, headers: { 'content-type': type } };
    }
  }
}

export interface UnarySettings {
  driver: DriverName;
  pinning: Pinning;
  concurrency: number[];
  streams: number;
  runs: number;
  durationS: number;
  warmupS: number;
  /** Only targets whose id starts with one of these (all when empty). */
  only: string[];
}

export interface UnaryMeasurement {
  target: UnaryTarget;
  connections: number;
  streams: number;
  /** Successful requests per second: median and spread over the runs. */
  rps: Spread;
  /** Bytes of one OK reply's body: what this way sends for the call. */
  replyBytes?: number;
  /** Median over the runs of each percentile. */
  latencyMs: LatencySummary;
  failed: number;
  serverCpu?: number;
  clientCpu?: number;
  clientSaturated: boolean;
  runs: LoadResult[];
}

export interface UnaryFailure {
  target: UnaryTarget;
  error: string;
}

export interface UnaryResults {
  measurements: UnaryMeasurement[];
  failures: UnaryFailure[];
}

export function selectedPlans(only: string[]): ServerPlan[] {
  return SERVER_PLANS.map((plan) => ({
    ...plan,
    targets: plan.targets.filter((t) => only.length === 0 || only.some((o) => t.id.startsWith(o))),
  })).filter((plan) => plan.targets.length > 0);
}

export function unarySteps(settings: UnarySettings): number {
  const targets = selectedPlans(settings.only).reduce((n, plan) => n + plan.targets.length, 0);
  return targets * settings.concurrency.length * settings.runs;
}

const median = (values: (number | undefined)[]) => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? spread(known).median : undefined;
};

function summarize(target: UnaryTarget, spec: LoadSpec, runs: LoadResult[], replyBytes: number): UnaryMeasurement {
  const percentile = (key: keyof LatencySummary) => spread(runs.map((r) => r.latencyMs[key])).median;
  return {
    target,
    replyBytes,
    connections: spec.connections,
    streams: spec.streams,
    rps: spread(runs.map((r) => r.rps)),
    latencyMs: {
      p50: percentile('p50'),
      p90: percentile('p90'),
      p99: percentile('p99'),
      max: Math.max(...runs.map((r) => r.latencyMs.max)),
    },
    failed: runs.reduce((n, r) => n + r.failed, 0),
    serverCpu: median(runs.map((r) => r.serverCpu)),
    clientCpu: median(runs.map((r) => r.clientCpu)),
    clientSaturated: runs.some((r) => r.clientSaturated),
    runs,
  };
}

export async function runUnary(data: BenchData, settings: UnarySettings, progress: Progress): Promise<UnaryResults> {
  const results: UnaryResults = { measurements: [], failures: [] };
  for (const plan of selectedPlans(settings.only)) {
    const server = await launchServer(plan.kind, plan.settings(data), settings.pinning.serverCores);
    try {
      for (const target of plan.targets) await measureTarget(target, server, data, settings, progress, results);
    } finally {
      await server.stop();
    }
  }
  return results;
}

/** The load of one connection on `target` of `server`, for the settings' duration and warm-up. */
export function loadSpecFor(
  target: UnaryTarget,
  server: { ports: { grpc?: number; http?: number } },
  data: RequestData,
  settings: { durationS: number; warmupS: number },
): LoadSpec {
  const port = target.protocol === 'grpc' ? server.ports.grpc : server.ports.http;
  const { path, body, headers } = requestFor(target, data);
  return {
    protocol: target.protocol,
    url: `http://127.0.0.1:${port}${path}`,
    body,
    headers,
    connections: 1,
    streams: 1,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
  };
}

/**
 * One checked call first: a target that answers with an error is reported, not benchmarked. The OK
 * reply's size is what the load generator counts successes by.
 */
export async function checkedTarget(spec: LoadSpec): Promise<{ dataBytes: number } | { error: string }> {
  const reply = await probe(spec).catch((error: Error) => ({ status: 0, dataBytes: 0, error: error.message }));
  if (succeeded(spec, reply)) return reply;
  return {
    error:
      'error' in reply
        ? reply.error
        : `HTTP ${reply.status}${reply.grpcStatus === undefined ? '' : `, grpc-status ${reply.grpcStatus}`}`,
  };
}

/**
 * Probes `target` once, then loads it at each concurrency; `label` tells apart the setups of one target in the
 * progress line.
 */
export async function measureTarget(
  target: UnaryTarget,
  server: { pid: number; ports: { grpc?: number; http?: number } },
  data: BenchData,
  settings: Omit<UnarySettings, 'only'>,
  progress: Progress,
  results: UnaryResults,
  label = '',
): Promise<void> {
  const name = label ? `${target.id} (${label})` : target.id;
  const base = loadSpecFor(target, server, data, settings);
  const checked = await checkedTarget(base);
  if ('error' in checked) {
    results.failures.push({ target, error: checked.error });
    for (let i = 0; i < settings.concurrency.length * settings.runs; i++)
      progress.step(`${name}: failed (${checked.error})`);
    return;
  }
  const reply = checked;
  for (const connections of settings.concurrency) {
    const spec: LoadSpec = { ...base, connections, streams: overHttp1(target.protocol) ? 1 : settings.streams };
    const runs: LoadResult[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      progress.step(`${name} c=${connections}×${spec.streams} run ${run}/${settings.runs}`);
      runs.push(
        await runLoad(spec, {
          driver: settings.driver,
          pinning: settings.pinning,
          serverPid: server.pid,
          okReplyBytes: reply.dataBytes,
        }),
      );
    }
    results.measurements.push(summarize(target, spec, runs, reply.dataBytes));
  }
}
