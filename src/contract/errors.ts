// What every RPC protocol says of an error beyond its status, in the same words.

/** The `google.rpc.ErrorInfo.domain` of every error this service raises. */
export const ERROR_DOMAIN = 'twinapi.users.v1';
/** Metadata (gRPC), header (Connect) or trailer (gRPC-Web) carrying the catalogue code. */
export const ERROR_TYPE_KEY = 'error-type';
