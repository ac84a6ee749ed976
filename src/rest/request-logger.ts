// A request's own logger, made when the request first logs. Fastify gives every request a child
// logger bound to its request id; making a pino child (its bindings serialized, a new object shaped
// property by property) was a measurable share of a GetUser, and most requests never log: the access
// log is written apart (telemetry/access-log.ts). The lines it writes are the same.
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// The level methods live on the prototype (below): a request's logger is two fields, not seven closures.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
interface LazyChildLogger extends Pick<FastifyBaseLogger, (typeof LEVELS)[number]> {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class LazyChildLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  get logger(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): FastifyBaseLogger['level'] {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: FastifyBaseLogger['level']) {
    this.logger.level = level;
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}

for (const level of LEVELS) {
  Object.defineProperty(LazyChildLogger.prototype, level, {
    value(this: LazyChildLogger, ...args: unknown[]): void {
      const { logger } = this;
      Reflect.apply(logger[level], logger, args);
    },
  });
}

/** Fastify's `childLoggerFactory`: the request's logger, made on its first use. */
export const lazyChildLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  new LazyChildLogger(logger, bindings, options);
