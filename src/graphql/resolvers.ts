// The schema's resolvers: GraphQL arguments in, one domain call, the domain's model out. Errors
// leave as DomainErrors; errors.ts says them in GraphQL's terms.
import { type GraphQLFieldResolver, type GraphQLSchema, isObjectType } from 'graphql';
import { conditionOf, etagOf } from '../contract/consistency.js';
import { isoTimestamp } from '../contract/timestamps.js';
import { invalidArgument } from '../domain/errors.js';
import { encodePageToken } from '../domain/pagination.js';
import type { IdempotencyKey, UserService } from '../domain/user-service.js';
import { isBookmark, searchKey, type User, type UserChanges, type WatchEvent } from '../domain/user.js';
import type { RequestContext, SubscriptionContext } from './context.js';
import { bareSchema } from './schema.js';

type Resolver<C = RequestContext> = GraphQLFieldResolver<unknown, C, Record<string, unknown>>;

interface UserInput {
  name?: string | null;
  email?: string | null;
  role?: string | null;
  tags?: string[] | null;
}

/** A field GraphQL gave as null means its empty value, as an absent one does to the domain. */
const given = ({ name, email, role, tags }: UserInput): UserChanges => ({
  ...(name == null ? {} : { name }),
  ...(email == null ? {} : { email }),
  ...(role == null ? {} : { role }),
  ...(tags == null ? {} : { tags }),
});

const newUserOf = (input: UserInput) => ({ name: '', email: '', ...given(input) });

const keyOf = (key: unknown): IdempotencyKey | undefined =>
  typeof key === 'string' ? { key, field: 'idempotencyKey' } : undefined;

/** A revision from the wire: decimal digits (a 64-bit integer), named as the domain names the field. */
export function revisionArgument(text: unknown): number | undefined {
  if (text === undefined || text === null) return undefined;
  if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) {
    throw invalidArgument([{ field: 'after_revision', description: 'must be a whole number of at least 0' }]);
  }
  return Number(text);
}

/** The edge's cursor: where the next page starts if this were the last user of this one. */
interface Edge {
  node: User;
  filter: string;
}

export interface SubscriptionSource {
  /** Opens the watch the subscription asks for, in the subscription's context. */
  (
    args: { afterRevision?: number; userIds: string[]; bookmarks?: boolean },
    context: SubscriptionContext,
  ): Promise<AsyncIterable<WatchEvent>>;
}

/** The schema with every field resolved through `service`; `watch` opens a subscription's events. */
export function executableSchema(service: UserService, watch: SubscriptionSource): GraphQLSchema {
  const query: Record<string, Resolver> = {
    user: (_root, { id }, { users }) => users.get(String(id)),
    users: async (_root, { first, after, filter }, { call }) => {
      const page = await service.listUsers(
        {
          ...(typeof filter === 'string' ? { filter } : {}),
          ...(typeof first === 'number' ? { pageSize: first === 0 ? -1 : first } : {}),
          ...(typeof after === 'string' ? { pageToken: after } : {}),
        },
        call,
      );
      const key = searchKey(typeof filter === 'string' ? filter : '');
      return {
        edges: page.users.map((node): Edge => ({ node, filter: key })),
        pageInfo: { hasNextPage: page.nextPageToken !== '', endCursor: page.nextPageToken || null },
        revision: String(page.revision),
      };
    },
  };
  const mutation: Record<string, Resolver> = {
    createUser: (_root, { input, idempotencyKey }, { call }) =>
      service.createUser(newUserOf(input as UserInput), call, keyOf(idempotencyKey)),
    createUsers: (_root, { inputs, idempotencyKey }, { call }) =>
      service.createUsers((inputs as UserInput[]).map(newUserOf), call, keyOf(idempotencyKey)),
    updateUser: (_root, { id, changes, ifMatch }, { call }) => {
      const fields = given(changes as UserInput);
      return service.updateUser(
        String(id),
        {
          fields: Object.keys(changes as object),
          changes: fields,
          // The domain names the list of fields `fields`: here it is the changes object.
          fieldPath: (field) => (field.startsWith('fields') ? 'changes' : field),
        },
        call,
        conditionOf(ifMatch as string | undefined, 'ifMatch'),
      );
    },
    deleteUser: async (_root, { id, ifMatch }, { call }) => {
      await service.deleteUser(String(id), call, conditionOf(ifMatch as string | undefined, 'ifMatch'));
      return id;
    },
  };
  const user: Record<string, GraphQLFieldResolver<User, unknown>> = {
    createdAt: (u) => isoTimestamp(u.createdAt.getTime()),
    updatedAt: (u) => isoTimestamp(u.updatedAt.getTime()),
    revision: (u) => String(u.revision),
    etag: (u) => etagOf(u.revision),
  };
  const edge: Record<string, GraphQLFieldResolver<Edge, unknown>> = {
    cursor: ({ node, filter }) => encodePageToken({ createdAt: node.createdAt.getTime(), id: node.id }, filter),
  };
  const event: Record<string, GraphQLFieldResolver<WatchEvent, unknown>> = {
    revision: (e) => String(e.revision),
    user: (e) => (isBookmark(e) ? null : e.user),
  };
  const subscription: Record<
    string,
    { subscribe: Resolver<SubscriptionContext>; resolve: Resolver<SubscriptionContext> }
  > = {
    userEvents: {
      subscribe: (_root, { afterRevision, userIds, bookmarks }, context) =>
        watch(
          {
            afterRevision: revisionArgument(context.lastEventId ?? afterRevision),
            userIds: (userIds as string[] | null | undefined) ?? [],
            ...(typeof bookmarks === 'boolean' ? { bookmarks } : {}),
          },
          context,
        ),
      resolve: (event) => event,
    },
  };
  const schema = bareSchema();
  const resolvers: Record<string, Record<string, unknown>> = {
    Query: query,
    Mutation: mutation,
    User: user,
    UserEdge: edge,
    UserEvent: event,
  };
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`no object type ${typeName}`);
    for (const [name, resolve] of Object.entries(fields)) type.getFields()[name]!.resolve = resolve as Resolver;
  }
  const subscriptionFields = schema.getSubscriptionType()!.getFields();
  for (const [name, { subscribe, resolve }] of Object.entries(subscription)) {
    subscriptionFields[name]!.subscribe = subscribe as Resolver;
    subscriptionFields[name]!.resolve = resolve as Resolver;
  }
  return schema;
}
