import { Agent, request as httpRequest } from 'node:http';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { summarizeLatencies } from '../stats.js';
import { type LoadSpec, numberedBody, overHttp1, statusInBody, statusInTrailers } from './spec.js';

export interface NodeLoadOutcome {
  requests: number;
  succeeded: number;
  failed: number;
  measuredS: number;
  latencyMs: ReturnType<typeof summarizeLatencies>;
}

export interface Reply {
  status: number;
  /** grpc-status from the trailers (or a trailers-only response); undefined for plain HTTP. */
  grpcStatus?: number;
  /** A GraphQL reply that says `errors` (its HTTP status may be 200 all the same). */
  graphqlErrors?: boolean;
  dataBytes: number;
  /** The response headers (HTTP/1.1 calls). */
  headers?: Record<string, string | string[] | undefined>;
}

export function succeeded(spec: Pick<LoadSpec, 'protocol'>, reply: Reply): boolean {
  const httpOk = reply.status >= 200 && reply.status < 300;
  if (spec.protocol === 'graphql') return httpOk && reply.graphqlErrors === false;
  return statusInTrailers(spec.protocol) ? httpOk && reply.grpcStatus === 0 : httpOk;
}

/** grpc-status in a gRPC-Web body's trailers frame (flag 0x80), the body's last. */
function grpcWebStatusOf(body: Buffer): number | undefined {
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1)) {
    if (body[at] === 0x80) {
      const trailers = body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1)).toString();
      const status = /(?:^|\r\n)grpc-status:\s*(\d+)/i.exec(trailers)?.[1];
      return status === undefined ? undefined : Number(status);
    }
  }
  return undefined;
}

/** Whether a GraphQL reply carries errors (a body that is not JSON counts as one). */
function graphqlErrorsIn(body: Buffer): boolean {
  try {
    return 'errors' in (JSON.parse(body.toString()) as object);
  } catch {
    return true;
  }
}

function grpcStatusOf(headers: IncomingHttpHeaders): number | undefined {
  const raw = headers['grpc-status'];
  return raw === undefined ? undefined : Number(raw);
}

/** The method of a spec's requests. */
const methodOf = (spec: Pick<LoadSpec, 'body' | 'method'>) => spec.method ?? (spec.body ? 'POST' : 'GET');

/** The body of a spec's request number `n` (numbered when the spec asks for it). */
const bodyOf = (spec: Pick<LoadSpec, 'body' | 'sequence'>, n: number) =>
  spec.body && spec.sequence ? numberedBody(spec.body, spec.sequence.start + n) : spec.body;

function http2Call(session: ClientHttp2Session, spec: LoadSpec, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ':method': methodOf(spec), ':path': path, ...spec.headers };
    const stream = session.request(headers, { endStream: !spec.body });
    const reply: Reply = { status: 0, dataBytes: 0 };
    stream.on('response', (h) => {
      reply.status = Number(h[':status']);
      reply.grpcStatus = grpcStatusOf(h);
    });
    stream.on('trailers', (h: IncomingHttpHeaders) => {
      reply.grpcStatus = grpcStatusOf(h) ?? reply.grpcStatus;
    });
    stream.on('data', (chunk: Buffer) => {
      reply.dataBytes += chunk.length;
    });
    stream.on('end', () => resolve(reply));
    stream.on('error', reject);
    if (spec.body) stream.end(spec.body);
  });
}

/** One HTTP/1.1 call (a POST when the spec has a body); a gRPC-Web or GraphQL reply's status is read from its body. */
export function http1Call(
  agent: Agent,
  url: URL,
  spec: Pick<LoadSpec, 'protocol' | 'body' | 'headers' | 'method'>,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, method: methodOf(spec), headers: spec.headers }, (res) => {
      const chunks: Buffer[] = [];
      let dataBytes = 0;
      res.on('data', (chunk: Buffer) => {
        dataBytes += chunk.length;
        if (statusInBody(spec.protocol)) chunks.push(chunk);
      });
      res.on('end', () => {
        const reply: Reply = { status: res.statusCode ?? 0, dataBytes, headers: res.headers };
        if (spec.protocol === 'grpc-web') reply.grpcStatus = grpcWebStatusOf(Buffer.concat(chunks));
        if (spec.protocol === 'graphql') reply.graphqlErrors = graphqlErrorsIn(Buffer.concat(chunks));
        resolve(reply);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(spec.body);
  });
}

/** One request, answered in full: how the lab checks a target works before loading it (a numbered one is number 0). */
export async function probe(template: LoadSpec): Promise<Reply> {
  const spec = { ...template, body: bodyOf(template, 0) };
  const url = new URL(spec.url);
  if (overHttp1(spec.protocol)) {
    const agent = new Agent({ keepAlive: false });
    return http1Call(agent, url, spec);
  }
  const session = connect(url.origin);
  try {
    return await http2Call(session, spec, url.pathname + url.search);
  } finally {
    session.close();
  }
}

/**
 * The built-in load generator, for machines without h2load: `connections`
 * connections, each with `streams` requests in flight, for warm-up then the
 * measured duration; only requests that start and end inside the measured
 * window count.
 */
export async function runNodeLoad(spec: LoadSpec): Promise<NodeLoadOutcome> {
  const url = new URL(spec.url);
  const path = url.pathname + url.search;
  const start = performance.now();
  const measureFrom = start + spec.warmupS * 1000;
  const stopAt = measureFrom + spec.durationS * 1000;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let good = 0;
  let bad = 0;
  const record = (began: number, ok: boolean) => {
    const ended = performance.now();
    if (began < measureFrom || ended > stopAt) return;
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ended - began;
    if (ok) good++;
    else bad++;
  };
  // Request numbers from 1 on (the probe took 0), across every connection.
  let sent = 0;
  const numbered = () => (spec.sequence ? { ...spec, body: bodyOf(spec, ++sent) } : spec);
  const loop = async (call: (request: LoadSpec) => Promise<Reply>) => {
    while (performance.now() < stopAt) {
      const began = performance.now();
      let ok: boolean;
      try {
        ok = succeeded(spec, await call(numbered()));
      } catch {
        ok = false;
      }
      record(began, ok);
    }
  };

  const loops: Promise<void>[] = [];
  const closers: (() => void)[] = [];
  if (overHttp1(spec.protocol)) {
    const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
    closers.push(() => agent.destroy());
    for (let i = 0; i < spec.connections; i++) loops.push(loop((request) => http1Call(agent, url, request)));
  } else {
    for (let c = 0; c < spec.connections; c++) {
      const session = connect(url.origin);
      closers.push(() => session.close());
      for (let s = 0; s < spec.streams; s++) loops.push(loop((request) => http2Call(session, request, path)));
    }
  }
  await Promise.all(loops);
  for (const close of closers) close();
  return {
    requests: count,
    succeeded: good,
    failed: bad,
    measuredS: spec.durationS,
    latencyMs: summarizeLatencies(latencies.subarray(0, count)),
  };
}
