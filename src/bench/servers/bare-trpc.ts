// tRPC's own Fastify adapter (fastifyTRPCPlugin) with one query, users.get, answering a constant user:
// what tRPC itself costs a call, for our tRPC face to be compared with.
import { initTRPC } from '@trpc/server';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify from 'fastify';
import { announce, portOf, serverSettings } from './entry.js';

const { userJson } = serverSettings<{ userJson: string }>();
const user = JSON.parse(userJson) as object;
const t = initTRPC.create();
const router = t.router({
  users: t.router({ get: t.procedure.input((input) => input as { id: string }).query(() => user) }),
});
const app = Fastify({ logger: false });
await app.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions: { router } });
await app.listen({ host: '127.0.0.1', port: 0 });
announce({ http: portOf(app.server.address()) }, () => app.close());
