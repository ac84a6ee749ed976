import type { BenchResults } from '../results.js';
import { ratio } from '../stats.js';
import { defaultEngineStreams, unaryAt } from './findings.js';
import { n0 } from './format.js';
import { apiStyleAdvice } from './api-styles.js';

const x = (n: number) => `${n.toFixed(1)}×`;

/** Advice that follows from this run's numbers; each line names the numbers it rests on. */
export function decisionGuide(results: BenchResults): string[] {
  const guide: string[] = [];
  const grpc = unaryAt(results, 'ours-grpc-get');
  const rest = unaryAt(results, 'ours-rest-h1-get');
  const bareGrpc = unaryAt(results, 'bare-grpc-js-get');
  const bareFastify = unaryAt(results, 'bare-fastify-get');
  const http = unaryAt(results, 'bare-http-get');
  const http2 = unaryAt(results, 'bare-http2-grpc-get');
  if (grpc && rest) {
    const r = ratio(grpc.rps.median, rest.rps.median);
    if (r > 1.1)
      guide.push(
        `Throughput: gRPC served ${x(r)} the GetUser requests/s of REST here ` +
          `(${n0(grpc.rps.median)} vs ${n0(rest.rps.median)} at ${grpc.connections} connections). ` +
          `If one machine's request rate is your limit, gRPC buys headroom.`,
      );
    else if (r < 0.9)
      guide.push(
        `Throughput: REST served ${x(1 / r)} the GetUser requests/s of gRPC here ` +
          `(${n0(rest.rps.median)} vs ${n0(grpc.rps.median)} at ${rest.connections} connections). ` +
          `In Node a gRPC call over HTTP/2 costs more than an HTTP/1.1 request to Fastify${
            http2 && bareFastify
              ? ` (even with no work at all: ` +
                `bare node:http2 gRPC ${n0(http2.rps.median)} vs bare Fastify ${n0(bareFastify.rps.median)} req/s)`
              : bareGrpc && bareFastify
                ? ` (even with no work at all: ` +
                  `bare grpc-js ${n0(bareGrpc.rps.median)} vs bare Fastify ${n0(bareFastify.rps.median)} req/s)`
                : ''
          }, so do not pick gRPC for raw request rate.`,
      );
    else
      guide.push(
        `Throughput: gRPC and REST are within 10% of each other for GetUser ` +
          `(${n0(grpc.rps.median)} vs ${n0(rest.rps.median)} req/s): pick on other grounds.`,
      );
  }
  if (http && http2) {
    guide.push(
      `The protocol ceilings (no framework, pre-encoded bytes): ` +
        `HTTP/1.1 ${n0(http.rps.median)} req/s, gRPC over node:http2 ${n0(http2.rps.median)} req/s. ` +
        `The distance from ceiling to framework is the stack's cost, ` +
        `and it is larger than the distance between protocols: measure your stack, not the protocol.`,
    );
  }
  const levels = [...new Set(results.unary?.measurements.map((m) => m.connections) ?? [])].sort((a, b) => a - b);
  const g1 = levels.length ? unaryAt(results, 'ours-grpc-get', levels[0]) : undefined;
  const r1 = levels.length ? unaryAt(results, 'ours-rest-h1-get', levels[0]) : undefined;
  if (g1 && r1) {
    const faster = g1.latencyMs.p50 < r1.latencyMs.p50 ? 'gRPC' : 'REST';
    guide.push(
      `Chatty callers (one call after another): ` +
        `p50 ${g1.latencyMs.p50.toFixed(3)} ms over gRPC vs ${r1.latencyMs.p50.toFixed(3)} ms over REST; ` +
        `${faster} is quicker per call on loopback. ` +
        `Across a real network the round trip dominates both; batch or stream instead of chatting.`,
    );
  }
  const json = results.payload?.find((p) => p.codec === 'json' && p.payload === 'many');
  const proto = results.payload?.find((p) => p.codec === 'protobuf' && p.payload === 'many');
  if (json && proto) {
    guide.push(
      `Bandwidth: a ${proto.users}-user page is ${x(ratio(json.bytes, proto.bytes))} smaller as protobuf ` +
        `(${n0(proto.bytes)} vs ${n0(json.bytes)} bytes), ` +
        `but only ${x(ratio(json.gzipBytes, proto.gzipBytes))} once both are gzipped. ` +
        `Metered or slow links favour protobuf; behind compression the gap mostly closes. ` +
        `REST here also serves application/x-protobuf, so the choice is not tied to the protocol.`,
    );
  }
  const je = results.serialization?.find((m) => m.codec === 'json' && m.payload === 'one' && m.direction === 'encode');
  const pe = results.serialization?.find(
    (m) => m.codec === 'protobuf' && m.payload === 'one' && m.direction === 'encode',
  );
  if (je && pe && grpc) {
    const perRequest = 1e6 / grpc.rps.median;
    guide.push(
      `Serialization: encoding one user costs ${je.microsPerOp.median.toFixed(2)} µs as JSON ` +
        `and ${pe.microsPerOp.median.toFixed(2)} µs as protobuf, ` +
        `against ≈ ${perRequest.toFixed(0)} µs of server time per GetUser: ` +
        `the codec is not where a request's time goes.`,
    );
  }
  const { streamAll, pages, watch, sse } = defaultEngineStreams(results);
  if (streamAll && pages) {
    guide.push(
      `Bulk reads: all ${n0(streamAll.users)} users took ${streamAll.ms.median.toFixed(0)} ms as one gRPC stream ` +
        `and ${pages.ms.median.toFixed(0)} ms as REST cursor pages ` +
        `(${x(ratio(pages.ms.median, streamAll.ms.median))}).`,
    );
  }
  if (watch && sse) {
    guide.push(
      `Event pipelines: both deliver every change in order and resume from a revision; ` +
        `WatchUsers delivered ${n0(watch.deliveredPerSecond)} events/s (p99 ${watch.latencyMs.p99} ms), ` +
        `SSE ${n0(sse.deliveredPerSecond)} events/s (p99 ${sse.latencyMs.p99} ms). ` +
        `Choose gRPC when clients also send on the stream (WatchUsers widens its filter mid-stream); ` +
        `SSE is enough for one-way feeds and works in every browser.`,
    );
  }
  guide.push(...apiStyleAdvice(results));
  const scaling = scalingAdvice(results);
  if (scaling) guide.push(scaling);
  guide.push(
    'Browsers and public APIs: REST (JSON, SSE) works everywhere with curl and caches; ' +
      'gRPC needs gRPC-Web or Connect through a proxy. ' +
      'Internal services with a shared contract and streaming: gRPC. ' +
      'This service serves both from one core, so you can run both and move callers one at a time.',
  );
  return guide;
}

/**
 * What --workers bought on this machine, for our gRPC GetUser, from one worker to the most measured with the load
 * generator on its own core(s).
 */
function scalingAdvice(results: BenchResults): string | undefined {
  const grpc = results.scaling?.measurements.filter((m) => m.target.id === 'ours-grpc-get') ?? [];
  const one = grpc.find((m) => m.workers === 1);
  const pinned = grpc.filter((m) => m.pinning.pinned);
  const most = pinned[pinned.length - 1];
  const all = grpc.find((m) => !m.pinning.pinned && m.workers > 1);
  if (!one) return undefined;
  const parts = [`Scaling: one worker served ${n0(one.rps.median)} gRPC GetUser req/s`];
  if (most && most.workers > 1)
    parts.push(
      `${most.workers} workers on ${most.workers} cores ` +
        `${n0(most.rps.median)} (${x(ratio(most.rps.median, one.rps.median))})`,
    );
  if (all)
    parts.push(
      `${all.workers} workers on all ${all.pinning.cores} cores, sharing them with the load generator, ` +
        `${n0(all.rps.median)} (${x(ratio(all.rps.median, one.rps.median))})`,
    );
  const advice =
    most && most.workers > 1
      ? 'Run one worker per core you give the service (--workers), ' +
        'and more instances behind a load balancer beyond one machine.'
      : 'This machine has too few cores to show scaling with the load generator on a core of its own; ' +
        'on a bigger machine run one worker per core you give the service (--workers).';
  return `${parts.join(', ')}. ${advice}`;
}
