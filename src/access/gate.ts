// The access gate: load shedding, then who the caller is, then its rate limit. One for every protocol.
import type { Principal } from '../domain/access.js';
import type { AccessGate, Credentials, LoadShedder } from '../domain/ports.js';
import type { RateLimiter } from './rate-limit.js';
import { unauthenticated } from './tokens.js';

export interface GateSettings {
  /** `none` takes every call as an admin (named by its address); `jwt` requires credentials. */
  auth: 'jwt' | 'none';
  /** Verifies a bearer token (cached): required with `jwt`. */
  verify?: ((token: string) => Principal | Promise<Principal>) & {
    /** A token's principal when it verified before (and is still valid), without verifying. */
    known?(token: string): Principal | undefined;
  };
  rateLimiter?: RateLimiter;
  loadShedder?: LoadShedder;
}

/**
 * The principal of a verified client certificate: its common name (CN) is the subject; an
 * organizational unit (OU) of `admin` makes it an admin, any other a user. None without a CN.
 */
export function certificatePrincipal(subject: NonNullable<Credentials['certificateSubject']>): Principal | undefined {
  const field = (name: string) => {
    const value = subject[name];
    return typeof value === 'string' ? value : value?.[0];
  };
  const commonName = field('CN');
  if (!commonName) return undefined;
  return { subject: commonName, role: field('OU') === 'admin' ? 'admin' : 'user' };
}

export function accessGate(settings: GateSettings): AccessGate {
  const { verify, rateLimiter, loadShedder } = settings;
  if (settings.auth === 'jwt' && !verify) throw new Error('--auth jwt needs a way to verify tokens');
  const limited = (principal: Principal): Principal | Promise<Principal> => {
    const refusal = rateLimiter?.take(principal.subject);
    if (refusal === undefined) return principal;
    if (!(refusal instanceof Promise)) throw refusal;
    return refusal.then((error) => {
      if (error) throw error;
      return principal;
    });
  };
  return {
    admit(credentials) {
      const overloaded = loadShedder?.refusal();
      if (overloaded) throw overloaded;
      if (settings.auth === 'none') return limited({ subject: `peer:${credentials.peer}`, role: 'admin' });
      const { authorization } = credentials;
      // The usual `Bearer <token>` of a token that verified before: it passed bearerOf's check then
      // (a verified token is only base64url and dots), so the check is not run again.
      if (!credentials.accessToken && authorization?.startsWith('Bearer ')) {
        const known = verify!.known?.(authorization.slice(7));
        if (known) return limited(known);
      }
      const token = credentials.accessToken || bearerOf(authorization);
      if (token !== undefined) {
        const principal = verify!(token);
        return principal instanceof Promise ? principal.then(limited) : limited(principal);
      }
      const fromCertificate = credentials.certificateSubject && certificatePrincipal(credentials.certificateSubject);
      if (fromCertificate) return limited(fromCertificate);
      throw unauthenticated('the call carries no credentials: send "Authorization: Bearer <token>"');
    },
  };
}

/** The token of an `Authorization: Bearer <token>` value; undefined without one; UNAUTHENTICATED if malformed. */
export function bearerOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization === '') return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization.trim());
  if (!match) throw unauthenticated('the authorization is not "Bearer <token>"');
  return match[1];
}
