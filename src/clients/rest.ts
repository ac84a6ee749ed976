// UsersApi over REST (JSON), on the project's fetch client; the change feed is its Server-Sent Events.
import { type RestClient, RestError } from '../rest/client.js';
import { type CreateUserJson, SSE_BOOKMARK, SSE_EVENT_TYPES, type UserJson } from '../rest/representation.js';
import { clientEvent, ClientError, type ClientUser, type UsersApi, via, viaStream } from './users-api.js';

export function restError(error: unknown): ClientError | undefined {
  if (!(error instanceof RestError)) return undefined;
  const { code, message, details, metadata } = error.body.error;
  const violations = details.map(({ field, description }) => ({ field, description }));
  return new ClientError(code, error.status, violations, metadata ?? {}, message);
}

export function restUsersApi(client: RestClient): UsersApi {
  const call = <T>(promise: Promise<T>) => via(promise, restError);
  const json = <T>(input: T) => input as CreateUserJson;
  // Without ?fields=, a user has every field.
  const whole = (user: UserJson) => ({ ...user, revision: Number(user.revision) }) as ClientUser;
  return {
    protocol: 'rest',
    createUser: async (input, options) => whole(await call(client.createUser(json(input), options))),
    getUser: async (id) => whole(await call(client.getUser(id))),
    updateUser: async (id, changes, options) => whole(await call(client.updateUser(id, json(changes), options))),
    deleteUser: (id, options) => call(client.deleteUser(id, options)),
    createUsers: async (inputs, options) =>
      (await call(client.createUsers(inputs.map(json), options))).users.map(whole),
    async listing(filter) {
      const users: ClientUser[] = [];
      let revision: number | undefined;
      let pageToken = '';
      do {
        const page = await call(client.listUsers({ filter, pageToken, limit: 500 }));
        revision ??= page.revisionHeader;
        users.push(...page.users.map(whole));
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
      if (revision === undefined) throw new Error('the server sent no X-Revision');
      return { users, revision };
    },
    async *listUsers(filter) {
      let pageToken = '';
      do {
        const page = await call(client.listUsers({ filter, pageToken, limit: 500 }));
        yield* page.users.map(whole);
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
    },
    async *watch({ afterRevision, userIds, bookmarks, signal }) {
      const messages = client.events({ afterRevision, userIds, bookmarks }, signal);
      for await (const message of viaStream(messages, restError)) {
        const data = JSON.parse(message.data ?? '{}') as unknown;
        // An error after the stream began: the documented body, as an event (HTTP status 200 was sent).
        if (message.event === 'error') throw restError(new RestError(200, data as RestError['body']))!;
        const type =
          message.event === SSE_BOOKMARK ? 'EVENT_TYPE_BOOKMARK' : (SSE_EVENT_TYPES[message.event ?? ''] ?? '');
        const event = clientEvent(type, Number(message.id), () => whole(data as UserJson));
        if (event) yield event;
      }
    },
    close: () => undefined,
  };
}
