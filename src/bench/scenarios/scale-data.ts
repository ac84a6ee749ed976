// The scale scenario's tables: one per engine, in a fresh database (../databases.ts), grown from
// size to size through the app's own write path (the service's batch create: the change log, the
// indexes and whatever the store keeps beside the rows), never by bulk SQL.
import { openApp } from '../../app/app.js';
import { createLogger } from '../../app/logger.js';
import { seed } from '../../app/seed.js';
import { LIMITS, type User } from '../../domain/user.js';
import { type BenchDatabase, onPostgres } from '../databases.js';

/** The table at one size, and where in it the scenario's reads point. */
export interface GrownTable {
  size: number;
  /** Wall time of this growth step (opening, seeding, closing: the WAL checkpoint is part of writing). */
  seedingS: number;
  /** Users added by this step. */
  added: number;
  /**
   * A user half-way down the listing (newest first), and the cursor right after it: a cursor page
   * from it reads the middle of the table, not its top.
   */
  middleUser: User;
  middleToken: string;
}

/**
 * Grows one database through `sizes` (ascending). Listing is newest first, so a user that was the
 * newest when the table held k users has size − k users above it: the grower stops at each size's
 * half-way count on the way and remembers the newest user there.
 */
export class TableGrower {
  private count = 0;
  private readonly middles = new Map<number, { user: User; token: string }>();

  constructor(
    private readonly database: BenchDatabase,
    private readonly sizes: readonly number[],
  ) {}

  async growTo(size: number): Promise<GrownTable> {
    const started = performance.now();
    const added = size - this.count;
    // The app as `serve` opens it (its migrations included), silent: the write path is what is timed.
    const app = await openApp({ db: this.database.db, eventRetention: 100_000 }, createLogger('silent', false));
    try {
      for (const stop of this.stopsUpTo(size)) {
        await seed(app.service, stop - this.count, LIMITS.batchMax);
        this.count = stop;
        const newest = await app.service.listUsers({ pageSize: 1 });
        this.middles.set(stop, { user: newest.users[0]!, token: newest.nextPageToken });
      }
    } finally {
      await app.close();
    }
    // Autovacuum visits a table within a minute or so of a bulk load: it gathers the statistics the
    // planner needs (without them a filter that matches nothing may be planned as a walk of the
    // whole listing) and merges the GIN indexes' pending lists (until then every search also reads
    // them: 2.5 ms against 0.1 ms for a miss at 100,000 users). Measure what a running database
    // has: do the same now (timed with the growth).
    if (this.database.engine === 'postgresql') await onPostgres(this.database.db, 'vacuum analyze users');
    const middle = this.middles.get(halfWay(size))!;
    return {
      size,
      seedingS: (performance.now() - started) / 1000,
      added,
      middleUser: middle.user,
      middleToken: middle.token,
    };
  }

  /** The counts to stop at on the way to `size`: every size's half-way count, and `size` itself. */
  private stopsUpTo(size: number): number[] {
    const stops = new Set([...this.sizes.map(halfWay), size].filter((n) => n > this.count && n <= size));
    return [...stops].sort((a, b) => a - b);
  }
}

/** The count at which the newest user will be half-way down a table of `size`. */
const halfWay = (size: number) => Math.ceil(size / 2);
