import type { BenchResults } from '../results.js';
import type { Endpoint } from '../scenarios/unary.js';
import { ratio } from '../stats.js';
import { overheadTargets } from './overhead.js';
import { scaleTargets } from './scale.js';
import { n0 } from './format.js';
import { graphqlClaim, trpcClaim } from './api-styles.js';
import { type Finding, unaryAt } from './lookup.js';
import { GRPC_DEFAULTS, GRPC_ENGINES, type GrpcEngineName } from '../../grpc/server.js';

export type { Finding, Verdict } from './lookup.js';
export { unaryAt } from './lookup.js';

export interface TargetCheck {
  target: string;
  /** A ratio to reach (at least, the default), or milliseconds not to exceed. */
  unit?: 'ms';
  required: number;
  measured: number;
  met: boolean | undefined;
  detail: string;
}

const x = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');
const us = (n: number) => `${n.toFixed(2)} µs`;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const rps = (n: number) => `${Math.round(n).toLocaleString('en-US')} req/s`;

const levels = (results: BenchResults) =>
  [...new Set(results.unary?.measurements.map((m) => m.connections) ?? [])].sort((a, b) => a - b);

function serializationClaim(results: BenchResults): Finding {
  const claim = 'protobuf serializes 5–10× faster than JSON (0.01 ms vs 0.08 ms per user)';
  const find = (codec: string, direction: string) =>
    results.serialization?.find((m) => m.codec === codec && m.payload === 'one' && m.direction === direction);
  const [je, pe, jd, pd] = [
    find('json', 'encode'),
    find('protobuf', 'encode'),
    find('json', 'decode'),
    find('protobuf', 'decode'),
  ];
  if (!je || !pe || !jd || !pd) return { claim, measured: '—', verdict: 'not measured' };
  const encode = ratio(je.microsPerOp.median, pe.microsPerOp.median);
  const decode = ratio(jd.microsPerOp.median, pd.microsPerOp.median);
  return {
    claim,
    measured:
      `one user: encode JSON ${us(je.microsPerOp.median)} vs protobuf ${us(pe.microsPerOp.median)} (${x(encode)}); ` +
      `decode ${us(jd.microsPerOp.median)} vs ${us(pd.microsPerOp.median)} (${x(decode)})`,
    verdict: encode >= 5 && decode >= 5 ? 'holds' : encode > 1.1 || decode > 1.1 ? 'partly' : 'does not hold',
  };
}

function sizeClaim(results: BenchResults): Finding {
  const claim = 'payloads 3–5× smaller (100 users ≈ 15 KB protobuf vs ≈ 50 KB JSON)';
  const json = results.payload?.find((p) => p.codec === 'json' && p.payload === 'many');
  const proto = results.payload?.find((p) => p.codec === 'protobuf' && p.payload === 'many');
  if (!json || !proto) return { claim, measured: '—', verdict: 'not measured' };
  const raw = ratio(json.bytes, proto.bytes);
  const gz = ratio(json.gzipBytes, proto.gzipBytes);
  return {
    claim,
    measured:
      `${proto.users} users: protobuf ${kb(proto.bytes)} vs JSON ${kb(json.bytes)} (${x(raw)} smaller); ` +
      `gzip: ${kb(proto.gzipBytes)} vs ${kb(json.gzipBytes)} (${x(gz)})`,
    verdict: raw >= 3 ? 'holds' : raw > 1.2 ? 'partly' : 'does not hold',
  };
}

function throughputClaim(results: BenchResults, endpoint: Endpoint): Finding {
  const claim = 'gRPC handles 2–5× more requests/s under load';
  const grpc = unaryAt(results, `ours-grpc-${endpoint}`);
  const rest = unaryAt(results, `ours-rest-h1-${endpoint}`);
  if (!grpc || !rest) return { claim, measured: '—', verdict: 'not measured' };
  const r = ratio(grpc.rps.median, rest.rps.median);
  return {
    claim: `${claim} (${endpoint === 'get' ? 'GetUser' : '100-user list'})`,
    measured: `${grpc.connections} connections: gRPC ${rps(grpc.rps.median)} vs REST ${rps(rest.rps.median)} (${x(r)})`,
    verdict: r >= 2 ? 'holds' : r > 1.1 ? 'partly' : 'does not hold',
  };
}

function tailClaim(results: BenchResults): Finding {
  const claim = 'p50 similar, p99 much better for gRPC';
  const grpc = unaryAt(results, 'ours-grpc-get');
  const rest = unaryAt(results, 'ours-rest-h1-get');
  if (!grpc || !rest) return { claim, measured: '—', verdict: 'not measured' };
  const p50 = ratio(rest.latencyMs.p50, grpc.latencyMs.p50);
  const p99 = ratio(rest.latencyMs.p99, grpc.latencyMs.p99);
  return {
    claim,
    measured:
      `${grpc.connections} connections: ` +
      `p50 gRPC ${grpc.latencyMs.p50.toFixed(2)} ms vs REST ${rest.latencyMs.p50.toFixed(2)} ms; ` +
      `p99 ${grpc.latencyMs.p99.toFixed(2)} vs ${rest.latencyMs.p99.toFixed(2)} ms (REST/gRPC p99 ${x(p99)})`,
    verdict: p99 >= 1.5 && p50 > 0.67 && p50 < 1.5 ? 'holds' : p99 > 1.1 ? 'partly' : 'does not hold',
  };
}

function chattyClaim(results: BenchResults): Finding {
  const claim = 'gRPC cut latency by 60% for a chatty internal caller';
  const one = levels(results)[0];
  const grpc = one === undefined ? undefined : unaryAt(results, 'ours-grpc-get', one);
  const rest = one === undefined ? undefined : unaryAt(results, 'ours-rest-h1-get', one);
  if (!grpc || !rest) return { claim, measured: '—', verdict: 'not measured' };
  const cut = 1 - grpc.latencyMs.p50 / rest.latencyMs.p50;
  return {
    claim,
    measured:
      `sequential calls on ${one} connection(s): ` +
      `p50 gRPC ${grpc.latencyMs.p50.toFixed(3)} ms vs REST ${rest.latencyMs.p50.toFixed(3)} ms ` +
      `(${cut >= 0 ? `${(cut * 100).toFixed(0)}% lower` : `${(-cut * 100).toFixed(0)}% higher`} with gRPC)`,
    verdict: cut >= 0.6 ? 'holds' : cut > 0.1 ? 'partly' : 'does not hold',
  };
}

/** The engine a measurement's gRPC ran on (results written before it was recorded came from grpc-js). */
const engineOf = (m: { engine?: GrpcEngineName }) => m.engine ?? 'grpc-js';

/** The streaming measurements of the default gRPC engine (and REST's, measured beside it). */
export function defaultEngineStreams(results: BenchResults) {
  const onDefault = <T extends { engine?: GrpcEngineName }>(list: T[] | undefined) =>
    list?.filter((m) => engineOf(m) === GRPC_DEFAULTS.engine) ?? [];
  return {
    streamAll: onDefault(results.streaming?.listAll).find((l) => l.protocol === 'grpc-stream'),
    pages: results.streaming?.listAll.find((l) => l.protocol === 'rest-pages'),
    watch: onDefault(results.streaming?.fanOut).find((f) => f.protocol === 'grpc-watch'),
    sse: results.streaming?.fanOut.find((f) => f.protocol === 'sse'),
  };
}

function streamingClaim(results: BenchResults): Finding {
  const claim = 'streaming handles event pipelines that REST needs WebSockets for';
  const { watch: grpc } = defaultEngineStreams(results);
  const sse = results.streaming?.fanOut.find((f) => f.protocol === 'sse');
  if (!grpc || !sse) return { claim, measured: '—', verdict: 'not measured' };
  return {
    claim,
    measured:
      `${grpc.subscribers} subscribers × ${grpc.events} events: ` +
      `WatchUsers ${Math.round(grpc.deliveredPerSecond).toLocaleString('en-US')} events/s ` +
      `(p99 ${grpc.latencyMs.p99} ms, ${grpc.missing} missing); ` +
      `SSE ${Math.round(sse.deliveredPerSecond).toLocaleString('en-US')} events/s ` +
      `(p99 ${sse.latencyMs.p99} ms, ${sse.missing} missing) — REST did it with plain HTTP (SSE), no WebSockets`,
    verdict: sse.missing === 0 ? 'does not hold' : 'partly',
  };
}

export function findings(results: BenchResults): Finding[] {
  return [
    serializationClaim(results),
    sizeClaim(results),
    throughputClaim(results, 'get'),
    throughputClaim(results, 'list'),
    tailClaim(results),
    chattyClaim(results),
    streamingClaim(results),
    graphqlClaim(results),
    trpcClaim(results),
  ];
}

function check(results: BenchResults, target: string, ours: string, base: string, required: number): TargetCheck {
  const a = unaryAt(results, ours);
  const b = unaryAt(results, base);
  if (!a || !b) return { target, required, measured: Number.NaN, met: undefined, detail: 'not measured in this run' };
  const measured = ratio(a.rps.median, b.rps.median);
  return {
    target,
    required,
    measured,
    met: measured >= required,
    detail: `${rps(a.rps.median)} vs ${rps(b.rps.median)} at ${a.connections} connections`,
  };
}

/**
 * Issue 17's gRPC targets, checked for each engine (`{engine}` names it, or nothing for the default).
 * Those against hand-written servers doing the same work are the overhead scenario's (overhead.ts).
 */
const GRPC_TARGETS: [target: string, endpoint: Endpoint, base: string, required: number][] = [
  ['our gRPC GetUser{engine} ≥ 1.5 × original gRPC stack', 'get', 'original-grpc-get', 1.5],
  ['our 100-user list over gRPC{engine} ≥ 1.0 × our REST/1.1 (unary scenario)', 'list', 'ours-rest-h1-list', 1],
];

/** How a target names its engine: not at all for the default, ` (grpc-js engine)` for another. */
const engineLabel = (engine: GrpcEngineName) => (engine === GRPC_DEFAULTS.engine ? '' : ` (${engine} engine)`);

/** Our gRPC target ids and labels per engine: `ours-grpc-…` the default's, `ours-grpc-grpc-js-…` grpc-js's. */
const GRPC_ENGINE_TARGETS = GRPC_ENGINES.map((engine) => ({
  suffix: engine === GRPC_DEFAULTS.engine ? '' : `-${engine}`,
  label: engineLabel(engine),
}));

/** Streams against REST's: the whole table as one gRPC stream vs cursor pages, and watch fan-out vs SSE. */
function streamingTargets(results: BenchResults): TargetCheck[] {
  const s = results.streaming;
  const notMeasured = { measured: Number.NaN, met: undefined, detail: 'not measured in this run' };
  const pages = s?.listAll.find((l) => l.protocol === 'rest-pages');
  const sse = s?.fanOut.find((f) => f.protocol === 'sse');
  return GRPC_ENGINES.flatMap((engine): TargetCheck[] => {
    const on = engineLabel(engine);
    const stream = s?.listAll.find((l) => l.protocol === 'grpc-stream' && engineOf(l) === engine);
    const watch = s?.fanOut.find((f) => f.protocol === 'grpc-watch' && engineOf(f) === engine);
    const users = stream ? n0(stream.users) : 'every';
    const listTarget = `${users}-user ListUsers stream${on} ≥ 1.0 × REST cursor pages' speed`;
    const rateTarget = `WatchUsers fan-out${on} ≥ 1.0 × SSE's events/s, none missing`;
    const tailTarget = `WatchUsers fan-out p99${on} ≤ 1.5 × SSE's`;
    if (!stream || !pages || !watch || !sse) {
      return [listTarget, rateTarget].map((target) => ({ target, required: 1, ...notMeasured }));
    }
    const listRatio = pages.ms.median / stream.ms.median;
    const rateRatio = watch.deliveredPerSecond / sse.deliveredPerSecond;
    const tailLimit = 1.5 * sse.latencyMs.p99;
    return [
      {
        target: listTarget,
        required: 1,
        measured: listRatio,
        met: listRatio >= 1,
        detail: `${n0(stream.ms.median)} ms vs ${n0(pages.ms.median)} ms`,
      },
      {
        target: rateTarget,
        required: 1,
        measured: rateRatio,
        met: rateRatio >= 1 && watch.missing === 0,
        detail: `${n0(watch.deliveredPerSecond)} vs ${n0(sse.deliveredPerSecond)} events/s; ${watch.missing} missing`,
      },
      {
        target: tailTarget,
        unit: 'ms' as const,
        required: tailLimit,
        measured: watch.latencyMs.p99,
        met: watch.latencyMs.p99 <= tailLimit,
        detail: `p99 ${n0(watch.latencyMs.p99)} ms vs SSE's ${n0(sse.latencyMs.p99)} ms`,
      },
    ];
  });
}

/** The issue's targets, as ratios measured in this run at the highest concurrency. */
export function targetChecks(results: BenchResults): TargetCheck[] {
  return [
    check(results, 'our gRPC GetUser ≥ 0.80 × bare grpc-js', 'ours-grpc-get', 'bare-grpc-js-get', 0.8),
    check(results, 'our REST GET /users/:id ≥ 0.80 × bare Fastify', 'ours-rest-h1-get', 'bare-fastify-get', 0.8),
    check(results, 'our 100-user list over gRPC ≥ 2 × original gRPC stack', 'ours-grpc-list', 'original-grpc-list', 2),
    // Against hand-written servers doing the same work: what our layers cost over an expert's minimum.
    ...overheadTargets(results),
    // gRPC's own targets, for each engine that serves it.
    ...GRPC_ENGINE_TARGETS.flatMap(({ suffix, label }) =>
      GRPC_TARGETS.map(([target, endpoint, base, required]) =>
        check(results, target.replace('{engine}', label), `ours-grpc${suffix}-${endpoint}`, base, required),
      ),
    ),
    ...streamingTargets(results),
    ...scaleTargets(results),
  ];
}
