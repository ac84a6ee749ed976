// A hand-written Fastify server doing GetUser's, the list's, CreateUser's and UpdateUser's work as
// an expert would, with no framework of ours: the same statements (same-work-sql.ts), request
// schemas (Ajv) and response schemas (fast-json-stringify).
import Fastify from 'fastify';
import { announce, portOf, serverSettings } from './entry.js';
import { type NewUser, openSameWork, type UserRow, type Written } from './same-work-sql.js';

const { db } = serverSettings<{ db: string }>();
const store = openSameWork(db);
const user = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    revision: { type: 'string' },
    etag: { type: 'string' },
  },
} as const;
const json = (row: UserRow) => ({
  id: row.id,
  name: row.name,
  email: row.email,
  role: row.role,
  tags: JSON.parse(row.tags) as string[],
  createdAt: new Date(Number(row.created_at)).toISOString(),
  updatedAt: new Date(Number(row.updated_at)).toISOString(),
  revision: String(row.revision),
  etag: `"r${row.revision}"`,
});
const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const newUser = {
  type: 'object',
  required: ['name', 'email'],
  additionalProperties: false,
  properties: {
    name,
    email: { type: 'string', format: 'email' },
    role: { type: 'string', enum: ['USER_ROLE_USER', 'USER_ROLE_ADMIN'] },
    tags: { type: 'array', items: { type: 'string' } },
  },
} as const;

const app = Fastify({ logger: false });
/** A write's outcome as the reply sends it. */
const send = (reply: { code(status: number): { send(body: unknown): unknown } }, status: number, written: Written) => {
  if (written === 'email-taken') return reply.code(409).send({ error: 'email taken' });
  if (written === 'not-found') return reply.code(404).send({ error: 'not found' });
  return reply.code(status).send(json(written));
};
app.get<{ Params: { id: string } }>('/users/:id', { schema: { response: { 200: user } } }, async (request, reply) => {
  const row = await store.user(request.params.id);
  return row ? json(row) : reply.code(404).send({ error: 'not found' });
});
app.get<{ Querystring: { limit?: string; page_token?: string } }>(
  '/users',
  { schema: { response: { 200: { type: 'object', properties: { users: { type: 'array', items: user } } } } } },
  async (request) => ({
    users: (await store.page(request.query.page_token ?? '', Number(request.query.limit ?? 50))).map(json),
  }),
);
app.post<{ Body: Partial<NewUser> & Pick<NewUser, 'name' | 'email'> }>(
  '/users',
  { schema: { body: newUser, response: { 201: user } } },
  async (request, reply) => {
    const { name: userName, email, role = 'USER_ROLE_USER', tags = [] } = request.body;
    return send(reply, 201, await store.create({ name: userName, email, role, tags }));
  },
);
app.patch<{ Params: { id: string }; Body: { name: string } }>(
  '/users/:id',
  {
    schema: {
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name } },
      response: { 200: user },
    },
  },
  async (request, reply) => send(reply, 200, await store.rename(request.params.id, request.body.name)),
);
await app.listen({ host: '127.0.0.1', port: 0 });
announce({ http: portOf(app.server.address()) }, async () => {
  await app.close();
  await store.close();
});
