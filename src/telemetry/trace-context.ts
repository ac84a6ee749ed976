// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` a caller sends.

/** The caller's span, as its `traceparent` names it. */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the caller's span, the parent of ours. */
  spanId: string;
  /** Bit 0: the caller sampled this trace. */
  flags: number;
}

// version-traceid-parentid-flags; a later version may append fields after a dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;

/**
 * The parent a `traceparent` header names, or undefined when it is absent or invalid (the spec
 * says to ignore an invalid one and start a new trace, never to fail the call).
 */
export function parseTraceParent(header: unknown): TraceParent | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  // Version ff is forbidden; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (ZEROS.test(traceId) || ZEROS.test(spanId)) return undefined;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

/** A request id a caller sent (`x-request-id`), if it is short and plain enough to log as is. */
export function acceptedRequestId(header: unknown): string | undefined {
  return typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : undefined;
}

/**
 * Request ids for calls that bring none: a random prefix per process and a counter, unique across
 * processes and restarts in practice, and a tenth of a UUID's cost (a call may take 100 µs).
 */
export function requestIdGenerator(): () => string {
  const prefix = Math.random().toString(36).slice(2, 10);
  let next = 0;
  return () => `${prefix}-${(++next).toString(36)}`;
}
