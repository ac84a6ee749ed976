// A lean gRPC server engine on node:http2 (`--grpc-engine http2`): the same service definitions and
// handlers as grpc-js, without its per-call interceptor and filter layers. It does what the gRPC
// server side must: route by path, read length-prefixed messages (identity, gzip, deflate) within
// the receive limit, deadlines (`grpc-timeout`), cancellation (RST_STREAM), metadata, statuses with
// details in trailers, the send limit, keepalive pings, idle and age limits on connections, and a
// graceful GOAWAY at shutdown.
import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Session,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Metadata, status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ObservedCall } from '../../telemetry/calls.js';
import type { GrpcServerOptions } from '../server.js';
import { EngineCall, type Method, type Peer, peerOf } from './call.js';
import { decompress, MessageReader, type RawMessage } from './messages.js';
import { GrpcFailure, respondTrailersOnly, timeoutMs } from './status.js';
import { after, every } from './timers.js';

export type EngineOptions = Pick<
  GrpcServerOptions,
  | 'keepaliveTimeMs'
  | 'keepaliveTimeoutMs'
  | 'maxConcurrentStreams'
  | 'maxReceiveMessageBytes'
  | 'maxSendMessageBytes'
  | 'maxConnectionIdleMs'
  | 'maxConnectionAgeMs'
  | 'maxConnectionAgeGraceMs'
  | 'maxSessionMemoryMiB'
  | 'tls'
> & {
  /** Starts observing a call (metrics, access log, span), as its metadata arrives. */
  observe?: (method: string, metadata: Metadata) => ObservedCall;
};

/** A handler as grpc-js's service implementations hold it: (call) or (call, callback). */
type Handler = (call: EngineCall, callback?: EngineCall['respond']) => void;

interface Route {
  method: Method;
  handler: Handler;
}

/** Headers that are the transport's, not the application's metadata (grpc-js removes the same). */
const TRANSPORT_HEADERS = [
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'accept-encoding',
  'te',
  'content-type',
];

export class Http2Engine {
  private readonly routes = new Map<string, Route>();
  /** Open connections and who is at their other end. */
  private readonly sessions = new Map<Http2Session, Peer>();
  private readonly server: Http2Server | Http2SecureServer;

  constructor(private readonly options: EngineOptions) {
    const common = {
      settings: { maxConcurrentStreams: options.maxConcurrentStreams },
      maxSessionMemory: options.maxSessionMemoryMiB,
    };
    const { tls } = options;
    this.server = tls
      ? createSecureServer({
          ...common,
          cert: tls.cert,
          key: tls.key,
          ALPNProtocols: ['h2'],
          ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        })
      : createServer(common);
    this.server.on('session', (session) => this.open(session));
    this.server.on('stream', (stream, headers) => this.route(stream, headers));
  }

  /** As grpc-js's Server.addService: each method's handler is found by its key or original name. */
  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    for (const [key, method] of Object.entries(service)) {
      const handler = (implementation[key] ?? implementation[method.originalName ?? '']) as Handler | undefined;
      if (handler) this.routes.set(method.path, { method, handler });
    }
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting, asks every connection to close (GOAWAY) and calls back once the last one has. */
  tryShutdown(callback: () => void): void {
    this.server.close(() => callback());
    for (const session of this.sessions.keys()) session.close();
  }

  /** Cuts every connection now: the calls still open end as cancelled. */
  forceShutdown(): void {
    for (const session of this.sessions.keys()) session.destroy();
    this.server.close();
  }

  /** A new connection: keepalive pings, the idle limit and the age limit run on it until it closes. */
  private open(session: ServerHttp2Session): void {
    const o = this.options;
    this.sessions.set(session, peerOf(session));
    // A connection's errors end it; its calls see that as cancellation.
    session.on('error', () => {});
    let active = 0;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => (idle = after(o.maxConnectionIdleMs, () => session.close()));
    armIdle();
    session.on('stream', (stream: ServerHttp2Stream) => {
      active++;
      clearTimeout(idle);
      stream.once('close', () => {
        if (--active === 0 && !session.closed) armIdle();
      });
    });
    const keepalive = every(o.keepaliveTimeMs, () => this.ping(session));
    let age: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    if (o.maxConnectionAgeMs > 0) {
      // ±10% jitter, as gRPC servers do, so connections made together do not all close together.
      const ms = o.maxConnectionAgeMs * (0.9 + Math.random() * 0.2);
      age = after(ms, () => {
        session.close();
        grace = after(o.maxConnectionAgeGraceMs, () => session.destroy());
      });
    }
    session.once('close', () => {
      this.sessions.delete(session);
      for (const timer of [idle, age, grace]) clearTimeout(timer);
      clearInterval(keepalive);
    });
  }

  /** A ping the client must answer within the keepalive timeout, or its connection is dropped. */
  private ping(session: ServerHttp2Session): void {
    if (session.closed || session.destroyed) return;
    const dead = after(this.options.keepaliveTimeoutMs, () => session.destroy());
    const sent = session.ping((error) => {
      clearTimeout(dead);
      if (error && !session.destroyed) session.destroy();
    });
    if (!sent) clearTimeout(dead);
  }

  /** Finds the method, reads the call's headers, then its messages. */
  private route(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    // A reset stream errors; the call learns of it from 'close' (cancellation).
    stream.on('error', () => {});
    const { session } = stream;
    if (!session) return; // Its connection is gone already.
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const path = headers[':path'] ?? '';
    const route = this.routes.get(path);
    if (!route)
      return refuse(stream, new GrpcFailure(status.UNIMPLEMENTED, `The server does not implement the method ${path}`));
    let deadline = Infinity;
    const timeout = headers['grpc-timeout'];
    try {
      if (typeof timeout === 'string') deadline = Date.now() + timeoutMs(timeout);
    } catch (failure) {
      return refuse(stream, failure as GrpcFailure);
    }
    const metadata = Metadata.fromHttp2Headers(headers);
    for (const header of TRANSPORT_HEADERS) metadata.remove(header);
    const observed = this.options.observe?.(path.slice(1), metadata);
    const peer = this.sessions.get(session) ?? peerOf(session);
    const { maxSendMessageBytes } = this.options;
    const call = new EngineCall(stream, peer, route.method, metadata, deadline, maxSendMessageBytes, observed);
    const encoding = typeof headers['grpc-encoding'] === 'string' ? headers['grpc-encoding'] : 'identity';
    this.read(stream, call, route, encoding);
  }

  /**
   * Reads the request messages in order. A call whose client streams starts at once and receives
   * them as they come; any other starts at the client's half-close, with its one message.
   */
  private read(stream: ServerHttp2Stream, call: EngineCall, route: Route, encoding: string): void {
    const { method, handler } = route;
    const reader = new MessageReader(this.options.maxReceiveMessageBytes);
    const start = () => {
      try {
        handler(call, call.respond);
      } catch (error) {
        call.fail({ code: status.UNKNOWN, details: error instanceof Error ? error.message : String(error) });
      }
    };
    let single: { message: unknown } | undefined;
    const receive = (message: unknown) => {
      if (method.requestStream) return call.deliver(message);
      if (single) {
        throw new GrpcFailure(status.UNIMPLEMENTED, `Received a second request message for ${method.path}`);
      }
      single = { message };
    };
    const halfClosed = () => {
      if (reader.partial) throw new GrpcFailure(status.INTERNAL, 'The request ended inside a message');
      if (method.requestStream) return call.requestEnded();
      if (!single) throw new GrpcFailure(status.UNIMPLEMENTED, `Received no request message for ${method.path}`);
      call.request = single.message;
      start();
    };
    // Compressed messages decompress asynchronously; from the first one on, messages and the
    // half-close wait in this chain so that they still arrive in order.
    let chain: Promise<void> | undefined;
    const inOrder = (step: () => void | Promise<void>) => {
      const guarded = async () => {
        if (call.ended) return;
        try {
          await step();
        } catch (failure) {
          call.fail(failureStatus(failure));
        }
      };
      if (chain) chain = chain.then(guarded);
      else void guarded();
    };
    const decode = (bytes: Buffer) => {
      try {
        return method.requestDeserialize(bytes);
      } catch {
        throw new GrpcFailure(status.INTERNAL, 'Error deserializing request');
      }
    };
    const take = (raw: RawMessage) => {
      if (!raw.compressed) return inOrder(() => receive(decode(raw.bytes)));
      if (encoding === 'identity') {
        return inOrder(() => {
          throw new GrpcFailure(status.INTERNAL, 'A compressed message arrived without grpc-encoding');
        });
      }
      const inflated = decompress(encoding, raw.bytes, this.options.maxReceiveMessageBytes);
      inflated.catch(() => {}); // Its failure is reported in order, below.
      chain ??= Promise.resolve();
      inOrder(async () => receive(decode(await inflated)));
    };
    stream.on('data', (chunk: Buffer) => {
      if (call.ended) return;
      try {
        for (const raw of reader.push(chunk)) take(raw);
      } catch (failure) {
        call.fail(failureStatus(failure));
      }
    });
    stream.once('end', () => inOrder(halfClosed));
    if (method.requestStream) start();
  }
}

function failureStatus(failure: unknown): { code: status; details: string } {
  if (failure instanceof GrpcFailure) return { code: failure.code, details: failure.details };
  return { code: status.INTERNAL, details: 'Internal error reading the request' };
}

/** Ends a call that never started, in one HEADERS frame; what the client still sends is read and dropped. */
function refuse(stream: ServerHttp2Stream, failure: GrpcFailure): void {
  respondTrailersOnly(stream, failureStatus(failure));
  stream.resume();
}
