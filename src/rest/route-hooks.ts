// The REST server's own request hooks, bound to each route when it is added. Fastify's
// `request.routeOptions` builds a dozen-field object on every read, and the hooks read the route on
// every request; bound per route, what they need of it is fixed once.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

/** What a hook knows of the route it runs for. */
export interface RouteFacts {
  /** The route template (`/users/:id`); undefined for requests no route matched (404). */
  url: string | undefined;
  /** Served by an RPC adapter (Connect, gRPC-Web), which admits and reports its calls itself. */
  rpc: boolean;
}

export type RequestHook = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

/** Makes a route's hook, or none when the route needs none. */
export type RouteHookFactory = (route: RouteFacts) => RequestHook | undefined;

/**
 * Runs `factories`' hooks, in order, first on every request: on each route's own (added as it is
 * added, so call this before any route), and on the requests no route matched (Fastify runs only the
 * root's hooks for them).
 */
export function bindRouteHooks(app: FastifyInstance, factories: readonly RouteHookFactory[]): void {
  const hooksFor = (route: RouteFacts) =>
    factories.map((factory) => factory(route)).filter((hook): hook is RequestHook => hook !== undefined);
  app.addHook('onRoute', (options: RouteOptions) => {
    const own = options.onRequest === undefined ? [] : [options.onRequest].flat();
    options.onRequest = [...hooksFor({ url: options.url, rpc: options.config?.rpc === true }), ...own] as never;
  });
  const unrouted = hooksFor({ url: undefined, rpc: false });
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    const next = (i: number) => (error?: Error) => {
      if (error || i === unrouted.length) return done(error);
      unrouted[i]!(request, reply, next(i + 1));
    };
    next(0)();
  });
}
