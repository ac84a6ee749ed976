// Bearer tokens (JWT, with jose): verifying them, caching what verified, and issuing them.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import { isPrincipalRole, type Principal, type PrincipalRole } from '../domain/access.js';
import { DomainError, ErrorCode } from '../domain/errors.js';
import type { TokenKey } from './keys.js';

export interface TokenRules {
  /** Accepted `iss`; empty: any. */
  issuer: string;
  /** Accepted `aud`; empty: any. */
  audience: string;
}

export function unauthenticated(reason: string): DomainError {
  return new DomainError(ErrorCode.UNAUTHENTICATED, reason);
}

/** jose's failures, in words a client can act on (never the token itself). */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return 'the token is not valid yet';
    if (error.claim === 'iss') return 'the token was issued by an issuer this server does not accept';
    if (error.claim === 'aud') return 'the token is meant for another audience';
    return `the token's ${error.claim} claim is not acceptable`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return "the token's algorithm is not accepted";
  }
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the identity provider matches the token';
  return 'the token is malformed';
}

/** The public key's algorithm: RS256 for RSA, ES256 for P-256, EdDSA for Ed25519. */
function algorithmOf(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  throw new Error(`--jwt-public-key-file: a ${key.asymmetricKeyType} key; use RSA, EC P-256 or Ed25519`);
}

type Verify = (token: string) => Promise<Principal & { expiresAt: number }>;

/** Verifies a token's signature and claims (`sub`, `exp`, `role` required; `alg: none` never accepted). */
export function tokenVerifier(key: TokenKey, rules: TokenRules): Verify {
  let verifyKey: Uint8Array | KeyObject | JWTVerifyGetKey;
  let algorithms: string[];
  if (key.kind === 'secret') [verifyKey, algorithms] = [key.secret, ['HS256']];
  else if (key.kind === 'public-key') {
    const publicKey = createPublicKey(key.pem);
    [verifyKey, algorithms] = [publicKey, [algorithmOf(publicKey)]];
  } else [verifyKey, algorithms] = [createRemoteJWKSet(new URL(key.url)), ['RS256', 'ES256', 'EdDSA']];
  const options = {
    algorithms,
    requiredClaims: ['sub', 'exp'],
    ...(rules.issuer ? { issuer: rules.issuer } : {}),
    ...(rules.audience ? { audience: rules.audience } : {}),
  };
  return async (token) => {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, verifyKey as Uint8Array, options));
    } catch (error) {
      throw unauthenticated(reasonOf(error));
    }
    if (!isPrincipalRole(payload.role)) throw unauthenticated('the token has no role claim of admin or user');
    return { subject: payload.sub!, role: payload.role, expiresAt: payload.exp! * 1000 };
  };
}

/** Verified tokens kept at most. */
const CACHE_SIZE = 10_000;

/**
 * Verifies tokens once: a token that verified is kept (at most CACHE_SIZE, the oldest verified going
 * first) until it expires, so a client that sends the same token on every call pays for the
 * signature check once. A hit is a lookup and a clock read, nothing more: keeping the cache in
 * order of use cost a delete and a re-insert on every call, to save one re-verification of a token
 * still in use when 10,000 others were verified after it. Failures are not kept.
 */
export function cachedVerifier(verify: Verify, now = () => Date.now()): CachedVerifier {
  const cache = new Map<string, Principal & { expiresAt: number }>();
  const known = (token: string) => {
    const hit = cache.get(token);
    if (!hit) return undefined;
    if (hit.expiresAt > now()) return hit;
    cache.delete(token);
    return undefined;
  };
  const verifyCached = ((token: string) =>
    known(token) ??
    verify(token).then((principal) => {
      cache.set(token, principal);
      if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
      return principal;
    })) as CachedVerifier;
  verifyCached.known = known;
  return verifyCached;
}

/** Verifies a token, or finds it verified already. */
export interface CachedVerifier {
  (token: string): Principal | Promise<Principal>;
  /** The principal of `token` if it verified before and has not expired; otherwise undefined (nothing is verified). */
  known(token: string): Principal | undefined;
}

export interface IssueOptions {
  role: PrincipalRole;
  subject: string;
  /** A jose time span: `15m`, `1h`, `7d`. */
  ttl: string;
  issuer: string;
  audience: string;
}

/** A token signed with the shared secret (HS256): what `twinapi token` prints. */
export async function issueToken(key: TokenKey, options: IssueOptions): Promise<string> {
  if (key.kind !== 'secret') {
    throw new Error(
      'this server verifies tokens with a public key: get tokens from the identity provider that holds its private key',
    );
  }
  if (!/^\d+\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w|week|weeks)$/.test(options.ttl)) {
    throw new Error(`--ttl ${options.ttl}: a span like 15m, 1h or 7d`);
  }
  const jwt = new SignJWT({ role: options.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.subject)
    .setIssuedAt()
    .setExpirationTime(options.ttl);
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(key.secret);
}
