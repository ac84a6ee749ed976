// One call on the node:http2 engine. It offers the part of grpc-js's server call API that the
// service's handlers (and grpc-health-check's, and reflection's) use, so the same handlers run on
// either engine: `request`, `metadata`, `getPeer`, `getAuthContext`, `getDeadline`, `cancelled` and
// its event; `write` (false: wait for 'drain'), `end` and an emitted 'error' (a status) on the
// response side; 'data', 'end' and `pause` on the request side.
import { EventEmitter } from 'node:events';
import type { Http2Session, ServerHttp2Stream } from 'node:http2';
import { type PeerCertificate, TLSSocket } from 'node:tls';
import { type Metadata, type MethodDefinition, status } from '@grpc/grpc-js';
import type { ObservedCall } from '../../telemetry/calls.js';
import { endedByClient } from '../telemetry.js';
import { isSentByMany } from '../definition.js';
import { frame, sharedFrame } from './messages.js';
import { after } from './timers.js';
import { type CallStatus, OK_STATUS, RESPONSE_HEADERS, respondTrailersOnly, statusOf, trailersOf } from './status.js';

export type Method = MethodDefinition<unknown, unknown>;

type AuthContext = { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate };

/** Who is at the other end of a connection: read once per connection, not per call. */
export interface Peer {
  address: string;
  authContext: AuthContext;
}

export function peerOf(session: Http2Session): Peer {
  const { socket } = session;
  const address = !socket?.remoteAddress
    ? 'unknown'
    : socket.remotePort
      ? `${socket.remoteAddress}:${socket.remotePort}`
      : socket.remoteAddress;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return { address, authContext: {} };
  const certificate = socket.getPeerCertificate();
  return {
    address,
    authContext: { transportSecurityType: 'ssl', ...(certificate.raw ? { sslPeerCertificate: certificate } : {}) },
  };
}

const REQUEST_END = Symbol('request end');

export class EngineCall extends EventEmitter {
  request: unknown;
  cancelled = false;
  private finished = false;
  private headersSent = false;
  /** A response stream's messages of this turn of the event loop, written together at its end. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private sent = 0;
  private readonly deadlineTimer?: NodeJS.Timeout;
  /** Request messages (and the half-close) not yet handed to the handler. */
  private readonly inbox: ({ message: unknown } | typeof REQUEST_END)[] = [];
  private paused = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly peer: Peer,
    private readonly method: Method,
    readonly metadata: Metadata,
    private readonly deadline: number,
    private readonly maxSendBytes: number,
    private readonly observed: ObservedCall | undefined,
  ) {
    super();
    if (Number.isFinite(deadline)) this.deadlineTimer = after(deadline - Date.now(), () => this.expire());
    stream.on('close', () => this.closed());
    if (method.responseStream) stream.on('drain', () => this.emit('drain'));
    // What grpc-js's call streams do with an emitted 'error': end the call with it as the status.
    this.on('error', (error: unknown) => this.sendStatus(statusOf(error)));
  }

  /** Whether the call has ended (a status sent, or the client gone): nothing more is read or written. */
  get ended(): boolean {
    return this.finished;
  }

  getPath(): string {
    return this.method.path;
  }

  getDeadline(): number {
    return this.deadline;
  }

  /** `address:port` of the client, as grpc-js spells it. */
  getPeer(): string {
    return this.peer.address;
  }

  /** The client's certificate, when TLS verified one (mutual TLS). */
  getAuthContext(): AuthContext {
    return this.peer.authContext;
  }

  /**
   * Sends one response message. On a response stream the messages written in one turn of the event
   * loop leave in one write (a page of users, one DATA frame or few): one write per message was what
   * made grpc-js's streams slow, and even corked, each cost the stream's bookkeeping. False, as a
   * stream's write, when the client has more unread than the stream's high-water mark: wait for 'drain'.
   */
  write(message: unknown): boolean {
    const framed = this.outgoing(message);
    if (!framed) return true;
    if (!this.method.responseStream) return this.stream.write(framed);
    this.pending.push(framed);
    this.pendingBytes += framed.length;
    if (this.pending.length === 1) process.nextTick(this.flushPending);
    if (this.stream.writableLength + this.pendingBytes < this.stream.writableHighWaterMark) return true;
    // Over the mark: written now, so that the stream says when the client has read it ('drain').
    return this.flushPending();
  }

  /** Writes the messages waiting for the end of this turn, in one chunk; the stream's answer, as write's. */
  private readonly flushPending = (): boolean => {
    if (this.pending.length === 0) return true;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.stream.destroyed || this.stream.closed) return true;
    return this.stream.write(chunk);
  };

  /** Sends the response headers now, with `metadata` (as grpc-js does); nothing once they were sent. */
  sendMetadata(metadata: Metadata): void {
    if (this.headersSent || this.finished) return;
    this.sendHeaders(metadata);
  }

  /** Ends the call OK (after its messages). */
  end(): void {
    this.sendStatus(OK_STATUS);
  }

  /** The callback of unary and client-streaming handlers: an error's status, or the one response and OK. */
  readonly respond = (error: unknown, value?: unknown, trailer?: Metadata): void => {
    if (error) return this.sendStatus(statusOf(error));
    const framed = this.outgoing(value);
    if (!framed) return;
    this.sendStatus(trailer ? { ...OK_STATUS, metadata: trailer } : OK_STATUS, framed);
  };

  /** Ends the call with `outcome` (after `last`, a message): trailers after what was sent, or a trailers-only response. */
  sendStatus(outcome: CallStatus, last?: Buffer): void {
    if (!this.settle(status[outcome.code])) return;
    const { stream } = this;
    if (stream.destroyed) return;
    // A client still sending (a refused stream of requests) is read to its end, not left blocked.
    stream.resume();
    if (stream.closed) return;
    if (!this.headersSent) return respondTrailersOnly(stream, outcome);
    // The messages written before the status leave before it.
    this.flushPending();
    const trailers = trailersOf(outcome);
    stream.once('wantTrailers', () => {
      if (!stream.destroyed) stream.sendTrailers(trailers);
    });
    if (last) stream.end(last);
    else stream.end();
  }

  /**
   * Ends the call with a status the engine chose (a limit, a request it cannot read, the deadline)
   * and cancels the handler's work, which would otherwise go on for a call that is over: as
   * grpc-js does, the call reports itself cancelled.
   */
  fail(outcome: CallStatus): void {
    this.sendStatus(outcome);
    this.cancel();
  }

  /**
   * Request side: a message arrived (client-streaming and bidirectional calls). As with grpc-js's
   * readable call, messages wait until the handler listens for 'data' (it may first await the
   * call's admission) and while it has paused.
   */
  deliver(message: unknown): void {
    this.inbox.push({ message });
    this.flush();
  }

  /**
   * Request side: the client half-closed ('end', after the messages before it). Taken on the next
   * turn of the event loop, once the frames that came with it are read: Node's HTTP/2 client
   * half-closes a stream it cancels (or whose deadline passed) just before it resets it, in the same
   * write, so the reset is seen first and a cut-off batch is never taken for a whole one.
   */
  requestEnded(): void {
    setImmediate(() => {
      this.inbox.push(REQUEST_END);
      this.flush();
    });
  }

  override on(event: string | symbol, listener: Parameters<EventEmitter['on']>[1]): this {
    super.on(event, listener);
    // A 'data' listener starts the flow, as on a Node stream; on the next tick, so that an 'end'
    // listener added just after it hears the end too.
    if (event === 'data' && !this.paused) process.nextTick(() => this.flush());
    return this;
  }

  pause(): this {
    this.paused = true;
    this.stream.pause();
    return this;
  }

  resume(): this {
    this.paused = false;
    this.stream.resume();
    this.flush();
    return this;
  }

  private flush(): void {
    while (this.inbox.length > 0 && !this.paused && !this.finished && this.listenerCount('data') > 0) {
      const next = this.inbox.shift()!;
      if (next === REQUEST_END) this.emit('end');
      else this.emit('data', next.message);
    }
    if (this.finished) return;
    // Messages the handler has not taken yet (it may still be admitting the call) hold the stream:
    // no more is read, so HTTP/2 flow control holds the client instead of our memory.
    if (this.inbox.length > 0) this.stream.pause();
    else if (!this.paused) this.stream.resume();
  }

  /** A response message framed, with the headers sent before it; undefined when the call cannot send it. */
  private outgoing(message: unknown): Buffer | undefined {
    if (this.finished) return undefined;
    const framed = this.framed(message);
    if (!framed || !this.sendHeaders()) return undefined;
    this.sent++;
    return framed;
  }

  /** Sends the response headers once; false when the stream is already gone (its close cancels the call). */
  private sendHeaders(metadata?: Metadata): boolean {
    if (this.headersSent) return true;
    if (this.stream.destroyed || this.stream.closed) return false;
    this.headersSent = true;
    const headers = metadata ? { ...metadata.toHttp2Headers(), ...RESPONSE_HEADERS } : RESPONSE_HEADERS;
    this.stream.respond(headers, { waitForTrailers: true });
    return true;
  }

  /** The message encoded and prefixed, or undefined after ending the call when it cannot be sent. */
  private framed(message: unknown): Buffer | undefined {
    let bytes: Buffer;
    try {
      bytes = this.method.responseSerialize(message);
    } catch {
      this.fail({ code: status.INTERNAL, details: 'Error serializing response' });
      return undefined;
    }
    if (bytes.length > this.maxSendBytes) {
      const details = `Sent message larger than max (${bytes.length} vs. ${this.maxSendBytes})`;
      this.fail({ code: status.RESOURCE_EXHAUSTED, details });
      return undefined;
    }
    return isSentByMany(message) ? sharedFrame(bytes) : frame(bytes);
  }

  /** The deadline passed: DEADLINE_EXCEEDED to the client, and the handler's work is cancelled. */
  private expire(): void {
    this.fail({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
  }

  /** The stream closed; before a status was sent, that is the client cancelling (RST_STREAM) or leaving. */
  private closed(): void {
    if (this.settle(endedByClient(this.deadline))) this.cancel();
  }

  /** Marks the call ended with `statusName` and reports it, once: false when it had ended already. */
  private settle(statusName: string): boolean {
    clearTimeout(this.deadlineTimer);
    if (this.finished) return false;
    this.finished = true;
    this.observed?.end(statusName, this.method.responseStream ? this.sent : undefined);
    return true;
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled');
  }
}
