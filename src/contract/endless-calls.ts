/**
 * Where an adapter holds its endless calls (the watches), so that shutdown ends them (UNAVAILABLE:
 * the client resumes from its last revision elsewhere). The REST server's OpenStreams is one.
 */
export interface EndlessCalls {
  /** Holds a call until the returned release; throws UNAVAILABLE once shutdown has begun. */
  add(end: () => void): () => void;
  /** Events written to watch streams since the start. */
  delivered: number;
}
