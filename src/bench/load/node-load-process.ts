// The built-in load generator as its own process, so it can be pinned away from the server.
import { runNodeLoad } from './node-driver.js';
import type { LoadSpec } from './spec.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec & { body?: string };
const outcome = await runNodeLoad({
  ...spec,
  body: spec.body === undefined ? undefined : Buffer.from(spec.body, 'base64'),
});
process.stdout.write(JSON.stringify(outcome));
