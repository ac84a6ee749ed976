// Where the key that verifies tokens comes from, resolved the same way by `serve` and `token`.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KeySettings {
  /** The SQLite file or PostgreSQL URL: a SQLite database keeps a generated secret beside it. */
  db: string;
  jwtSecret: string;
  jwtPublicKeyFile: string;
  jwksUrl: string;
}

/** How tokens are verified: a shared secret (HS256), a public key file, or an identity provider's JWKS. */
export type TokenKey =
  | { kind: 'secret'; secret: Uint8Array; source: 'setting' | 'file' | 'memory'; file?: string }
  | { kind: 'public-key'; pem: string; file: string }
  | { kind: 'jwks'; url: string };

/** The file beside a SQLite database that holds its generated token secret. */
export const secretFileFor = (db: string): string => `${db}.jwt-secret`;

const isPostgres = (db: string) => /^postgres(ql)?:\/\//.test(db);

/**
 * The configured key; without one, on SQLite, a random secret made once and kept in a file beside the
 * database (mode 0600), so tokens survive restarts. On PostgreSQL several instances must agree on the
 * key, so one must be configured: this throws, with a one-line reason, rather than make one up.
 */
export function resolveTokenKey(settings: KeySettings): TokenKey {
  const configured = [settings.jwtSecret, settings.jwtPublicKeyFile, settings.jwksUrl].filter((v) => v !== '');
  if (configured.length > 1) {
    throw new Error('set one of --jwt-secret, --jwt-public-key-file and --jwt-jwks-url, not several');
  }
  if (settings.jwtSecret !== '') {
    if (settings.jwtSecret.length < 32) throw new Error('--jwt-secret must be at least 32 characters (HS256)');
    return { kind: 'secret', secret: new TextEncoder().encode(settings.jwtSecret), source: 'setting' };
  }
  if (settings.jwtPublicKeyFile !== '') {
    return {
      kind: 'public-key',
      pem: readFileSync(settings.jwtPublicKeyFile, 'utf8'),
      file: settings.jwtPublicKeyFile,
    };
  }
  if (settings.jwksUrl !== '') return { kind: 'jwks', url: settings.jwksUrl };
  if (isPostgres(settings.db)) {
    throw new Error(
      '--auth jwt on PostgreSQL needs --jwt-secret (TWINAPI_JWT_SECRET), --jwt-public-key-file or --jwt-jwks-url: ' +
        'every instance must verify with the same key',
    );
  }
  if (settings.db === ':memory:') return { kind: 'secret', secret: randomBytes(32), source: 'memory' };
  const file = secretFileFor(settings.db);
  return { kind: 'secret', secret: readOrCreateSecret(file), source: 'file', file };
}

/** Reads the secret in `file`, creating it (0600, 32 random bytes) if it does not exist yet. */
function readOrCreateSecret(file: string): Uint8Array {
  mkdirSync(dirname(file), { recursive: true });
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32).toString('base64url'));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // Another process may have created it with looser rights: the secret is only for this user.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${file} holds no usable secret: remove it to make a new one`);
  return new TextEncoder().encode(secret);
}
