import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../domain/access.js';
import { unavailable } from '../domain/errors.js';
import type { AccessGate } from '../domain/ports.js';
import { GRAPHQL_OPEN_ROUTES } from '../graphql/routes.js';
import { CONSOLE_ROUTES } from './routes/console.js';
import type { RouteHookFactory } from './route-hooks.js';
import type { OpenStreams } from './streams.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who makes the request, once the access gate admitted it (absent on open routes). */
    principal?: Principal;
    /**
     * On RPC routes (Connect, gRPC-Web), the admission itself: the adapter awaits it and answers a
     * refusal in its own protocol's terms, not in this API's JSON.
     */
    admission?: Promise<Principal>;
  }
}

/**
 * Routes anyone may call: liveness and readiness (load balancers), the OpenAPI document and its docs,
 * the web console's page and files (it must load to ask for a token; its calls carry one), and the
 * GraphQL explorer's (the same: its queries carry the token pasted into its headers).
 */
const OPEN_ROUTES = new Set<string>([
  '/healthz',
  '/readyz',
  '/openapi.json',
  ...CONSOLE_ROUTES,
  ...GRAPHQL_OPEN_ROUTES,
]);
const HEALTH = new Set(['/healthz', '/readyz']);

const isOpen = (route: string | undefined) =>
  route === undefined || OPEN_ROUTES.has(route) || route.startsWith('/docs');

/**
 * Runs on every request before its route: refuses new work once shutdown began (health stays up to
 * say so), then has the access gate admit the caller (credentials, rate limit, load shedding) for
 * every route but the open ones. Unknown routes answer 404 without credentials.
 */
export function accessHook(gate: AccessGate, streams: OpenStreams): RouteHookFactory {
  const admit = (request: FastifyRequest, route: string | undefined) => {
    const socket = request.raw.socket as Partial<TLSSocket>;
    const certificateSubject = socket.authorized ? socket.getPeerCertificate?.().subject : undefined;
    // A browser's EventSource cannot set headers: the event stream also takes ?access_token=.
    const query = request.query as { access_token?: unknown };
    return gate.admit({
      authorization: request.headers.authorization,
      accessToken: route === '/users/events' && typeof query.access_token === 'string' ? query.access_token : undefined,
      peer: request.ip,
      ...(certificateSubject ? { certificateSubject } : {}),
    });
  };
  return ({ url: route, rpc }) => {
    if (route !== undefined && HEALTH.has(route)) return undefined;
    if (rpc) {
      return (request, _reply, done) => {
        const admission = (async () => {
          if (streams.closing) throw unavailable('the server is shutting down');
          return admit(request, route);
        })();
        // Awaited by the adapter's interceptor; a call refused before it (a bad content type) never awaits it.
        admission.catch(() => undefined);
        request.admission = admission;
        done();
      };
    }
    const open = isOpen(route);
    // A callback hook, not an async one: a caller whose token is cached is admitted without a promise.
    return (request, _reply, done) => {
      let principal: Principal | Promise<Principal>;
      try {
        // A request on a kept-alive connection after shutdown began (Fastify's own 503 has another body).
        if (streams.closing) throw unavailable('the server is shutting down');
        if (open) return done();
        principal = admit(request, route);
      } catch (error) {
        return done(error as Error);
      }
      if (!(principal instanceof Promise)) {
        request.principal = principal;
        return done();
      }
      principal.then(
        (admitted) => {
          request.principal = admitted;
          done();
        },
        (error: Error) => done(error),
      );
    };
  };
}
