import { createServer } from 'node:net';

/**
 * A TCP port nothing listens on at `host` now, for a setting where 0 does not mean "any port"
 * (`--metrics-port 0` turns metrics off). Another process could take it before it is used.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
