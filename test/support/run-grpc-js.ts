// `npm run test:grpc-js`: every suite that makes gRPC calls again, served by grpc-js
// (`--grpc-engine grpc-js`) rather than the default node:http2 engine, so both engines pass the same
// gRPC suite, with grpc-js, buf curl and Debian's python3-grpcio (C-core) as clients.
import { runSuites } from './run-suites.js';

runSuites(
  [
    'access',
    'behaviour',
    'clients',
    'consistency',
    'consistency-clients',
    'errors',
    'grpc-services',
    'grpc-streams',
    'grpc-transport',
    'grpc-unary',
    'hostile',
    'limits',
    'observability',
    'process',
    'tls',
    'workers',
  ],
  { TWINAPI_TEST_GRPC_ENGINE: 'grpc-js' },
);
