// Fastify with no plugins, answering GET /users/:id with a constant user object.
import Fastify from 'fastify';
import { announce, portOf, serverSettings } from './entry.js';

const { userJson } = serverSettings<{ userJson: string }>();
const user = JSON.parse(userJson) as object;
const app = Fastify({ logger: false });
app.get('/users/:id', async () => user);
await app.listen({ host: '127.0.0.1', port: 0 });
announce({ http: portOf(app.server.address()) }, () => app.close());
