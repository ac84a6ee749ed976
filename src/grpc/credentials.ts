import type { Credentials } from '../domain/ports.js';
import type { IncomingCall } from './handlers.js';

/** `ipv4:127.0.0.1:51234`, `[::1]:51234` → the address alone: quotas are per client, not per connection. */
export function addressOf(peer: string): string {
  return peer
    .replace(/^ipv[46]:/, '')
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1');
}

/** A call's credentials: its `authorization` metadata, its peer, and its verified client certificate (mTLS). */
export function credentialsOf(call: IncomingCall): Credentials {
  const [authorization] = call.metadata.get('authorization');
  const subject = call.getAuthContext().sslPeerCertificate?.subject;
  return {
    authorization: typeof authorization === 'string' ? authorization : undefined,
    peer: addressOf(call.getPeer()),
    ...(subject ? { certificateSubject: subject } : {}),
  };
}
