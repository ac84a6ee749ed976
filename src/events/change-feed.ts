import { invalidArgument, revisionExpired } from '../domain/errors.js';
import type { ChangeLog, EventFeed, WatchOptions } from '../domain/ports.js';
import { LONGEST_TIMER_MS } from '../domain/timers.js';
import type { Bookmark, UserEvent, WatchEvent } from '../domain/user.js';

export interface ChangeFeedOptions {
  /** Newest events kept in memory, so live watchers never touch the database. */
  recentCapacity?: number;
  /** Events read from the log per query. */
  batchSize?: number;
  /**
   * How often to look at the log without a wake-up: catches commits made by
   * other processes, and bounds the cost of a lost notification.
   */
  pollIntervalMs?: number;
  /** Events kept in the change log; older ones are pruned. */
  retention?: number;
  /** How many appended revisions between two prunes. */
  pruneEvery?: number;
  /**
   * A watch that has sent nothing for this long sends a bookmark (its position) within half as
   * long again, unless it already said that position; 0: never.
   */
  bookmarkIntervalMs?: number;
  /** Reading the log failed; the next wake-up or poll tries again. */
  onError?: (error: unknown) => void;
}

/** What woke the feed: this process's commit, the database's NOTIFY, a sibling worker's commit, or its poll. */
export type WakeCause = 'commit' | 'notify' | 'worker' | 'poll';

export const CHANGE_FEED_DEFAULTS: Required<ChangeFeedOptions> = {
  recentCapacity: 10_000,
  batchSize: 500,
  pollIntervalMs: 1000,
  retention: 100_000,
  pruneEvery: 1000,
  bookmarkIntervalMs: 60_000,
  onError: (error) => process.emitWarning(`change feed: ${String(error)}`),
};

/**
 * Tails the change log, the source of truth, and serves watchers from it.
 * A wake-up (`notify`) only says "look again", so a missed one delays an
 * event by at most one poll interval and never loses it. Watchers track the
 * last revision they saw, which is what makes resumption gap-free.
 */
export class ChangeFeed implements EventFeed {
  private readonly options: Required<ChangeFeedOptions>;
  /** Contiguous run of the newest events, oldest first. */
  private recent: UserEvent[] = [];
  /** Last revision read into `recent`. */
  private head = 0;
  /** Highest revision known to be committed: at least `head`. */
  private committedHead = 0;
  private prunedAt = 0;
  private tailing: Promise<void> | undefined;
  private again = false;
  private waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  /** Half bookmark intervals since the start: how watches tell that one has passed without reading the clock per event. */
  private ticks = 0;
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly wakeCounts: Record<WakeCause, number> = { commit: 0, notify: 0, worker: 0, poll: 0 };

  private constructor(
    private readonly log: ChangeLog,
    options: ChangeFeedOptions,
  ) {
    this.options = { ...CHANGE_FEED_DEFAULTS, ...options };
  }

  static async start(log: ChangeLog, options: ChangeFeedOptions = {}): Promise<ChangeFeed> {
    const feed = new ChangeFeed(log, options);
    feed.head = await log.headRevision();
    feed.committedHead = feed.head;
    feed.prunedAt = feed.head;
    feed.timer = setInterval(() => feed.notify(0, 'poll'), feed.options.pollIntervalMs).unref();
    const { bookmarkIntervalMs } = feed.options;
    // A half interval past what a timer can wait would fire at once: such an interval means never.
    if (bookmarkIntervalMs > 0 && bookmarkIntervalMs / 2 <= LONGEST_TIMER_MS) {
      feed.ticker = setInterval(() => {
        feed.ticks++;
        // Quiet watches look whether a bookmark is due.
        feed.wakeWaiters();
      }, bookmarkIntervalMs / 2).unref();
    }
    return feed;
  }

  get headRevision(): number {
    return this.head;
  }

  /** Number of watchers waiting for the next change (for leak tests and metrics). */
  get waitingWatchers(): number {
    return this.waiters.size;
  }

  /** Times the feed was woken, by cause (for metrics). */
  get wakeups(): Readonly<Record<WakeCause, number>> {
    return this.wakeCounts;
  }

  notify(revision = 0, cause: WakeCause = 'commit'): void {
    if (this.closed) return;
    this.wakeCounts[cause]++;
    this.wake(revision);
  }

  /**
   * Events this process just committed: taken into memory as they are when they follow the last
   * event read and no read of the log is under way (the log's rows are these very events, so
   * reading them back cost a query and a parse per event after every write); otherwise the log is
   * read, as on any wake-up.
   */
  committed(events: readonly UserEvent[]): void {
    if (this.closed || events.length === 0) return;
    this.wakeCounts.commit++;
    if (this.tailing || events[0]!.revision !== this.head + 1) return this.wake(events.at(-1)!.revision);
    this.remember([...events]);
    this.wakeWaiters();
    // Pruning runs where reads of the log run: in a tail (which, with nothing new to read, only prunes).
    if (this.head - this.prunedAt >= this.options.pruneEvery) this.wake();
  }

  private wakeWaiters(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Looks at the log now, or once the look in progress ends. */
  private wake(revision = 0): void {
    this.committedHead = Math.max(this.committedHead, revision);
    if (this.tailing) {
      this.again = true;
      return;
    }
    this.tailing = this.tail()
      .catch(this.options.onError)
      .finally(() => {
        this.tailing = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Reads until the log is exhausted, fills the memory window, wakes watchers. */
  async sync(): Promise<void> {
    this.wake();
    while (this.tailing) await this.tailing;
  }

  /**
   * Checks where the watch starts (so a bad revision fails before any event),
   * then returns its events. "From now" means from the head known at this
   * call, so a change committed after it is never missed.
   */
  async watch(options: WatchOptions): Promise<AsyncIterable<WatchEvent>> {
    const start = options.afterRevision ?? this.committedHead;
    await this.sync();
    if (start > this.head) {
      throw invalidArgument([
        { field: 'after_revision', description: `is ahead of the change log (head ${this.head})` },
      ]);
    }
    // Retention is a promise about what can be resumed, whatever memory still holds.
    if (start < this.head - this.options.retention) throw revisionExpired(start);
    // Reading the first batch now is what detects a start already pruned; it is then served, not re-read.
    const first = await this.eventsAfter(start);
    return this.events(start, first, options);
  }

  /**
   * The watch's events from `start`. `cursor` is the last revision read, selected or not; `told`
   * the last one the watcher learnt (an event's, a bookmark's, or the start it asked for): a
   * bookmark is due when they differ and nothing was sent for a bookmark interval (three half
   * ticks: between one and one and a half intervals).
   */
  private async *events(
    start: number,
    first: UserEvent[],
    { userIds, signal, afterRevision, bookmarks = true }: WatchOptions,
  ): AsyncGenerator<WatchEvent> {
    let cursor = start;
    let told = afterRevision;
    let toldAt = this.ticks;
    const tell = <T extends WatchEvent>(event: T): T => {
      told = event.revision;
      toldAt = this.ticks;
      return event;
    };
    const bookmarkDue = () =>
      bookmarks && this.ticker !== undefined && !signal.aborted && told !== cursor && this.ticks - toldAt >= 3;
    let pending: UserEvent[] | undefined = first;
    while (!signal.aborted && !this.closed) {
      const batch = pending ?? (await this.eventsAfter(cursor));
      pending = undefined;
      // The watch may have ended during the read (its caller left, its credentials expired).
      if (signal.aborted) return;
      for (const event of batch) {
        cursor = event.revision;
        if (userIds.size === 0 || userIds.has(event.user.id)) yield tell(event);
        if (signal.aborted) return;
      }
      // Also while others' changes stream by: a watcher of a few users is quiet then too.
      if (bookmarkDue()) yield tell<Bookmark>({ type: 'EVENT_TYPE_BOOKMARK', revision: cursor });
      if (batch.length === 0 && !signal.aborted) await this.nextChange(cursor, signal);
    }
  }

  /** Ends every watch and waits for a read in progress, so the store can close after. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.ticker);
    for (const wake of [...this.waiters]) wake();
    await this.tailing;
  }

  private async eventsAfter(cursor: number): Promise<UserEvent[]> {
    const first = this.recent[0]?.revision;
    if (first !== undefined && first <= cursor + 1) {
      const start = cursor + 1 - first;
      return this.recent.slice(start, start + this.options.batchSize);
    }
    if (cursor >= this.head) return [];
    const events = await this.log.readAfter(cursor, this.options.batchSize);
    // Revisions are contiguous, so anything but cursor + 1 means it was pruned.
    if (events[0]?.revision !== cursor + 1) throw revisionExpired(cursor);
    return events;
  }

  private nextChange(cursor: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      // The log may have moved on while the caller was looking.
      if (this.head > cursor || this.closed) return resolve();
      const wake = () => {
        this.waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  private async tail(): Promise<void> {
    for (;;) {
      const events = await this.log.readAfter(this.head, this.options.batchSize);
      if (events.length === 0) break;
      this.remember(events);
    }
    this.wakeWaiters();
    await this.pruneIfDue();
  }

  private remember(events: UserEvent[]): void {
    // A jump means the events in between were pruned before we read them:
    // start the window afresh rather than keep a run with a hole in it.
    if (events[0]!.revision !== this.head + 1) this.recent = [];
    this.recent.push(...events);
    const excess = this.recent.length - this.options.recentCapacity;
    if (excess > 0) this.recent.splice(0, excess);
    this.head = events.at(-1)!.revision;
    this.committedHead = Math.max(this.committedHead, this.head);
  }

  private async pruneIfDue(): Promise<void> {
    if (this.head - this.prunedAt < this.options.pruneEvery) return;
    this.prunedAt = this.head;
    await this.log.prune(this.options.retention);
  }
}
