// What this run's numbers say of the seed's claims about GraphQL and tRPC, and the advice that follows.
// Only what a number can speak to: reply sizes, server CPU and request rates of the same calls on the
// same server; type safety itself is a compile-time property no load run measures.
import type { BenchResults } from '../results.js';
import { ratio } from '../stats.js';
import { type Finding, unaryAt } from './lookup.js';
import { cpuPerCall, f, n0 } from './format.js';

const x = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');

/** The measurements both claims compare, at the top concurrency. */
function calls(results: BenchResults) {
  const at = (id: string) => unaryAt(results, `ours-${id}`);
  return {
    rest: at('rest-h1-get'),
    restSlim: at('rest-h1-get-slim'),
    graphql: at('graphql-get'),
    graphqlSlim: at('graphql-get-slim'),
    graphqlList: at('graphql-list'),
    restList: at('rest-h1-list'),
    trpc: at('trpc-get'),
    trpcList: at('trpc-list'),
    // The frameworks alone, each answering a constant user: what the call costs before any of ours.
    bareFastify: unaryAt(results, 'bare-fastify-get'),
    bareTrpc: unaryAt(results, 'bare-trpc-get'),
    bareMercurius: unaryAt(results, 'bare-mercurius-get'),
  };
}

/** "the framework alone, answering a constant, costs X µs a call (bare Fastify Y µs)", when both were measured. */
function frameworkAlone(name: string, bare: Measured | undefined, fastify: Measured | undefined): string {
  if (!bare || !fastify) return '';
  return `; ${name} alone, answering a constant user, costs ${us(bare)} a call (bare Fastify ${us(fastify)})`;
}

type Measured = Parameters<typeof cpuPerCall>[0];

const us = (m: Measured) => `${f(cpuPerCall(m), 0)} µs`;

/** GraphQL: a client asks for exactly the fields it needs (no over-fetching), paying for the query language per call. */
export function graphqlClaim(results: BenchResults): Finding {
  const claim = 'GraphQL ends over-fetching: a client asks for exactly the fields it needs, at little cost';
  const { rest, restSlim, graphql, graphqlSlim, bareMercurius, bareFastify } = calls(results);
  if (!rest || !graphql || !graphqlSlim?.replyBytes || !graphql.replyBytes)
    return { claim, measured: '—', verdict: 'not measured' };
  const smaller = ratio(graphql.replyBytes, graphqlSlim.replyBytes);
  const cost = ratio(cpuPerCall(graphql) ?? Number.NaN, cpuPerCall(rest) ?? Number.NaN);
  const slimRest = restSlim?.replyBytes
    ? `; REST's ?fields=id,name sends ${n0(restSlim.replyBytes)} bytes, so the saving is not GraphQL's alone`
    : '';
  return {
    claim,
    measured:
      `GetUser, every field: GraphQL ${n0(graphql.replyBytes)} bytes vs id and name only ${n0(graphqlSlim.replyBytes)} ` +
      `(${x(smaller)} smaller)${slimRest}; server CPU per GetUser GraphQL ${us(graphql)} vs REST ${us(rest)} ` +
      `(${x(cost)}), ${n0(graphql.rps.median)} vs ${n0(rest.rps.median)} req/s` +
      frameworkAlone('Mercurius', bareMercurius, bareFastify),
    // The saving is real; "at little cost" holds only if a GraphQL call costs the server at most a quarter more.
    verdict: smaller > 1.2 && cost <= 1.25 ? 'holds' : smaller > 1.2 ? 'partly' : 'does not hold',
  };
}

/** tRPC: end-to-end types with no schema step and next to no runtime cost; TypeScript clients only. */
export function trpcClaim(results: BenchResults): Finding {
  const claim = 'tRPC gives end-to-end type safety at no runtime cost, but only to TypeScript clients';
  const { rest, trpc, bareTrpc, bareFastify } = calls(results);
  if (!rest || !trpc) return { claim, measured: '—', verdict: 'not measured' };
  const cost = ratio(cpuPerCall(trpc) ?? Number.NaN, cpuPerCall(rest) ?? Number.NaN);
  return {
    claim,
    measured:
      `GetUser: tRPC ${n0(trpc.rps.median)} vs REST ${n0(rest.rps.median)} req/s, server CPU ${us(trpc)} vs ` +
      `${us(rest)} per call (${x(cost)})${frameworkAlone('tRPC (its own Fastify adapter)', bareTrpc, bareFastify)}; ` +
      `reply ${n0(trpc.replyBytes ?? 0)} vs ${n0(rest.replyBytes ?? 0)} bytes. ` +
      `Its wire is plain JSON over HTTP (the lab loads it with h2load, the tests call it with curl): any language ` +
      `can call it; only the types are TypeScript's`,
    verdict: cost <= 1.1 ? 'partly' : 'does not hold',
  };
}

/** ", its subscription delivered N events/s to S subscribers (REST's SSE M)", when both fan-outs were measured. */
function fanOutOf(results: BenchResults, protocol: 'graphql-sse' | 'trpc-sse'): string {
  const fanOut = results.streaming?.fanOut;
  const own = fanOut?.find((m) => m.protocol === protocol);
  const sse = fanOut?.find((m) => m.protocol === 'sse');
  if (!own || !sse) return '';
  return (
    `; its subscription delivered ${n0(own.deliveredPerSecond)} events/s to ${own.subscribers} subscribers ` +
    `(p99 ${own.latencyMs.p99} ms) against REST's SSE ${n0(sse.deliveredPerSecond)} (p99 ${sse.latencyMs.p99} ms)`
  );
}

/** Advice on GraphQL and tRPC, from the same numbers. */
export function apiStyleAdvice(results: BenchResults): string[] {
  const { rest, graphql, graphqlSlim, graphqlList, restList, trpc, trpcList, bareTrpc } = calls(results);
  const advice: string[] = [];
  if (rest && graphql) {
    const list =
      graphqlList && restList
        ? `; a 100-user page ${n0(graphqlList.rps.median)} vs ${n0(restList.rps.median)} req/s ` +
          `(${x(ratio(graphqlList.rps.median, restList.rps.median))})`
        : '';
    advice.push(
      `GraphQL: GetUser ${n0(graphql.rps.median)} req/s vs REST's ${n0(rest.rps.median)} ` +
        `(${x(ratio(graphql.rps.median, rest.rps.median))}), ${us(graphql)} of server CPU per call vs ${us(rest)}${list}` +
        `${fanOutOf(results, 'graphql-sse')}. ` +
        (graphqlSlim?.replyBytes && graphql.replyBytes
          ? `Asking for two fields cut the reply from ${n0(graphql.replyBytes)} to ${n0(graphqlSlim.replyBytes)} bytes. `
          : '') +
        'Choose it when many clients need different shapes of the same data (one query instead of several round ' +
        'trips); with depth and complexity limits on, as here. For one client and fixed shapes, REST with ?fields= ' +
        'gives the same saving for less CPU.',
    );
  }
  if (rest && trpc) {
    const list =
      trpcList && restList ? `; a 100-user page ${x(ratio(trpcList.rps.median, restList.rps.median))} of REST's` : '';
    advice.push(
      `tRPC: GetUser ${n0(trpc.rps.median)} req/s vs REST's ${n0(rest.rps.median)} ` +
        `(${x(ratio(trpc.rps.median, rest.rps.median))})${list}${fanOutOf(results, 'trpc-sse')}` +
        (bareTrpc
          ? `; tRPC's own Fastify adapter answering a constant costs ${us(bareTrpc)} a call, so most of it is tRPC's. `
          : '. ') +
        'Choose it when the server and every client are TypeScript in one repository: the router is the contract, ' +
        'checked by the compiler. For other languages, public APIs or a versioned contract, REST (OpenAPI) or gRPC ' +
        '(.proto) say more than a TypeScript type.',
    );
  }
  return advice;
}
