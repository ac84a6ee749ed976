// `npm run test:http2`: every suite that makes gRPC calls again, served by the node:http2 engine
// (`--grpc-engine http2`), so both engines pass the same gRPC suite: grpc-js, buf curl and Debian's
// python3-grpcio (C-core) as clients.
import { runSuites } from './run-suites.js';

runSuites(
  [
    'access',
    'behaviour',
    'clients',
    'errors',
    'grpc-services',
    'grpc-streams',
    'grpc-unary',
    'hostile',
    'limits',
    'observability',
    'process',
    'tls',
    'workers',
  ],
  { TWINAPI_TEST_GRPC_ENGINE: 'http2' },
);
