/**
 * What every benchmarked server process shares: its settings arrive as JSON
 * in argv[2]; it reports its ports to the lab over IPC and stops on SIGTERM.
 */
export interface ServerPorts {
  /** Port of the gRPC (or HTTP/2 gRPC-shaped) listener, if any. */
  grpc?: number;
  /** Port of the HTTP listener, if any. */
  http?: number;
  /** Port of `GET /metrics` (Prometheus text), when the server records metrics. */
  metrics?: number;
}

export function serverSettings<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

export function announce(ports: ServerPorts, stop: () => Promise<void>): void {
  process.send?.({ type: 'ready', ports });
  process.once('SIGTERM', () => {
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

export function portOf(address: unknown): number {
  if (address && typeof address === 'object' && 'port' in address) return Number(address.port);
  throw new Error(`not a TCP address: ${String(address)}`);
}
