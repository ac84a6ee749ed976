import http from 'node:http';
import { type SseMessage, SseParser } from '../../src/rest/sse-parser.js';
import { ADMIN_TOKEN, bearer } from './tokens.js';

/** An SSE subscriber over node:http, as a browser's EventSource is: the test controls headers and disconnects. */
export interface SseStream {
  /** Resolves with the response head (status, headers) once it arrives. */
  response: Promise<http.IncomingMessage>;
  messages: SseMessage[];
  comments: string[];
  /** Resolves with the whole body once the response ends (an error's JSON, say). */
  text: Promise<string>;
  /** The `id:` of every event so far: the revisions. */
  readonly revisions: number[];
  /** Resolves with the first `count` events, failing after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<SseMessage[]>;
  close(): void;
}

/** `headers` default to an admin's Authorization. */
export function openSse(
  baseUrl: string,
  path = '/users/events',
  headers: Record<string, string> = bearer(ADMIN_TOKEN),
): SseStream {
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const parser = new SseParser((comment) => comments.push(comment));
  const waiters = new Set<() => void>();
  let text = '';
  let ended: (text: string) => void = () => {};
  const whole = new Promise<string>((resolve) => (ended = resolve));
  const request = http.get(`${baseUrl}${path}`, { headers: { accept: 'text/event-stream', ...headers }, agent: false });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        messages.push(...parser.push(chunk));
        for (const wake of waiters) wake();
      });
      res.on('end', () => ended(text));
      resolve(res);
    });
    request.on('error', reject);
  });
  response.catch(() => {}); // a test that never looks at the response must not see an unhandled rejection
  return {
    response,
    messages,
    comments,
    text: whole,
    get revisions() {
      return messages.map((m) => Number(m.id));
    },
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return;
          done();
          resolve(messages.slice(0, count));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`got ${messages.length} of ${count} events in ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () => request.destroy(),
  };
}
