// The explorer: GraphiQL 3.8.3, from our own origin (its files and React's read from node_modules at
// startup; Mercurius's own explorer loads them from a CDN). The page needs no token to load; its
// headers editor takes one (`{"authorization": "Bearer …"}`), sent with each query.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);

/** React publishes its UMD builds, but not as package exports: found beside its package.json. */
const umd = (packageJson: string, file: string) => join(dirname(packageJson), 'umd', file);

/** The explorer's files: path, where it comes from, its media type. */
const ASSETS = [
  ['/graphiql/react.js', umd(require.resolve('react/package.json'), 'react.production.min.js'), 'text/javascript'],
  [
    '/graphiql/react-dom.js',
    umd(require.resolve('react-dom/package.json'), 'react-dom.production.min.js'),
    'text/javascript',
  ],
  ['/graphiql/graphiql.js', require.resolve('graphiql/graphiql.min.js'), 'text/javascript'],
  ['/graphiql/graphiql.css', require.resolve('graphiql/graphiql.min.css'), 'text/css'],
] as const;

/** The explorer's routes: open (no token needed), as the lead adds them to the access hook's OPEN_ROUTES. */
export const GRAPHQL_OPEN_ROUTES: readonly string[] = ['/graphiql', ...ASSETS.map(([path]) => path)];

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>twinapi · GraphQL explorer</title>
<link rel="stylesheet" href="/graphiql/graphiql.css">
<style>body{margin:0;height:100vh}#graphiql{height:100vh}</style>
</head>
<body>
<div id="graphiql">Loading…</div>
<script src="/graphiql/react.js"></script>
<script src="/graphiql/react-dom.js"></script>
<script src="/graphiql/graphiql.js"></script>
<script>
const fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', location.href).href });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: 'headers',
    defaultHeaders: JSON.stringify({ authorization: 'Bearer <paste a token: twinapi token issue>' }, null, 2),
    defaultQuery: '{\\n  users(first: 10) {\\n    edges { node { id name email role revision } }\\n    pageInfo { hasNextPage endCursor }\\n    revision\\n  }\\n}\\n',
  }),
);
</script>
</body>
</html>
`;

/** A bundle without its source-map comment: the maps are not served. */
const withoutSourceMap = (text: string) => text.replace(/\n?\/[/*][#@] sourceMappingURL=[^\n]*$/, '');

export function explorerRoutes(app: FastifyInstance): void {
  const files = ASSETS.map(([path, file, type]) => [path, withoutSourceMap(readFileSync(file, 'utf8')), type] as const);
  const cache = 'public, max-age=3600';
  app.get('/graphiql', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(PAGE),
  );
  for (const [path, body, type] of files) {
    app.get(path, { schema: { hide: true } }, (_request, reply) =>
      reply.type(`${type}; charset=utf-8`).header('cache-control', cache).send(body),
    );
  }
}
