// `twinapi users …`: the service from a terminal or a script, over any of its protocols, through
// the project's own clients (src/clients). Errors are one line with their code and bad fields, and
// the exit code follows the error code (EXIT_CODE_OF), so scripts can branch on it.
import { parseArgs } from 'node:util';
import { connectUsersApi } from '../clients/connect.js';
import { grpcUsersApi } from '../clients/grpc.js';
import { graphqlUsersApi } from '../clients/graphql.js';
import { trpcUsersApi } from '../clients/trpc.js';
import { restUsersApi } from '../clients/rest.js';
import {
  ClientError,
  type ClientUser,
  type Protocol,
  PROTOCOLS,
  type UserInput,
  type UsersApi,
  type WriteOptions,
} from '../clients/users-api.js';
import { ErrorCode } from '../domain/errors.js';
import { UserClient } from '../grpc/client.js';
import { RestClient } from '../rest/client.js';

export const USERS_USAGE = `Usage: twinapi users <action> [options]

Actions:
  list [--filter TEXT]                                  every matching user, newest first
  get ID
  create --name NAME --email EMAIL [--role admin|user] [--tags a,b] [--idempotency-key KEY]
                                                        a retry with the same key creates nothing more
  update ID [--name NAME] [--email EMAIL] [--role admin|user] [--tags a,b] [--if-match ETAG]
                                                        changes exactly the fields given
  delete ID [--if-match ETAG]                           --if-match: only if the user is at that version
  watch [--after-revision N] [--ids ID,ID]              changes as they commit, until Ctrl-C

Options:
  --via grpc|rest|connect|grpc-web|graphql|trpc
                                     the protocol (default rest)
  --server ADDRESS                   default http://127.0.0.1:3000 (grpc: 127.0.0.1:50051)
  --token TOKEN                      a bearer token (default: TWINAPI_TOKEN)
  --output json|table                default table on a terminal, json otherwise (one object per line)

Exit codes: 0 done, 1 another failure, 2 bad usage, and one per error code (docs/clients.md).
`;

/** The exit code of each error code: a new code does not build until it has one. */
export const EXIT_CODE_OF: Record<ErrorCode, number> = {
  [ErrorCode.INVALID_ARGUMENT]: 3,
  [ErrorCode.USER_NOT_FOUND]: 4,
  [ErrorCode.EMAIL_ALREADY_EXISTS]: 5,
  [ErrorCode.REVISION_EXPIRED]: 6,
  [ErrorCode.UNAUTHENTICATED]: 7,
  [ErrorCode.PERMISSION_DENIED]: 8,
  [ErrorCode.UNAVAILABLE]: 9,
  [ErrorCode.DEADLINE_EXCEEDED]: 10,
  [ErrorCode.CANCELLED]: 11,
  [ErrorCode.TOO_MANY_STREAMS]: 12,
  [ErrorCode.RATE_LIMITED]: 13,
  [ErrorCode.OVERLOADED]: 14,
  [ErrorCode.INTERNAL]: 15,
  [ErrorCode.PRECONDITION_FAILED]: 16,
  [ErrorCode.PRECONDITION_REQUIRED]: 17,
  [ErrorCode.IDEMPOTENCY_KEY_REUSED]: 18,
};
export const EXIT_OTHER = 1;
export const EXIT_USAGE = 2;

class UsageError extends Error {}

const OPTIONS = {
  via: { type: 'string' },
  server: { type: 'string' },
  token: { type: 'string' },
  output: { type: 'string' },
  filter: { type: 'string' },
  name: { type: 'string' },
  email: { type: 'string' },
  role: { type: 'string' },
  tags: { type: 'string' },
  'after-revision': { type: 'string' },
  ids: { type: 'string' },
  'if-match': { type: 'string' },
  'idempotency-key': { type: 'string' },
  help: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** --if-match and --idempotency-key, as the clients send them. */
const writeOptionsOf = (values: Values): WriteOptions => ({
  ...(values['if-match'] === undefined ? {} : { ifMatch: values['if-match'] }),
  ...(values['idempotency-key'] === undefined ? {} : { idempotencyKey: values['idempotency-key'] }),
});

export interface Terminal {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
  env: Record<string, string | undefined>;
  /** Aborts on Ctrl-C: a watch ends cleanly. */
  interrupted: AbortSignal;
}

export async function usersCommand(argv: string[], terminal: Terminal): Promise<number> {
  let api: UsersApi | undefined;
  try {
    const { values, positionals } = parseOrUsage(argv);
    if (values.help) {
      terminal.out(USERS_USAGE);
      return 0;
    }
    const [action, id, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    const output = outputOf(values.output, terminal.isTTY);
    api = openApi(values, terminal.env);
    await run(api, action, id, values, output, terminal);
    return 0;
  } catch (error) {
    return failed(error, terminal);
  } finally {
    api?.close();
  }
}

function parseOrUsage(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function outputOf(value: string | undefined, isTTY: boolean): 'json' | 'table' {
  if (value === undefined) return isTTY ? 'table' : 'json';
  if (value === 'json' || value === 'table') return value;
  throw new UsageError(`--output must be json or table, not ${value}`);
}

function openApi(values: Values, env: Terminal['env']): UsersApi {
  const via = (values.via ?? 'rest') as Protocol;
  if (!PROTOCOLS.includes(via)) throw new UsageError(`--via must be one of ${PROTOCOLS.join(', ')}, not ${via}`);
  const token = values.token ?? env.TWINAPI_TOKEN;
  if (via === 'grpc') {
    const address = (values.server ?? '127.0.0.1:50051').replace(/^https?:\/\//, '');
    return grpcUsersApi(new UserClient({ address, ...(token ? { token } : {}) }));
  }
  const baseUrl = (values.server ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  if (!/^https?:\/\//.test(baseUrl)) throw new UsageError(`--server must be an http:// or https:// URL for ${via}`);
  if (via === 'rest') return restUsersApi(new RestClient(baseUrl, token));
  if (via === 'graphql') return graphqlUsersApi({ baseUrl, ...(token ? { token } : {}) });
  if (via === 'trpc') return trpcUsersApi({ baseUrl, ...(token ? { token } : {}) });
  return connectUsersApi({ baseUrl, protocol: via, ...(token ? { token } : {}) });
}

/** `admin` and `user` stand for the contract's names; any other name goes as given (and is refused). */
const roleOf = (role: string | undefined) =>
  role === undefined ? undefined : role === 'admin' || role === 'user' ? `USER_ROLE_${role.toUpperCase()}` : role;

function inputOf(values: Values): UserInput {
  const input: UserInput = {};
  if (values.name !== undefined) input.name = values.name;
  if (values.email !== undefined) input.email = values.email;
  const role = roleOf(values.role);
  if (role !== undefined) input.role = role;
  // `--tags ""` clears the tags; an empty item between commas is a mistake, not a tag to drop.
  if (values.tags !== undefined) {
    input.tags = values.tags === '' ? [] : values.tags.split(',');
    if (input.tags.some((t) => t.trim() === '')) throw new UsageError('--tags has an empty item');
  }
  return input;
}

function requireId(action: string, id: string | undefined): string {
  if (id === undefined) throw new UsageError(`${action} needs a user id`);
  return id;
}

async function run(
  api: UsersApi,
  action: string | undefined,
  id: string | undefined,
  values: Values,
  output: 'json' | 'table',
  terminal: Terminal,
): Promise<void> {
  const print = (users: ClientUser[]) => terminal.out(output === 'json' ? ndjson(users) : userTable(users));
  if (action === undefined) throw new UsageError('an action is needed');
  switch (action) {
    case 'list': {
      const users: ClientUser[] = [];
      for await (const user of api.listUsers(values.filter)) users.push(user);
      return print(users);
    }
    case 'get':
      return print([await api.getUser(requireId(action, id))]);
    case 'create':
      if (values.name === undefined || values.email === undefined)
        throw new UsageError('create needs --name and --email');
      return print([await api.createUser(inputOf(values), writeOptionsOf(values))]);
    case 'update': {
      const changes = inputOf(values);
      if (Object.keys(changes).length === 0) throw new UsageError('update needs a field to change');
      return print([await api.updateUser(requireId(action, id), changes, writeOptionsOf(values))]);
    }
    case 'delete':
      await api.deleteUser(requireId(action, id), writeOptionsOf(values));
      if (output === 'table') terminal.out(`deleted ${id}\n`);
      return;
    case 'watch': {
      const given = values['after-revision'];
      if (given !== undefined && !/^\d+$/.test(given)) {
        throw new UsageError('--after-revision must be a whole number of at least 0, in digits');
      }
      const afterRevision = given === undefined ? undefined : Number(given);
      const userIds = values.ids?.split(',').filter((i) => i !== '') ?? [];
      const events = api.watch({ afterRevision, userIds, signal: terminal.interrupted });
      for await (const event of events) {
        terminal.out(
          output === 'json'
            ? `${JSON.stringify(event)}\n`
            : `${[event.revision, event.type.replace('EVENT_TYPE_', '').toLowerCase(), ...('user' in event ? [event.user.id, event.user.name, event.user.email] : [])].join('\t')}\n`,
        );
      }
      return;
    }
    default:
      throw new UsageError(`unknown action: ${action}`);
  }
}

const ndjson = (users: ClientUser[]) => users.map((u) => `${JSON.stringify(u)}\n`).join('');

const COLUMNS = ['id', 'name', 'email', 'role', 'tags', 'createdAt'] as const;

function userTable(users: ClientUser[]): string {
  const cell = (user: ClientUser, column: (typeof COLUMNS)[number]) =>
    column === 'tags'
      ? user.tags.join(',')
      : column === 'role'
        ? user.role.replace('USER_ROLE_', '').toLowerCase()
        : user[column];
  const rows = [COLUMNS.map((c) => c.toUpperCase()), ...users.map((u) => COLUMNS.map((c) => cell(u, c)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        `${r
          .map((v, i) => v.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

/** Why fetch could not reach a server. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN']);

/** One line for any failure, and its exit code. */
function failed(error: unknown, terminal: Terminal): number {
  if (error instanceof UsageError) {
    terminal.err(`twinapi users: ${error.message}\n\n${USERS_USAGE}`);
    return EXIT_USAGE;
  }
  if (error instanceof ClientError) {
    const fields = error.violations.map((v) => `${v.field}: ${v.description}`).join('; ');
    terminal.err(
      `twinapi: ${error.code || error.status} (${error.status}): ${error.message}${fields ? ` [${fields}]` : ''}\n`,
    );
    if (error.code in EXIT_CODE_OF) return EXIT_CODE_OF[error.code as ErrorCode];
    // No code from the service: it was not reached (gRPC says UNAVAILABLE itself).
    return error.status === 'UNAVAILABLE' ? EXIT_CODE_OF.UNAVAILABLE : EXIT_OTHER;
  }
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code !== undefined && UNREACHABLE.has(cause.code)) {
    terminal.err(`twinapi: UNAVAILABLE: cannot reach the server (${cause.code})\n`);
    return EXIT_CODE_OF.UNAVAILABLE;
  }
  terminal.err(`twinapi: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_OTHER;
}
