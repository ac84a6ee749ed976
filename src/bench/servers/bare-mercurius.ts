// Mercurius with graphql-jit (as ours runs it) and one query, user(id:), answering a constant user:
// what GraphQL on Fastify itself costs a call, for our GraphQL face to be compared with.
import Fastify from 'fastify';
import mercurius from 'mercurius';
import { announce, portOf, serverSettings } from './entry.js';

const { userJson } = serverSettings<{ userJson: string }>();
const user = JSON.parse(userJson) as object;
const schema = `
  type User { id: ID! name: String! email: String! role: String! tags: [String!]! createdAt: String!
              updatedAt: String! revision: String! etag: String! }
  type Query { user(id: ID!): User }
`;
const app = Fastify({ logger: false });
await app.register(mercurius, { schema, resolvers: { Query: { user: () => user } }, jit: 1 });
await app.listen({ host: '127.0.0.1', port: 0 });
announce({ http: portOf(app.server.address()) }, () => app.close());
