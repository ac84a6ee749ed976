import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adminFetch } from './support/tokens.js';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { checkAccess } from '../src/app/access.js';
import { CONFIG_ENV_NAMES, describeSettings, loadConfig, SETTING_LIST } from '../src/app/config.js';
import { MAX_REPORTED_VIOLATIONS } from '../src/domain/errors.js';
import { PAGE_SIZE } from '../src/domain/pagination.js';
import { LIMITS } from '../src/domain/user.js';
import { markdownTable } from './support/readme.js';
import { USER_SERVICE_NAME } from '../src/grpc/definition.js';
import { startStack } from './support/stack.js';
import { tempDir } from './support/helpers.js';

// deploy/ cannot run here (no Docker, Kubernetes or Envoy): these checks keep it true to the real
// server — its flags, environment variables, ports, health endpoints and build — and well-formed.

const root = new URL('..', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const defaults = loadConfig({}, {});
const packageJson = JSON.parse(read('package.json')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  bin: Record<string, string>;
};

/** Whether an `engines` range of `^M.m.p` and `>=M.m.p` alternatives admits some release of Node `major`. */
function semverSatisfiesMajor(range: string, major: number): boolean {
  return range.split('||').some((alternative) => {
    const [, operator, least] = /^\s*(\^|>=)(\d+)\./.exec(alternative) ?? [];
    return operator === '^' ? Number(least) === major : operator === '>=' && major >= Number(least);
  });
}

/** Dockerfile instructions as [keyword, arguments], continuation lines joined, comments dropped. */
function dockerInstructions(text: string): [string, string][] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return [keyword!.toUpperCase(), rest.join(' ')];
    });
}

const KNOWN_INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  lifecycle: { preStop: { exec: { command: string[] } } };
}
interface Probe {
  httpGet: { path: string; port: string };
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: {
    clusterIP?: string;
    ports?: { name: string; port: number; targetPort: string }[];
    template?: {
      metadata: { annotations?: Record<string, string> };
      spec: { terminationGracePeriodSeconds: number; containers: Container[] };
    };
  };
}

function manifests(): Manifest[] {
  const documents = parseAllDocuments(read('deploy/k8s/twinapi.yaml'));
  for (const document of documents) assert.deepEqual(document.errors, [], 'valid YAML');
  return documents.map((d) => d.toJS() as Manifest);
}

describe('deploy/', () => {
  it('Dockerfile: builds with the npm scripts, copies files that exist, exposes the default ports and runs serve', () => {
    const instructions = dockerInstructions(read('deploy/Dockerfile'));
    for (const [keyword] of instructions) assert.ok(KNOWN_INSTRUCTIONS.has(keyword), `unknown instruction ${keyword}`);
    assert.equal(instructions[0]![0], 'FROM');
    const images = instructions.filter(([k]) => k === 'FROM').map(([, a]) => a.split(/\s+/)[0]);
    assert.equal(images.length, 2, 'a build stage and a slim runtime stage');
    // The image runs the primary runtime: the Node major CI tests on besides the machine's.
    const primary = /scripts\/with-node (\d+) npm test/.exec(read('.ci/run'))?.[1];
    assert.ok(primary, '.ci/run tests on the primary Node major');
    assert.deepEqual(images, [`node:${primary}-bookworm-slim`, `node:${primary}-bookworm-slim`]);
    assert.ok(
      semverSatisfiesMajor(packageJson.engines.node, Number(primary)),
      `engines (${packageJson.engines.node}) admits Node ${primary}`,
    );
    const args = (keyword: string) => instructions.filter(([k]) => k === keyword).map(([, a]) => a);

    for (const copy of args('COPY').filter((a) => !a.startsWith('--from'))) {
      for (const source of copy.split(/\s+/).slice(0, -1))
        assert.ok(existsSync(join(root, source)), `COPY ${source}: no such file in the repository`);
    }
    for (const run of args('RUN')) {
      for (const [, script] of run.matchAll(/npm run (\S+)/g))
        assert.ok(packageJson.scripts[script!], `RUN npm run ${script}: no such script`);
    }
    assert.deepEqual(
      args('EXPOSE')
        .flatMap((a) => a.split(/\s+/).map(Number))
        .sort(),
      [defaults.grpcPort, defaults.restPort, defaults.metricsPort].sort(),
    );
    for (const env of args('ENV')) {
      for (const [, name] of env.matchAll(/(\w+)=/g))
        assert.ok(name === 'NODE_ENV' || CONFIG_ENV_NAMES.includes(name!), `ENV ${name} is no setting of twinapi`);
    }
    const command = [
      ...(JSON.parse(args('ENTRYPOINT').at(-1)!) as string[]),
      ...(JSON.parse(args('CMD').at(-1)!) as string[]),
    ];
    assert.deepEqual(command, ['node', packageJson.bin.twinapi, 'serve']);
    assert.notEqual(args('USER').at(-1), 'root');
    assert.equal(args('VOLUME').at(-1), join('/app', defaults.db, '..'), 'the volume holds the default SQLite file');
  });

  it('Kubernetes: container ports, probes, settings and services match the server', async () => {
    const all = manifests();
    const deployment = all.find((m) => m.kind === 'Deployment')!;
    const pod = deployment.spec.template!.spec;
    const container = pod.containers[0]!;
    assert.deepEqual(container.args, ['serve']);
    const ports: Record<string, number> = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
    assert.deepEqual({ ...ports }, { grpc: defaults.grpcPort, http: defaults.restPort, metrics: defaults.metricsPort });
    assert.deepEqual(
      deployment.spec.template!.metadata.annotations,
      {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(defaults.metricsPort),
        'prometheus.io/path': '/metrics',
      },
      'Prometheus finds each pod’s metrics port',
    );

    const names = container.env.map((e) => e.name);
    for (const name of names) assert.ok(CONFIG_ENV_NAMES.includes(name), `env ${name} is no setting of twinapi`);
    const fromSecrets: Record<string, string> = {
      DATABASE_URL: 'postgres://twinapi@db.example:5432/twinapi',
      TWINAPI_JWT_SECRET: 's'.repeat(40),
    };
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? fromSecrets[e.name]!]));
    const config = loadConfig({}, env);
    assert.match(config.db, /^postgres:\/\//, 'replicas share PostgreSQL');
    const secrets = Object.fromEntries(
      container.env.filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom!.secretKeyRef.name]),
    );
    assert.deepEqual(
      secrets,
      { DATABASE_URL: 'twinapi-db', TWINAPI_JWT_SECRET: 'twinapi-auth' },
      'secrets come from Secrets',
    );
    assert.equal(config.auth, 'jwt');
    assert.doesNotThrow(() => checkAccess(config), 'replicas on PostgreSQL share a configured key');
    const preStopS = Number(container.lifecycle.preStop.exec.command[1]);
    assert.ok(
      config.shutdownTimeoutMs / 1000 + preStopS < pod.terminationGracePeriodSeconds,
      'Kubernetes waits for the drain before SIGKILL',
    );

    const stack = await startStack();
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      assert.equal(probe.httpGet.port, 'http');
      assert.equal(
        (await adminFetch(`${stack.baseUrl}${probe.httpGet.path}`)).status,
        200,
        `${probe.httpGet.path} answers on the REST port`,
      );
    }
    await stack.close();

    const services = all.filter((m) => m.kind === 'Service');
    assert.deepEqual(services.map((s) => s.metadata.name).sort(), ['twinapi', 'twinapi-pods']);
    for (const service of services) {
      assert.ok(
        !service.spec.ports!.some((p) => p.targetPort === 'metrics'),
        `${service.metadata.name}: metrics are never exposed with the API`,
      );
      for (const port of service.spec.ports!)
        assert.equal(
          port.port,
          ports[port.targetPort],
          `${service.metadata.name}: ${port.name} goes to the container's ${port.targetPort} port`,
        );
    }
    assert.equal(
      services.find((s) => s.metadata.name === 'twinapi-pods')!.spec.clusterIP,
      'None',
      'headless: resolves to every pod',
    );
  });

  it("Envoy: gRPC to every instance's gRPC port, per call; Connect, gRPC-Web and everything else to REST", () => {
    interface Cluster {
      name: string;
      typed_extension_protocol_options?: Record<string, { explicit_http_config?: { http2_protocol_options?: object } }>;
      health_checks: { grpc_health_check?: { service_name: string }; http_health_check?: { path: string } }[];
      load_assignment: {
        endpoints: {
          lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[];
        }[];
      };
    }
    interface Route {
      match: {
        prefix?: string;
        path?: string;
        headers?: { name: string; string_match: { safe_regex: { regex: string } } }[];
      };
      route: { cluster: string };
    }
    const envoy = parse(read('deploy/envoy.yaml')) as {
      static_resources: {
        listeners: {
          filter_chains: {
            filters: {
              typed_config: {
                http_filters: { name: string; typed_config: Record<string, string> }[];
                route_config: { virtual_hosts: { routes: Route[] }[] };
              };
            }[];
          }[];
        }[];
        clusters: Cluster[];
      };
    };
    const manager = envoy.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config;
    const filters = manager.http_filters.map((f) => f.name);
    assert.ok(!filters.includes('envoy.filters.http.grpc_web'), 'gRPC-Web is served by twinapi itself, not translated');
    assert.equal(filters.at(-1), 'envoy.filters.http.router', 'the router comes last');
    for (const filter of manager.http_filters)
      assert.match(filter.typed_config['@type']!, /^type\.googleapis\.com\/envoy\.extensions\.filters\.http\./);

    const clusters = new Map(envoy.static_resources.clusters.map((c) => [c.name, c]));
    const upstream = (cluster: Cluster) =>
      cluster.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address;
    const routes = manager.route_config.virtual_hosts[0]!.routes;
    for (const route of routes)
      assert.ok(clusters.has(route.route.cluster), `route to unknown cluster ${route.route.cluster}`);

    const [grpcRoute, rpcRoute] = routes.filter((r) => r.match.prefix === `/${USER_SERVICE_NAME}/`);
    const grpcType = new RegExp(grpcRoute!.match.headers![0]!.string_match.safe_regex.regex);
    for (const type of ['application/grpc', 'application/grpc+proto']) assert.match(type, grpcType);
    for (const type of [
      'application/grpc-web+proto',
      'application/json',
      'application/proto',
      'application/connect+json',
    ])
      assert.doesNotMatch(type, grpcType, `${type} goes to the REST port, which serves Connect and gRPC-Web`);
    const grpc = clusters.get(grpcRoute!.route.cluster)!;
    assert.equal(clusters.get(rpcRoute!.route.cluster), clusters.get(routes.at(-1)!.route.cluster));
    assert.equal(upstream(grpc).port_value, defaults.grpcPort);
    assert.ok(
      Object.values(grpc.typed_extension_protocol_options ?? {}).some(
        (o) => o.explicit_http_config?.http2_protocol_options,
      ),
      'gRPC needs HTTP/2 upstream',
    );
    assert.equal(grpc.health_checks[0]!.grpc_health_check!.service_name, USER_SERVICE_NAME);

    const rest = clusters.get(routes.at(-1)!.route.cluster)!;
    assert.equal(routes.at(-1)!.match.prefix, '/', 'everything else goes to REST');
    assert.equal(upstream(rest).port_value, defaults.restPort);
    assert.equal(rest.health_checks[0]!.http_health_check!.path, '/readyz');

    const headless = manifests().find((m) => m.kind === 'Service' && m.spec.clusterIP === 'None')!;
    for (const cluster of clusters.values())
      assert.equal(upstream(cluster).address, headless.metadata.name, 'every pod, through the headless Service');
  });
});

describe('deploy/prometheus and deploy/grafana', async () => {
  const { metricsUrl } = await startStack({}, { metrics: true });
  const exposition = await (await fetch(metricsUrl)).text();
  /** Every series name the server can serve (a histogram's three), from the scrape's TYPE lines. */
  const served = new Set(
    [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
      type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
    ),
  );
  const metricsIn = (expr: string) => [
    ...new Set(
      [...expr.matchAll(/\b(?:http_server|rpc_server|db_client|twinapi|nodejs|process)_[a-z0-9_]+/g)].map(([m]) => m),
    ),
  ];
  const promtool = (...args: string[]) =>
    spawnSync('promtool', args, { cwd: join(root, 'deploy/prometheus'), encoding: 'utf8' });

  it('alerts: promtool checks the rules and runs their unit tests; every metric they use is served', () => {
    const check = promtool('check', 'rules', 'alerts.yml');
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const tests = promtool('test', 'rules', 'alerts.test.yml');
    assert.equal(tests.status, 0, tests.stdout + tests.stderr);
    const rules = (
      parse(read('deploy/prometheus/alerts.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] }
    ).groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 7);
    for (const rule of rules)
      for (const metric of metricsIn(rule.expr))
        assert.ok(served.has(metric), `${rule.alert}: ${metric} is not served`);
    assert.deepEqual(
      markdownTable('Dashboards and alerts', 'alert').map((row) => row.alert!.replaceAll('`', '')),
      rules.map((rule) => rule.alert),
      "the README's alert table lists every alert, in order",
    );
    const tested = read('deploy/prometheus/alerts.test.yml');
    for (const rule of rules)
      assert.match(tested, new RegExp(`alertname: ${rule.alert}\\b`), `${rule.alert} has a test`);
  });

  it('dashboard: every query is valid PromQL (promtool) on metrics the server serves', () => {
    const dashboard = JSON.parse(read('deploy/grafana/twinapi.json')) as {
      uid: string;
      panels: { title: string; type: string; targets?: { expr: string }[] }[];
    };
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    assert.ok(queries.length >= 15);
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const needed of ['p50, p90, p99', 'Open watch streams', 'Change feed', 'Connection pool', 'Event-loop delay'])
      assert.ok(titles.includes(needed), `a panel for ${needed}`);
    for (const { panel, expr } of queries)
      for (const metric of metricsIn(expr)) assert.ok(served.has(metric), `${panel}: ${metric} is not served`);
    // Grafana's variables as Prometheus would see them, each query as a recording rule for promtool to parse.
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: queries.map(({ expr }, i) => ({
            record: `dashboard:query_${i}`,
            expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*'),
          })),
        },
      ],
    };
    const file = join(tempDir(), 'dashboard-rules.yml');
    writeFileSync(file, stringify(rules));
    const check = promtool('check', 'rules', file);
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });
});

describe('README', () => {
  it('lists every setting, exactly: flag, environment variables and default as the code has them', () => {
    const rows = markdownTable('Configuration', 'flag');
    assert.deepEqual(
      rows.map((r) => [r.flag, r.environment, r.default]),
      SETTING_LIST.map((s) => [`\`--${s.flag}\``, s.env.map((e) => `\`${e}\``).join(', '), `\`${s.default}\``]),
    );
    assert.match(describeSettings(), /--rest-port\s+REST_PORT\s+default 3000/, '--help prints the same list');
  });

  it('lists every limit with its value as the code has it', () => {
    const limits: Record<string, number> = {
      ...LIMITS,
      pageSizeMax: PAGE_SIZE.max,
      reportedViolations: MAX_REPORTED_VIOLATIONS,
    };
    const rows = markdownTable('Limits and timeouts', 'limit');
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.limit!.replace(/`/g, ''), Number(r.value)])), limits);
  });
});

describe('settings that are refused', () => {
  it('a bookmark interval other than 0 (none) or 100 ms to a day, naming the flag', () => {
    for (const value of ['-1', '99', '86400001', 'soon']) {
      assert.throws(() => loadConfig({ 'bookmark-interval-ms': value }, {}), /--bookmark-interval-ms/, value);
    }
    for (const value of ['0', '100', '86400000']) {
      assert.equal(loadConfig({ 'bookmark-interval-ms': value }, {}).bookmarkIntervalMs, Number(value));
    }
  });
});
