// Store operations timed, by decorating the domain's store port: the store itself knows nothing of metrics.
import type { ChangeLog, UserStore } from '../domain/ports.js';

export type ObserveOperation = (operation: string, seconds: number) => void;

/** `store`, with each operation's duration (waiting for a connection included) reported to `observe`. */
export function timedStore(store: UserStore, observe: ObserveOperation): UserStore {
  const timed =
    <A extends unknown[], R>(operation: string, run: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const start = performance.now();
      const done = () => observe(operation, (performance.now() - start) / 1000);
      const result = run(...args);
      // Observed as it settles; the caller gets the store's own promise, not a copy of it.
      result.then(done, done);
      return result;
    };
  const log = store.changeLog;
  const changeLog: ChangeLog = {
    headRevision: timed('head_revision', log.headRevision.bind(log)),
    readAfter: timed('read_after', log.readAfter.bind(log)),
    prune: timed('prune', log.prune.bind(log)),
  };
  return {
    getUser: timed('get_user', store.getUser.bind(store)),
    getUsers: timed('get_users', store.getUsers.bind(store)),
    insertUsers: timed('insert_users', store.insertUsers.bind(store)),
    insertUsersOnce: timed('insert_users_once', store.insertUsersOnce.bind(store)),
    pruneIdempotencyKeys: timed('prune_idempotency_keys', store.pruneIdempotencyKeys.bind(store)),
    updateUser: timed('update_user', store.updateUser.bind(store)),
    deleteUser: timed('delete_user', store.deleteUser.bind(store)),
    listUsers: timed('list_users', store.listUsers.bind(store)),
    listUsersByOffset: timed('list_users_by_offset', store.listUsersByOffset.bind(store)),
    changeLog,
    ping: timed('ping', store.ping.bind(store)),
    close: () => store.close(),
  };
}
