// What every resolver of one request knows: who asks and until when (the domain's CallContext), and
// the request's user reads, shared by its fields.
import type { CallContext } from '../domain/ports.js';
import type { UserService } from '../domain/user-service.js';
import type { User } from '../domain/user.js';

/**
 * `user(id:)` fields of one request, read once per id however many aliases ask for it (a query may
 * fan out `a: user(id: "x") b: user(id: "x") …`): each distinct id is one store read, all started
 * together. Per request, never shared: a user is read as this caller may see it.
 */
export class UserReads {
  private readonly reads = new Map<string, Promise<User>>();

  constructor(
    private readonly service: UserService,
    private readonly call: CallContext,
  ) {}

  get(id: string): Promise<User> {
    let read = this.reads.get(id);
    if (read === undefined) {
      read = this.service.getUser(id, this.call);
      this.reads.set(id, read);
    }
    return read;
  }
}

/** A query's or mutation's context (Mercurius adds its own fields to it). */
export interface RequestContext {
  call: CallContext;
  users: UserReads;
}

/** A subscription's context: who watches, until when, and where an EventSource said it had got to. */
export interface SubscriptionContext {
  call: CallContext & { signal: AbortSignal };
  /** Last-Event-ID: a reconnecting EventSource's last revision, which wins over `afterRevision`. */
  lastEventId?: string;
}
