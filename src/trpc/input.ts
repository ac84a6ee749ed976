// The procedures' inputs: tRPC hands each one the JSON the client sent, and these parsers check
// only its shape (an object, each field of the right JSON type, no field it does not have). What
// the values may be (an email's form, a name's length, a role the contract has) is the domain's to
// say, by the same rules on every protocol: a role name is passed on as it came, so an unknown one
// is refused by the domain on `role`, not dropped here. Bad shapes are INVALID_ARGUMENT naming the
// field as the domain names fields (`users[1].email`, `after_revision`).
import { type FieldViolation, invalidArgument } from '../domain/errors.js';

/** The JSON types a field may have. A revision is int64: digits in a string (as REST's JSON), or a safe integer. */
type Kind = 'string' | 'strings' | 'boolean' | 'integer' | 'revision' | 'array';

const DESCRIPTION: Record<Kind, string> = {
  string: 'must be a string',
  strings: 'must be an array of strings',
  boolean: 'must be true or false',
  integer: 'must be a whole number',
  revision: 'must be a whole number of at least 0 (digits in a string, as revisions are sent)',
  array: 'must be an array',
};

type Value<K extends Kind> = K extends 'string'
  ? string
  : K extends 'strings'
    ? string[]
    : K extends 'boolean'
      ? boolean
      : K extends 'array'
        ? unknown[]
        : number;

type Checked<F extends Record<string, Kind>> = { [K in keyof F]?: Value<F[K]> };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `value` as `kind`, or undefined (reported) when it is not one. */
function valueOf(value: unknown, kind: Kind): unknown {
  switch (kind) {
    case 'string':
      return typeof value === 'string' ? value : undefined;
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'integer':
      return Number.isSafeInteger(value) ? value : undefined;
    case 'array':
      return Array.isArray(value) ? value : undefined;
    case 'revision':
      // Past 2^53 a number has already lost digits: the string is the exact form. The domain
      // refuses a revision beyond what it holds.
      if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return Number(value);
      return Number.isSafeInteger(value) && (value as number) >= 0 ? value : undefined;
  }
}

/**
 * The fields of `raw` that `fields` names, each checked for its JSON type; an absent input is an
 * empty object. `path` names a field as errors report it.
 */
function check<F extends Record<string, Kind>>(
  raw: unknown,
  fields: F,
  violations: FieldViolation[],
  path: (key: string) => string = (key) => key,
): Checked<F> {
  const input = raw ?? {};
  if (!isObject(input)) {
    violations.push({ field: path('').replace(/\.$/, '') || 'input', description: 'must be a JSON object' });
    return {};
  }
  const checked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const kind = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (kind === undefined) {
      const known = Object.keys(fields).join(', ');
      violations.push({ field: path(key), description: `is not a field of this input (${known})` });
      continue;
    }
    const typed = valueOf(value, kind);
    if (typed === undefined) violations.push({ field: path(key), description: DESCRIPTION[kind] });
    else checked[key] = typed;
  }
  return checked as Checked<F>;
}

/**
 * A procedure's input parser, as tRPC takes a Standard Schema: `In` is what the client sends (the
 * router's type tells the client), `Out` what the procedure gets. A bad shape throws one
 * INVALID_ARGUMENT with every bad field (tRPC makes it the cause of its BAD_REQUEST).
 */
export interface InputParser<In, Out> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    validate(value: unknown): { value: Out };
    readonly types?: { readonly input: In; readonly output: Out };
  };
}

function parser<In, Out>(read: (raw: unknown, violations: FieldViolation[]) => Out): InputParser<In, Out> {
  return {
    '~standard': {
      version: 1,
      vendor: 'twinapi',
      validate(raw) {
        const violations: FieldViolation[] = [];
        const value = read(raw, violations);
        if (violations.length > 0) throw invalidArgument(violations);
        return { value };
      },
    },
  };
}

const NEW_USER = { name: 'string', email: 'string', role: 'string', tags: 'strings' } as const;

/** A user to create, as sent: fields left out are the domain's to refuse (a name is required) or default (the role). */
export interface NewUserFields {
  name?: string;
  email?: string;
  /** A role's name (`USER_ROLE_ADMIN`); one the contract does not have is refused on `role`. */
  role?: string;
  tags?: string[];
}

export const parseGet = parser<{ id: string }, { id: string }>((raw, violations) => ({
  id: check(raw, { id: 'string' }, violations).id ?? '',
}));

export interface ListInput {
  /** Names containing this, case-insensitively. */
  filter?: string;
  pageSize?: number;
  /** The previous page's nextPageToken. */
  pageToken?: string;
}

export const parseList = parser<ListInput | undefined, ListInput>((raw, violations) =>
  check(raw, { filter: 'string', pageSize: 'integer', pageToken: 'string' }, violations),
);

export interface CreateInput extends NewUserFields {
  /** Makes the create safe to retry: the same key and fields again answer with the first user. */
  requestId?: string;
}

export const parseCreate = parser<CreateInput, CreateInput>((raw, violations) =>
  check(raw, { ...NEW_USER, requestId: 'string' }, violations),
);

export interface CreateManyInput {
  users: NewUserFields[];
  /** Names the whole batch: a retry answers with the users the first call created. */
  requestId?: string;
}

export const parseCreateMany = parser<CreateManyInput, CreateManyInput>((raw, violations) => {
  const { users, requestId } = check(raw, { users: 'array', requestId: 'string' }, violations);
  if (users === undefined && isObject(raw) && !Object.hasOwn(raw, 'users')) {
    violations.push({ field: 'users', description: 'is required: the users to create' });
  }
  // Each item checked here, so that a bad one is named by its index, as the domain names them.
  const items = (users ?? []).map((item, i) => check(item, NEW_USER, violations, (key) => `users[${i}].${key}`));
  return requestId === undefined ? { users: items } : { users: items, requestId };
});

export interface UpdateInput extends NewUserFields {
  id: string;
  /** Write only if the user is still at this version: its etag (`"r<revision>"`), or `*`. */
  etag?: string;
}

export const parseUpdate = parser<UpdateInput, UpdateInput>((raw, violations) => {
  const { id = '', ...rest } = check(raw, { id: 'string', etag: 'string', ...NEW_USER }, violations);
  return { id, ...rest };
});

export interface DeleteInput {
  id: string;
  etag?: string;
}

export const parseDelete = parser<DeleteInput, DeleteInput>((raw, violations) => {
  const { id = '', etag } = check(raw, { id: 'string', etag: 'string' }, violations);
  return etag === undefined ? { id } : { id, etag };
});

export interface EventsInput {
  /** Resume after this revision: digits in a string, as revisions are sent (a safe integer is taken too). */
  afterRevision?: string | number;
  /** Watch only these users; none: everyone. */
  userIds?: string[];
  /** Bookmarks while the watch is quiet (EVENT_TYPE_BOOKMARK); the server's default (on) when absent. */
  bookmarks?: boolean;
  /** Set by tRPC on a reconnect from `Last-Event-ID` (or `?lastEventId=`): the last event's revision. */
  lastEventId?: string;
}

/** Where the subscription resumes and what it watches, as the domain takes it. */
export interface EventsRequest {
  afterRevision?: number;
  userIds: string[];
  bookmarks?: boolean;
}

/** The domain's names for the fields it checks itself. */
const EVENTS_FIELD: Record<string, string> = { afterRevision: 'after_revision', userIds: 'user_ids' };

export const parseEvents = parser<EventsInput | undefined, EventsRequest>((raw, violations) => {
  const fields = {
    afterRevision: 'revision',
    userIds: 'strings',
    bookmarks: 'boolean',
    lastEventId: 'revision',
  } as const;
  const checked = check(raw, fields, violations, (key) => EVENTS_FIELD[key] ?? key);
  // A reconnect resumes after the last event it had: later than where the watch began.
  const after = checked.lastEventId ?? checked.afterRevision;
  return {
    userIds: checked.userIds ?? [],
    ...(after === undefined ? {} : { afterRevision: after }),
    ...(checked.bookmarks === undefined ? {} : { bookmarks: checked.bookmarks }),
  };
});
