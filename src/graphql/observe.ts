// Each GraphQL request as one call to telemetry: its method is the operation's type and first root
// field (`query user`, `mutation createUser`), read from the validated document, so a client cannot
// invent label values; a request refused before it has one is `(none)`. Its status is the gRPC-style
// name of its first error's code (rpc-status.ts), or OK.
import type { FastifyRequest } from 'fastify';
import { type DocumentNode, getOperationAST, Kind } from 'graphql';
import { RPC_OK, rpcStatusOf } from '../contract/rpc-status.js';
import type { ErrorCode } from '../domain/errors.js';
import type { CallTelemetry, ObservedCall } from '../telemetry/calls.js';

/** The method of a request that has no valid operation (refused before its body was read, or invalid). */
export const NO_OPERATION = '(none)';

/** `<operation type> <first root field>` of a document that passed validation. */
export function operationLabel(document: DocumentNode, operationName?: string | null): string {
  const operation = getOperationAST(document, operationName);
  const first = operation?.selectionSet.selections[0];
  if (!operation || first?.kind !== Kind.FIELD) return `${operation?.operation ?? 'query'} ${NO_OPERATION}`;
  return `${operation.operation} ${first.name.value}`;
}

/** The status of a result: its first error's code, or OK. */
export const statusOf = (errors: readonly { extensions: { code: ErrorCode } }[] | undefined): string =>
  errors && errors.length > 0 ? rpcStatusOf(errors[0]!.extensions.code) : RPC_OK;

/** One request's call, begun once its method is known (or when it fails before). */
export class ObservedRequests {
  private readonly calls = new WeakMap<FastifyRequest, { observed: ObservedCall; status: string }>();

  constructor(private readonly telemetry: CallTelemetry | undefined) {}

  begin(request: FastifyRequest, method: string): ObservedCall | undefined {
    if (!this.telemetry) return undefined;
    const known = this.calls.get(request);
    if (known) return known.observed;
    const observed = this.telemetry.begin(
      { protocol: 'graphql', method },
      { traceparent: request.headers.traceparent, requestId: request.id },
    );
    observed.principal = request.principal;
    if (observed.log.traceId) request.log = request.log.child({ traceId: observed.log.traceId });
    this.calls.set(request, { observed, status: RPC_OK });
    return observed;
  }

  /** What the request will be reported with once it ends (the first error's, by the formatter). */
  setStatus(request: FastifyRequest, status: string): void {
    const call = this.calls.get(request);
    if (call) call.status = status;
  }

  end(request: FastifyRequest, status?: string): void {
    const call = this.calls.get(request);
    if (!call) return;
    call.observed.end(status ?? call.status);
    this.calls.delete(request);
  }
}
