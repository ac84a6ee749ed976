// The change feed twice, side by side: Server-Sent Events (GET /users/events) and the Connect
// server stream SubscribeUsers. Revisions are gap-free across all users, so each feed can tell a
// gap or a duplicate by itself, and the two can be compared event by event. Both resume after the
// last revision they showed when their connection breaks (a server restart, a network drop).
import { Code, ConnectError } from '@connectrpc/connect';
import { UserEvent_EventType } from '../../src/gen/users/v1/users_pb.js';
import { byId, element, sleep } from './dom.js';
import { refusalText, type UserJson } from './rest.js';
import type { UserClient } from './rpc.js';
import type { TokenStore } from './token.js';

const EVENT_TYPES = ['created', 'updated', 'deleted'] as const;
type EventType = (typeof EVENT_TYPES)[number];

const TYPE_OF_MESSAGE: Record<UserEvent_EventType, EventType | undefined> = {
  [UserEvent_EventType.UNSPECIFIED]: undefined,
  [UserEvent_EventType.CREATED]: 'created',
  [UserEvent_EventType.UPDATED]: 'updated',
  [UserEvent_EventType.DELETED]: 'deleted',
  // Not a change: see FeedView.bookmark.
  [UserEvent_EventType.BOOKMARK]: undefined,
};

interface FeedEvent {
  revision: number;
  type: EventType;
  name: string;
  email: string;
}

export type FeedState = 'stopped' | 'connecting' | 'live' | 'reconnecting' | 'refused';

/** Items kept on the page per feed; the revisions compared are kept far longer. */
const SHOWN = 200;
const KEPT = 10_000;

/** 250 ms, doubling to 5 s, with jitter so that many consoles do not come back in step. */
class Backoff {
  private attempt = 0;
  next(): number {
    const ms = Math.min(5000, 250 * 2 ** this.attempt++);
    return Math.round(ms * (0.75 + Math.random() * 0.5));
  }
  reset(): void {
    this.attempt = 0;
  }
}

/** One feed's list, state and own checks (gaps, duplicates). */
export class FeedView {
  readonly revisions: number[] = [];
  /** The revision to resume after; undefined until the first event (a first watch starts now). */
  lastRevision: number | undefined;
  private gaps = 0;
  private duplicates = 0;
  private state: FeedState = 'stopped';
  private readonly list: HTMLOListElement;
  private readonly stateText: HTMLElement;
  private readonly counts: HTMLElement;

  constructor(
    id: string,
    private readonly changed: () => void,
  ) {
    this.list = byId(`${id}-list`, HTMLOListElement);
    this.stateText = byId(`${id}-state`, HTMLElement);
    this.counts = byId(`${id}-counts`, HTMLElement);
    this.renderCounts();
  }

  setState(state: FeedState, detail = ''): void {
    const text = `${state}${detail ? `: ${detail}` : ''}`;
    // The region is live: say a change once, not every event.
    if (state === this.state && this.stateText.textContent === text) return;
    this.state = state;
    this.stateText.dataset.state = state;
    this.stateText.textContent = text;
  }

  add(event: FeedEvent): void {
    const last = this.lastRevision;
    let flag = '';
    if (last !== undefined && event.revision <= last) {
      this.duplicates++;
      flag = 'duplicate';
    } else if (last !== undefined && event.revision !== last + 1) {
      this.gaps++;
      flag = `gap: ${event.revision - last - 1} missing`;
    }
    this.lastRevision = Math.max(event.revision, last ?? 0);
    this.revisions.push(event.revision);
    if (this.revisions.length > KEPT) this.revisions.shift();

    const item = element('li', '', { 'data-revision': String(event.revision), 'data-type': event.type });
    item.append(
      element('span', `#${event.revision}`, { class: 'revision' }),
      element('span', event.type, { class: `type type-${event.type}` }),
      element('span', event.name, { class: 'name' }),
      element('span', event.email || '(hidden)', { class: 'email' }),
    );
    if (flag) item.append(element('strong', flag, { class: 'flag' }));
    this.list.prepend(item);
    this.list.children[SHOWN]?.remove();
    this.renderCounts();
    this.changed();
  }

  /**
   * A bookmark: the stream has sent every change up to `revision` (it was quiet). Nothing to show;
   * a reconnect resumes after it (the SSE feed's EventSource takes its id by itself).
   */
  bookmark(revision: number): void {
    this.lastRevision = Math.max(revision, this.lastRevision ?? 0);
  }

  /** The log no longer holds our revision (REVISION_EXPIRED): start again from now, and say there is a gap. */
  restartFromNow(): void {
    this.lastRevision = undefined;
    this.gaps++;
    this.renderCounts();
  }

  private renderCounts(): void {
    this.counts.textContent = `${this.revisions.length} events, ${this.gaps} gaps, ${this.duplicates} duplicates`;
    this.counts.dataset.clean = String(this.gaps === 0 && this.duplicates === 0);
  }
}

/** A JSON message, or {} when it is not one (the page says what it can rather than stop). */
function parseJson<T extends object>(data: unknown): Partial<T> {
  try {
    return JSON.parse(String(data)) as T;
  } catch {
    return {};
  }
}

/** What the event's user shows: its name and email (hidden ones arrive empty). */
const who = (user: { name?: string; email?: string } | undefined) => ({
  name: user?.name ?? '',
  email: user?.email ?? '',
});

/**
 * The SSE feed. EventSource reconnects by itself after a dropped stream, sending Last-Event-ID;
 * but after an HTTP error (401, or 503 while the server shuts down) it closes for good. Then this
 * asks the server why, and reopens it with `after_revision` = the last revision shown, with backoff.
 */
export class SseFeed {
  private source: EventSource | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly backoff = new Backoff();
  /** Bumped by stop: callbacks of an older source do nothing. */
  private generation = 0;

  constructor(
    private readonly view: FeedView,
    private readonly tokens: TokenStore,
    private readonly refused: (text: string) => void,
  ) {}

  start(): void {
    this.stop();
    this.open();
  }

  stop(): void {
    this.generation++;
    this.source?.close();
    this.source = undefined;
    clearTimeout(this.timer);
    this.view.setState('stopped');
  }

  private url(): string {
    const query = new URLSearchParams();
    // EventSource cannot set headers: the stream takes the token in the URL.
    if (this.tokens.value) query.set('access_token', this.tokens.value);
    if (this.view.lastRevision !== undefined) query.set('after_revision', String(this.view.lastRevision));
    return `/users/events?${query}`;
  }

  private open(): void {
    const generation = this.generation;
    const source = new EventSource(this.url());
    this.source = source;
    this.view.setState('connecting');
    source.addEventListener('open', () => {
      this.backoff.reset();
      this.view.setState('live');
    });
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (event) => {
        const user = parseJson<UserJson>(event.data);
        this.view.add({ revision: Number(event.lastEventId), type, ...who(user) });
      });
    }
    source.addEventListener('bookmark', (event) => this.view.bookmark(Number(event.lastEventId)));
    source.addEventListener('error', (event) => {
      if (generation !== this.generation) return;
      if (event instanceof MessageEvent) {
        // The server's own `event: error` (the documented body); it closes the stream next.
        const { error } = parseJson<{ error?: { code?: string; message?: string } }>(event.data);
        this.view.setState('reconnecting', `the server ended the stream: ${error?.code} ${error?.message}`);
      } else if (source.readyState === EventSource.CONNECTING) {
        this.view.setState('reconnecting', 'the browser retries, sending Last-Event-ID');
      } else {
        source.close();
        void this.recover(generation);
      }
    });
  }

  /** After EventSource gave up: refused (stop until a new token), expired (from now), or else reopen later. */
  private async recover(generation: number): Promise<void> {
    const answer = await this.probe();
    if (generation !== this.generation) return;
    const refusal = answer && refusalText(answer.status, answer.code, answer.message, !!this.tokens.value);
    if (refusal) {
      this.view.setState('refused', refusal);
      this.refused(refusal);
      return;
    }
    if (answer?.status === 410) this.view.restartFromNow();
    const delay = this.backoff.next();
    const why = answer ? `the server answered ${answer.status} ${answer.code}` : 'no answer';
    this.view.setState('reconnecting', `${why}; reopening in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => {
      if (generation === this.generation) this.open();
    }, delay);
  }

  /** What the stream's URL answers now (EventSource does not tell), or undefined when nothing answers. */
  private async probe(): Promise<{ status: number; code: string; message: string } | undefined> {
    const leave = new AbortController();
    try {
      const response = await fetch(this.url(), { signal: leave.signal, cache: 'no-store' });
      if (response.ok) return { status: response.status, code: 'OK', message: '' };
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      return { status: response.status, code: body.error?.code ?? '', message: body.error?.message ?? '' };
    } catch {
      return undefined;
    } finally {
      // A 200 started a watch: leaving releases it at once.
      leave.abort();
    }
  }
}

/**
 * The Connect feed: SubscribeUsers, re-called after an error with `afterRevision` = the last
 * revision shown, with backoff. Its state turns live with the first event: the server sends the
 * response headers with it.
 */
export class ConnectFeed {
  private running: AbortController | undefined;

  constructor(
    private readonly view: FeedView,
    private readonly client: UserClient,
    private readonly refused: (text: string) => void,
    private readonly tokens: TokenStore,
  ) {}

  start(): void {
    this.stop();
    const running = new AbortController();
    this.running = running;
    void this.run(running.signal);
  }

  stop(): void {
    this.running?.abort();
    this.running = undefined;
    this.view.setState('stopped');
  }

  private async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff();
    while (!signal.aborted) {
      const after = this.view.lastRevision;
      this.view.setState('connecting', 'live from the first event');
      let why = 'the server ended the stream';
      try {
        const events = this.client.subscribeUsers(
          { userIds: [], afterRevision: after === undefined ? undefined : BigInt(after) },
          { signal },
        );
        for await (const event of events) {
          backoff.reset();
          this.view.setState('live');
          const type = TYPE_OF_MESSAGE[event.type];
          if (type) this.view.add({ revision: Number(event.revision), type, ...who(event.user) });
          else if (event.type === UserEvent_EventType.BOOKMARK) this.view.bookmark(Number(event.revision));
        }
      } catch (error) {
        if (signal.aborted) return;
        const failure = ConnectError.from(error);
        const status =
          failure.code === Code.Unauthenticated ? 401 : failure.code === Code.PermissionDenied ? 403 : undefined;
        const refusal = status && refusalText(status, Code[failure.code], failure.rawMessage, !!this.tokens.value);
        if (refusal) {
          this.view.setState('refused', refusal);
          this.refused(refusal);
          return;
        }
        if (failure.code === Code.FailedPrecondition) this.view.restartFromNow();
        why = `${Code[failure.code]}: ${failure.rawMessage}`;
      }
      if (signal.aborted) return;
      const delay = backoff.next();
      this.view.setState('reconnecting', `${why}; resubscribing in ${(delay / 1000).toFixed(1)} s`);
      await sleep(delay, signal);
    }
  }
}

export type Comparison = { state: 'waiting' | 'same' | 'behind' | 'different'; text: string };

/**
 * Whether two feeds delivered the same revisions, compared from the later of their first events
 * (each starts when it first connects). One may be a few events ahead: they arrive independently.
 */
export function compareFeeds(sse: readonly number[], connect: readonly number[]): Comparison {
  if (sse.length === 0 || connect.length === 0)
    return { state: 'waiting', text: 'Waiting for an event on both feeds.' };
  const from = Math.max(sse[0]!, connect[0]!);
  const a = sse.filter((r) => r >= from);
  const b = connect.filter((r) => r >= from);
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    if (a[i] !== b[i]) {
      return {
        state: 'different',
        text: `The feeds differ: event ${i + 1} from #${from} is SSE #${a[i]}, Connect #${b[i]}.`,
      };
    }
  }
  const range = common === 0 ? '' : `#${from}–#${a[common - 1]}`;
  if (a.length === b.length) return { state: 'same', text: `Same sequence on both feeds: ${common} events, ${range}.` };
  const [ahead, by] = a.length > b.length ? ['SSE', a.length - b.length] : ['Connect', b.length - a.length];
  return { state: 'behind', text: `Same so far (${range || 'none in common yet'}); ${ahead} is ${by} event(s) ahead.` };
}
