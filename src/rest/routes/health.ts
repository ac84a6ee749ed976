import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { UserService } from '../../domain/user-service.js';

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok', 'unavailable'] }, database: { type: 'string' } },
  required: ['status'],
} as const;

export function healthRoutes(app: FastifyInstance, service: UserService, isShuttingDown: () => boolean): void {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: the process answers', response: { 200: statusSchema } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: the database answers and the server is not shutting down',
        response: { 200: statusSchema, 503: statusSchema },
      },
    },
    async (request, reply) => {
      if (isShuttingDown())
        return reply.code(503).send({ status: 'unavailable', database: 'not checked: shutting down' });
      try {
        await service.ping();
        return { status: 'ok', database: 'ok' };
      } catch (error) {
        request.log.error({ err: error }, 'readiness check failed');
        return reply.code(503).send({ status: 'unavailable', database: 'unreachable' });
      }
    },
  );
}
