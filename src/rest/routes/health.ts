import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { UserService } from '../../domain/user-service.js';
import { errorResponses, OPEN } from '../schemas.js';

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok', 'unavailable'] }, database: { type: 'string' } },
  required: ['status'],
} as const;

export function healthRoutes(app: FastifyInstance, service: UserService, isShuttingDown: () => boolean): void {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getLiveness',
        tags: ['health'],
        summary: 'Liveness: the process answers',
        security: OPEN,
        response: { 200: statusSchema, ...errorResponses.open() },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['health'],
        summary: 'Readiness: the database answers and the server is not shutting down',
        security: OPEN,
        response: { ...errorResponses.open(), 200: statusSchema, 503: statusSchema },
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
