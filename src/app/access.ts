// The access gate of a running app, from the configuration: authentication, rate limits, load shedding.
import { readFileSync } from 'node:fs';
import { accessGate } from '../access/gate.js';
import { resolveTokenKey } from '../access/keys.js';
import { rateLimiter } from '../access/rate-limit.js';
import { cachedVerifier, issueToken, tokenVerifier } from '../access/tokens.js';
import { isPrincipalRole } from '../domain/access.js';
import type { AccessGate } from '../domain/ports.js';
import type { Config } from './config.js';
import { eventLoopLoadShedder } from './load-shedder.js';
import type { Logger } from './logger.js';

export interface Access {
  gate: AccessGate;
  close(): Promise<void>;
}

/** Fails, with the one-line reason, when the configuration cannot verify tokens: before anything opens. */
export function checkAccess(config: Config): void {
  if (config.auth === 'jwt') tokenKeyOf(config);
}

/** The key tokens are verified (and, for a secret, signed) with. */
const tokenKeyOf = (config: Config) =>
  resolveTokenKey({
    db: config.db,
    jwtSecret: config.jwtSecret,
    jwtPublicKeyFile: config.jwtPublicKeyFile,
    jwksUrl: config.jwtJwksUrl,
  });

/** The gate every call of every protocol goes through; refuses to build (one-line reason) when it cannot verify tokens. */
export function openAccess(config: Config, logger: Logger): Access {
  const loadShedder = config.maxEventLoopDelayMs > 0 ? eventLoopLoadShedder(config.maxEventLoopDelayMs) : undefined;
  const limiter = rateLimiter({
    rps: config.rateLimitRps,
    burst: config.rateLimitBurst,
    redisUrl: config.redisUrl,
    onWarning: (message, error) => logger.warn({ err: error }, message),
  });
  let verify;
  if (config.auth === 'none') {
    logger.warn(
      '--auth none: every caller is an admin; anyone who reaches the ports can read, change and delete every user',
    );
  } else {
    const key = tokenKeyOf(config);
    if (key.kind === 'secret' && key.source === 'file') {
      logger.info(
        { file: key.file },
        'tokens are signed with the secret in this file: `twinapi token --role admin` prints one',
      );
    }
    if (key.kind === 'secret' && key.source === 'memory') {
      logger.warn('an in-memory database: tokens are signed with a secret that ends with this process');
    }
    verify = cachedVerifier(tokenVerifier(key, { issuer: config.jwtIssuer, audience: config.jwtAudience }));
  }
  return {
    gate: accessGate({ auth: config.auth, verify, rateLimiter: limiter, loadShedder }),
    async close() {
      loadShedder?.stop();
      await limiter?.close();
    },
  };
}

/** The TLS files, read once: both ports serve TLS with them, and require client certificates with a CA. */
export function tlsFiles(config: Config): { cert: Buffer; key: Buffer; clientCa?: Buffer } | undefined {
  if (config.tlsCert === '') return undefined;
  return {
    cert: readFileSync(config.tlsCert),
    key: readFileSync(config.tlsKey),
    ...(config.tlsClientCa ? { clientCa: readFileSync(config.tlsClientCa) } : {}),
  };
}

/** A token for `twinapi token`: signed with the key `serve` would verify with (same flags, environment and file). */
export async function tokenFor(
  config: Config,
  request: { role: string | undefined; subject: string | undefined; ttl: string | undefined },
): Promise<string> {
  if (config.auth === 'none') throw new Error('--auth none: the server takes no tokens');
  if (!isPrincipalRole(request.role)) throw new Error('--role must be admin or user');
  if (request.role === 'user' && !request.subject) throw new Error('a user token acts as one user: --sub <user id>');
  return issueToken(tokenKeyOf(config), {
    role: request.role,
    subject: request.subject ?? 'admin',
    ttl: request.ttl ?? '1h',
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
  });
}
