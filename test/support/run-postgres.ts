// `npm run test:postgres`: the store and server suites again, on PostgreSQL (one schema per test file).
// Without a reachable server it fails in CI (CI set) and skips elsewhere, saying how to enable it.
import { POSTGRES_URL, postgresUnreachable } from './engine.js';
import { runSuites } from './run-suites.js';

const SUITES = [
  'access',
  'hostile',
  'behaviour',
  'consistency',
  'store',
  'search',
  'change-log',
  'domain-validation',
  'grpc-unary',
  'grpc-streams',
  'grpc-services',
  'rest-users',
  'rest-events',
  'observability',
];

const problem = await postgresUnreachable();
if (problem) {
  const how = `start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or point TWINAPI_TEST_POSTGRES_URL at one (now ${POSTGRES_URL})`;
  if (process.env.CI) {
    process.stderr.write(`not ok - ${problem}: the PostgreSQL run is required in CI; ${how}\n`);
    process.exit(1);
  }
  process.stdout.write(`# SKIP the PostgreSQL run: ${problem}; to enable it, ${how}\n`);
  process.exit(0);
}
runSuites(SUITES, { TWINAPI_TEST_ENGINE: 'postgres' });
