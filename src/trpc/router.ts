// users.v1.UserService as tRPC procedures: the router whose type (UsersRouter) is the typed client's
// contract. Plain JSON in and out (no data transformer), so curl or any HTTP client can call it.
// Each procedure only translates: its input's shape checked (input.ts), the domain called with the
// caller and a deadline, the answer as JSON (representation.ts); errors leave as they are and the
// errorFormatter (errors.ts) says them in tRPC's terms.
import { initTRPC } from '@trpc/server';
import { conditionOf, requestIdOf } from '../contract/consistency.js';
import type { HostedSseOptions } from '../contract/hosted-rpc.js';
import type { UserService } from '../domain/user-service.js';
import type { NewUserInput, UserUpdate } from '../domain/user.js';
import { beginCall, type Call, failed, readInput, RPC_OK, type TrpcContext, unaryContext } from './call.js';
import { formatError } from './errors.js';
import {
  type NewUserFields,
  parseCreate,
  parseCreateMany,
  parseDelete,
  parseEvents,
  parseGet,
  parseList,
  parseUpdate,
} from './input.js';
import { userToJson } from './representation.js';
import { userEvents } from './subscription.js';

/** What the procedures need of what the REST server gives tRPC. */
export type RouterOptions = Pick<
  HostedSseOptions,
  'admission' | 'requestTimeoutMs' | 'heartbeatMs' | 'telemetry' | 'idleTimeoutMs' | 'endless'
>;

/** A client waits this many heartbeats without a byte (not even a ping) before it reconnects. */
const HEARTBEATS_BEFORE_RECONNECT = 3;

const newUser = ({ name = '', email = '', role, tags }: NewUserFields): NewUserInput => ({ name, email, role, tags });

/** The fields an update names are the fields its input carries; the rest stay as they are. */
function updateOf(changes: NewUserFields): UserUpdate {
  return {
    fields: Object.keys(changes),
    changes,
    // The domain's "no fields named" is about the input as a whole.
    fieldPath: (field) => (field.startsWith('fields') ? 'input' : field),
  };
}

export function usersRouter(service: UserService, options: RouterOptions) {
  const t = initTRPC.context<TrpcContext>().create({
    // Never a stack in an error, whatever NODE_ENV says.
    isDev: false,
    errorFormatter: formatError,
    sse: {
      ping: { enabled: true, intervalMs: options.heartbeatMs },
      client: { reconnectAfterInactivityMs: options.heartbeatMs * HEARTBEATS_BEFORE_RECONNECT },
    },
  });

  /** Every procedure: admitted, observed, its input read, its end reported (a subscription's by its stream). */
  const procedure = t.procedure.use(async ({ ctx, path, type, signal, getRawInput, next }) => {
    const { request } = ctx;
    const observed = beginCall(options.telemetry, request, path);
    const callSignal = signal ?? new AbortController().signal;
    try {
      const principal = await options.admission(request);
      if (observed) observed.principal = principal;
      await readInput(getRawInput);
      const call: Call = { request, principal, signal: callSignal, observed };
      const result = await next({ ctx: { call } });
      if (!result.ok) throw result.error;
      if (type !== 'subscription') observed?.end(RPC_OK);
      return result;
    } catch (error) {
      failed(observed, error, callSignal);
      throw error;
    }
  });
  const unary = (call: Call) => unaryContext(call, options.requestTimeoutMs);

  return t.router({
    users: t.router({
      get: procedure
        .input(parseGet)
        .query(async ({ input, ctx }) => userToJson(await service.getUser(input.id, unary(ctx.call)))),

      list: procedure.input(parseList).query(async ({ input, ctx }) => {
        const page = await service.listUsers(input, unary(ctx.call));
        // The revision the page reflects (int64, as a string): watch after it to miss no change since.
        return {
          users: page.users.map(userToJson),
          nextPageToken: page.nextPageToken,
          revision: String(page.revision),
        };
      }),

      create: procedure.input(parseCreate).mutation(async ({ input: { requestId = '', ...fields }, ctx }) => {
        const user = await service.createUser(newUser(fields), unary(ctx.call), requestIdOf({ requestId }));
        return userToJson(user);
      }),

      createMany: procedure.input(parseCreateMany).mutation(async ({ input: { users, requestId = '' }, ctx }) => {
        const created = await service.createUsers(users.map(newUser), unary(ctx.call), requestIdOf({ requestId }));
        return { users: created.map(userToJson), createdCount: created.length };
      }),

      update: procedure.input(parseUpdate).mutation(async ({ input: { id, etag, ...changes }, ctx }) => {
        const user = await service.updateUser(id, updateOf(changes), unary(ctx.call), conditionOf(etag, 'etag'));
        return userToJson(user);
      }),

      delete: procedure.input(parseDelete).mutation(async ({ input: { id, etag }, ctx }) => {
        await service.deleteUser(id, unary(ctx.call), conditionOf(etag, 'etag'));
        // google.protobuf.Empty's JSON.
        return {};
      }),

      events: procedure
        .input(parseEvents)
        .subscription(({ input, ctx }) => userEvents(service, options, ctx.call, input)),
    }),
  });
}

/** The router's type: what @trpc/client is typed by (src/clients/trpc.ts). */
export type UsersRouter = ReturnType<typeof usersRouter>;
