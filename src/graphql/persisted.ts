// Persisted queries. `automatic`: Apollo's Automatic Persisted Queries — a client sends a query's
// SHA-256 (extensions.persistedQuery.sha256Hash); unknown, it is told PersistedQueryNotFound and
// sends the text with the hash once, which is kept (a bounded cache). A known-queries file: only its
// queries are served, by hash or by text; any other is refused before it is parsed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PersistedQueryProvider } from 'mercurius';
import { queryError } from './errors.js';

/** Hashes kept for Automatic Persisted Queries: a client cannot grow the cache past this. */
const APQ_CAPACITY = 1000;

interface QueryRequest {
  query?: string;
  extensions?: { persistedQuery?: { version?: number; sha256Hash?: string } };
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const hashOf = (request: QueryRequest): string | false => {
  const persisted = request.extensions?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : false;
};

/** A small LRU of hash → query: a Map keeps insertion order, so its first key is the oldest. */
class QueryCache {
  private readonly queries = new Map<string, string>();

  get(hash: string): string | undefined {
    const query = this.queries.get(hash);
    if (query !== undefined) {
      this.queries.delete(hash);
      this.queries.set(hash, query);
    }
    return query;
  }

  set(hash: string, query: string): void {
    this.queries.delete(hash);
    this.queries.set(hash, query);
    if (this.queries.size > APQ_CAPACITY) this.queries.delete(this.queries.keys().next().value!);
  }
}

export interface PersistedQueries {
  provider: PersistedQueryProvider;
  /** Refuses a query text the server does not serve (with a known-queries file: any not in it). */
  check(source: string): void;
}

/** Reads a known-queries file: `{"<sha256>": "<query>"}`, each hash the SHA-256 of its query. */
export function readKnownQueries(path: string): Map<string, string> {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path}: the known queries must be a JSON object {"<sha256>": "<query>"}`);
  }
  const known = new Map<string, string>();
  for (const [hash, query] of Object.entries(parsed)) {
    if (typeof query !== 'string' || sha256(query) !== hash.toLowerCase()) {
      throw new Error(`${path}: ${hash} is not the SHA-256 of its query`);
    }
    known.set(hash.toLowerCase(), query);
  }
  return known;
}

const notSupported = 'PersistedQueryNotSupported';

export function persistedQueries(mode: 'automatic' | 'off', knownQueriesFile: string): PersistedQueries {
  const hashOnly = (request: QueryRequest) => !request.query && hashOf(request) !== false;
  if (knownQueriesFile !== '') {
    const known = readKnownQueries(knownQueriesFile);
    const texts = new Set(known.values());
    return {
      provider: {
        isPersistedQuery: (request: QueryRequest) => !request.query && request.extensions?.persistedQuery !== undefined,
        isPersistedQueryRetry: () => false,
        getHash: hashOf,
        getQueryFromHash: async (hash: string) => known.get(hash),
        notFoundError: 'PersistedQueryNotFound',
        notSupportedError: notSupported,
      } as unknown as PersistedQueryProvider,
      check(source) {
        if (!texts.has(source)) {
          throw queryError('this server serves only its known queries, and this is not one of them', 'UNKNOWN_QUERY');
        }
      },
    };
  }
  if (mode === 'off') {
    return {
      provider: {
        isPersistedQuery: (request: QueryRequest) => !request.query && request.extensions?.persistedQuery !== undefined,
        isPersistedQueryRetry: () => false,
        getHash: () => false,
        getQueryFromHash: async () => undefined,
        notSupportedError: notSupported,
      } as unknown as PersistedQueryProvider,
      check: () => undefined,
    };
  }
  const cache = new QueryCache();
  return {
    provider: {
      isPersistedQuery: hashOnly,
      isPersistedQueryRetry: (request: QueryRequest) => Boolean(request.query) && hashOf(request) !== false,
      getHash: hashOf,
      getQueryFromHash: async (hash: string) => cache.get(hash),
      getHashForQuery: sha256,
      saveQuery: async (hash: string, query: string) => cache.set(hash, query),
      notFoundError: 'PersistedQueryNotFound',
      notSupportedError: notSupported,
      mismatchError: 'the sha256Hash is not the SHA-256 of the query sent with it',
    } as unknown as PersistedQueryProvider,
    check: () => undefined,
  };
}
