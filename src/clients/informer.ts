// A local copy of the users kept in step with the service, as Kubernetes' informers keep theirs:
// list, then watch after the revision the listing reflects. A one-page listing and its watch meet
// exactly; a listing of several pages reads each at its own revision, so the watch, from the first
// page's, may repeat a change a later page showed: each event is applied only if it is newer than
// the copy's version of its user (revisions only grow), so a repeat changes nothing and nothing is
// missed. Works over every protocol: it needs only a UsersApi.
import type { ClientChange, ClientEvent, ClientUser, UsersApi } from './users-api.js';

export class Informer {
  /** The users as of `revision`, by id. */
  readonly users = new Map<string, ClientUser>();
  /** The last revision applied: the listing's, then each event's. */
  revision = 0;
  private readonly stop = new AbortController();
  private readonly waiters = new Set<{ revision: number; resolve: () => void; reject: (error: Error) => void }>();
  private ended: Promise<void> = Promise.resolve();
  /** What ended the watch, when it was not `close()`: every later wait fails with it. */
  private failure: Error | undefined;

  private constructor(private readonly api: UsersApi) {}

  /** Lists every user, then follows the changes after the listing until `close()`. */
  static async start(api: UsersApi): Promise<Informer> {
    const informer = new Informer(api);
    const { users, revision } = await api.listing();
    for (const user of users) informer.users.set(user.id, user);
    informer.revision = revision;
    // Held here, so that a watch that fails (the server went away) is no unhandled rejection.
    informer.ended = informer.follow(revision).catch((error: unknown) => {
      informer.failure = error instanceof Error ? error : new Error(String(error));
      for (const waiter of informer.waiters) waiter.reject(informer.failure);
      informer.waiters.clear();
    });
    return informer;
  }

  /** Resolves once the copy has applied every change up to `revision` (what a listing said, say); rejects if the watch failed first. */
  synced(revision: number): Promise<void> {
    if (this.revision >= revision) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.add({ revision, resolve, reject }));
  }

  /** Stops following; resolves when the watch has ended, rejects with what ended it if that was not this. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.ended;
    if (this.failure !== undefined) throw this.failure;
  }

  private async follow(afterRevision: number): Promise<void> {
    for await (const event of this.api.watch({ afterRevision, signal: this.stop.signal })) this.apply(event);
  }

  /** A change, unless the copy has it already; a bookmark only moves the revision the copy is at. */
  private apply(event: ClientEvent): void {
    if (event.type !== 'EVENT_TYPE_BOOKMARK') this.change(event);
    this.revision = Math.max(this.revision, event.revision);
    for (const waiter of this.waiters) {
      if (this.revision >= waiter.revision) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  private change(event: ClientChange): void {
    const mine = this.users.get(event.user.id);
    // Repeated (a later page showed it) or older than what the copy holds: already applied.
    if (mine && mine.revision >= event.revision) return;
    if (event.type === 'EVENT_TYPE_DELETED') this.users.delete(event.user.id);
    else this.users.set(event.user.id, { ...event.user, revision: event.revision });
  }
}
