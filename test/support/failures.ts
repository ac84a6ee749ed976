// One way to await a call that must fail, and one reader per protocol for what the failure says.
import { describeError } from '../../src/grpc/client.js';
import { RestError } from '../../src/rest/client.js';

/** The rejection of a call that must fail; fails the test when the call succeeds. */
export async function thrown(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Asserts that `call` rejects with an error of `code` (a DomainError's), and returns it. */
export async function rejectsWith<E extends { code: string }>(call: Promise<unknown>, code: string): Promise<E> {
  const error = (await thrown(call)) as E;
  if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}`, { cause: error });
  return error;
}

/** What a gRPC client learns of a failed call: status code, `error-type`, google.rpc details, message. */
export async function grpcFailure(call: Promise<unknown>) {
  const error = await thrown(call);
  return { ...describeError(error), details: (error as { details?: string }).details };
}

/** The HTTP status and error body of a failed REST call. */
export async function restFailure(call: Promise<unknown>): Promise<RestError> {
  const error = await thrown(call);
  if (error instanceof RestError) return error;
  throw error;
}
