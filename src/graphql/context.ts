// What every resolver of one request knows: who asks and until when (the domain's CallContext), and
// the request's user reads, shared by its fields.
import { userNotFound } from '../domain/errors.js';
import type { CallContext } from '../domain/ports.js';
import { requireId, type UserService } from '../domain/user-service.js';
import type { User } from '../domain/user.js';

interface Waiting {
  resolve(user: User): void;
  reject(error: unknown): void;
}

/**
 * `user(id:)` fields of one request, batched: a query may fan out `a: user(id: "x") b: user(id: "y")
 * …`, and GraphQL calls sibling resolvers one after another in one synchronous pass, so the ids
 * asked before the next microtask are read together in one store read (getUsers), not one each.
 * An id asked again is answered from its first read. Each field still gets what getUser would
 * give: its user, USER_NOT_FOUND, or INVALID_ARGUMENT for its own bad id without failing the
 * batch. Per request, never shared: a user is read as this caller may see it.
 */
export class UserReads {
  private readonly reads = new Map<string, Promise<User>>();
  /** Ids asked in this tick, not yet sent: the batch the next microtask reads. */
  private batch: Map<string, Waiting> | undefined;

  constructor(
    private readonly service: UserService,
    private readonly call: CallContext,
  ) {}

  get(id: string): Promise<User> {
    let read = this.reads.get(id);
    if (read === undefined) {
      read = this.enqueue(id);
      this.reads.set(id, read);
    }
    return read;
  }

  private enqueue(id: string): Promise<User> {
    return new Promise<User>((resolve, reject) => {
      // Thrown here, a bad id rejects its own field only, never joining the batch.
      requireId(id);
      if (this.batch === undefined) {
        const batch = new Map<string, Waiting>();
        this.batch = batch;
        queueMicrotask(() => void this.read(batch));
      }
      this.batch.set(id, { resolve, reject });
    });
  }

  private async read(batch: Map<string, Waiting>): Promise<void> {
    this.batch = undefined;
    try {
      const users = await this.service.getUsers([...batch.keys()], this.call);
      for (const [id, waiting] of batch) {
        const user = users.get(id);
        if (user) waiting.resolve(user);
        else waiting.reject(userNotFound(id));
      }
    } catch (error) {
      // The read failed (deadline, database unavailable…): every field of the batch, as getUser would.
      for (const waiting of batch.values()) waiting.reject(error);
    }
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
