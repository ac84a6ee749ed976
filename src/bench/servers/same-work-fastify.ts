// A hand-written Fastify server doing GetUser's and the list's work as an expert would, with no
// framework of ours: prepared statements (same-work-sql.ts), a response schema (fast-json-stringify).
import Fastify from 'fastify';
import { announce, portOf, serverSettings } from './entry.js';
import { openReads, type UserRow } from './same-work-sql.js';

const { db } = serverSettings<{ db: string }>();
const reads = openReads(db);
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
});

const app = Fastify({ logger: false });
app.get<{ Params: { id: string } }>('/users/:id', { schema: { response: { 200: user } } }, async (request, reply) => {
  const row = await reads.user(request.params.id);
  return row ? json(row) : reply.code(404).send({ error: 'not found' });
});
app.get<{ Querystring: { limit?: string; page_token?: string } }>(
  '/users',
  { schema: { response: { 200: { type: 'object', properties: { users: { type: 'array', items: user } } } } } },
  async (request) => ({
    users: (await reads.page(request.query.page_token ?? '', Number(request.query.limit ?? 50))).map(json),
  }),
);
await app.listen({ host: '127.0.0.1', port: 0 });
announce({ http: portOf(app.server.address()) }, async () => {
  await app.close();
  await reads.close();
});
