// Users' encoded representations, kept per user version. A user's revision changes with every
// write, so a user id, a revision and the form asked for name one content for good: a cached
// encoding can only be missing, never stale. Encoding (protobuf for gRPC, JSON for REST) was the
// largest part of a 100-user page's cost; a page read again, or a user read often, is now a few
// lookups. Bounded: at most `capacity` entries, the first made going first (a hot user evicted is
// encoded once more).
import type { User } from '../domain/user.js';

export const REPRESENTATION_CACHE_DEFAULTS = { capacity: 10_000 };

export class RepresentationCache<V> {
  private readonly entries = new Map<string, V>();

  /** @param capacity entries kept at most; 0 keeps none (every call encodes). */
  constructor(readonly capacity: number = REPRESENTATION_CACHE_DEFAULTS.capacity) {}

  /**
   * `user`'s representation in `form` (a media type, a field set), made by `make` the first time.
   * As the caller may see the user: one whose email is hidden from it (domain/access.ts `visible`)
   * is another content than the same version in full, and is kept apart.
   */
  get(user: User, form: string, make: () => V): V {
    if (this.capacity === 0) return make();
    const key = `${user.id} ${user.revision} ${user.email === '' ? 'hidden' : 'full'} ${form}`;
    let value = this.entries.get(key);
    if (value === undefined) {
      value = make();
      this.entries.set(key, value);
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}
