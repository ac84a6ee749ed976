// Times one GetUser, N times, over each way the browser can ask: REST (fetch, JSON), Connect (JSON
// and binary), gRPC-Web, GraphQL and tRPC. Rounds take the protocols in turn, so a slow moment of the machine
// falls on all of them rather than on whichever ran then.
import { Code, ConnectError } from '@connectrpc/connect';
import { byId, element, millis } from './dom.js';
import type { Graphql } from './graphql.js';
import type { ApiError, Rest, UserJson } from './rest.js';
import type { RpcClients } from './rpc.js';
import type { TrpcQuery } from './trpc.js';

/** Every field of a user, as REST and the RPC protocols always send them: GraphQL is timed for the same reply. */
const USER_FIELDS = 'id name email role tags createdAt updatedAt revision etag';

interface Protocol {
  id: string;
  label: string;
  getUser(id: string): Promise<unknown>;
}

/** The value below which `p` of the sorted samples lie (nearest rank). */
const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;

export interface LatencyClients {
  rest: Rest;
  rpc: RpcClients;
  graphql: Graphql;
  trpc: TrpcQuery;
}

export function latencyPanel({ rest, rpc, graphql, trpc }: LatencyClients, target: () => UserJson | undefined): void {
  const protocols: Protocol[] = [
    // no-store: a revalidated 304 from the HTTP cache would time something else.
    {
      id: 'rest',
      label: 'REST (fetch, JSON)',
      getUser: (id) => rest('GET', `/users/${id}`, undefined, { cache: 'no-store' }),
    },
    { id: 'connect-json', label: 'Connect (JSON)', getUser: (id) => rpc.connectJson.getUser({ id }) },
    { id: 'connect-binary', label: 'Connect (binary)', getUser: (id) => rpc.connectBinary.getUser({ id }) },
    { id: 'grpc-web', label: 'gRPC-Web', getUser: (id) => rpc.grpcWeb.getUser({ id }) },
    {
      id: 'graphql',
      label: 'GraphQL (fetch, JSON)',
      getUser: (id) => graphql(`query GetUser($id: ID!) { user(id: $id) { ${USER_FIELDS} } }`, { id }),
    },
    { id: 'trpc', label: 'tRPC (fetch, JSON)', getUser: (id) => trpc('users.get', { id }) },
  ];
  const form = byId('latency-form', HTMLFormElement);
  const count = byId('latency-count', HTMLInputElement);
  const button = byId('latency-run', HTMLButtonElement);
  const status = byId('latency-status', HTMLElement);
  const body = byId('latency-body', HTMLTableSectionElement);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run();
  });

  async function run(): Promise<void> {
    const user = target();
    if (!user) {
      status.textContent = 'No user to time: create one, or load the users table.';
      return;
    }
    const n = Math.min(500, Math.max(1, Math.round(Number(count.value)) || 20));
    button.disabled = true;
    body.replaceChildren();
    const samples = new Map(protocols.map((p) => [p.id, [] as number[]]));
    try {
      status.textContent = `Warming up: one GetUser of ${user.name} per protocol…`;
      for (const protocol of protocols) await protocol.getUser(user.id);
      for (let round = 1; round <= n; round++) {
        for (const protocol of protocols) {
          const start = performance.now();
          await protocol.getUser(user.id);
          samples.get(protocol.id)!.push(performance.now() - start);
        }
        if (round % 5 === 0 || round === n)
          status.textContent = `Timing GetUser of ${user.name}: ${round} of ${n} rounds…`;
      }
      body.replaceChildren(
        ...protocols.map((protocol) => {
          const sorted = samples.get(protocol.id)!.sort((a, b) => a - b);
          const row = element('tr', '', { 'data-protocol': protocol.id });
          row.append(
            element('th', protocol.label, { scope: 'row' }),
            element('td', millis(percentile(sorted, 0.5)), { class: 'median' }),
            element('td', millis(percentile(sorted, 0.9)), { class: 'p90' }),
            element('td', String(sorted.length)),
          );
          return row;
        }),
      );
      status.textContent = `Done: GetUser of ${user.name}, ${n} calls per protocol, in milliseconds.`;
    } catch (error) {
      const why =
        error instanceof ConnectError
          ? `${Code[error.code]}: ${error.rawMessage}`
          : `${(error as ApiError).code}: ${(error as ApiError).message}`;
      status.textContent = `Timing stopped (${why}).`;
    } finally {
      button.disabled = false;
    }
  }
}
