// A request message that does not decode as binary protobuf is the client's error, INVALID_ARGUMENT,
// as gRPC (our grpc-js adapter, connect-go) and connect-es's own JSON path say. connect-es 2.1's
// binary parser says INTERNAL instead (its createBinarySerialization raises Code.Internal), and for a
// unary call it does so before any interceptor runs; so does a bad envelope flag. This wraps each of
// ConnectRPC's handlers and restates those errors with ConnectRPC's own encoders; nothing else is touched.
import { Code, ConnectError } from '@connectrpc/connect';
import { encodeEnvelope, type UniversalHandler, type UniversalServerResponse } from '@connectrpc/connect/protocol';
import { codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import { setTrailerStatus, trailerFlag, trailerParse, trailerSerialize } from '@connectrpc/connect/protocol-grpc-web';
import { DomainError, ErrorCode } from '../domain/errors.js';
import { ERROR_TYPE_KEY } from '../contract/errors.js';
import { toConnectError } from './errors.js';

const PARSE_BINARY = 'parse binary: ';
/** An envelope whose flags say "compressed" on a stream that negotiated no compression: bad framing. */
const BAD_ENVELOPE = 'received compressed envelope';

/**
 * ConnectRPC's INTERNAL for the client's bad bytes (a message that does not decode, an envelope with
 * a bad flag) as INVALID_ARGUMENT naming the message type.
 */
export function restatedParseError(error: ConnectError, messageType: string): ConnectError | undefined {
  if (error.code !== Code.Internal) return undefined;
  const message = error.rawMessage;
  if (!message.startsWith(PARSE_BINARY) && !message.startsWith(BAD_ENVELOPE)) return undefined;
  const reason = message.startsWith(PARSE_BINARY) ? message.slice(PARSE_BINARY.length) : message;
  return toConnectError(new DomainError(ErrorCode.INVALID_ARGUMENT, `not a valid ${messageType} message: ${reason}`));
}

export function withClientParseErrors(handler: UniversalHandler): UniversalHandler {
  const messageType = handler.method.input.typeName;
  const wrapped = async (...args: Parameters<UniversalHandler>): Promise<UniversalServerResponse> => {
    const response = await handler(...args);
    const contentType = response.header?.get('content-type') ?? '';
    // Connect unary: the error is the JSON body of a 5xx answer.
    if (response.status === 500 && contentType.startsWith('application/json') && response.body) {
      const bytes = await collect(response.body);
      const restated = restatedParseError(errorFromJsonBytes(bytes, undefined, internal), messageType);
      if (!restated) return { ...response, body: once(bytes) };
      const header = new Headers(response.header);
      header.set(ERROR_TYPE_KEY, ErrorCode.INVALID_ARGUMENT);
      header.delete('content-length');
      return {
        ...response,
        status: codeToHttpStatus(restated.code),
        header,
        body: once(errorToJsonBytes(restated, {})),
      };
    }
    // gRPC-Web: the status is in the trailers frame, the body's last.
    if (contentType.startsWith('application/grpc-web') && response.body) {
      return { ...response, body: restateTrailers(response.body, messageType) };
    }
    return response;
  };
  return Object.assign(wrapped, handler);
}

const internal = new ConnectError('internal error', Code.Internal);

async function* restateTrailers(body: AsyncIterable<Uint8Array>, messageType: string): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    if (chunk[0] !== trailerFlag) {
      yield chunk;
      continue;
    }
    const trailer = trailerParse(chunk.subarray(5));
    const message = decodeURIComponent(trailer.get('grpc-message') ?? '');
    const restated =
      trailer.get('grpc-status') === String(Code.Internal)
        ? restatedParseError(new ConnectError(message, Code.Internal), messageType)
        : undefined;
    if (!restated) {
      yield chunk;
      continue;
    }
    const status = setTrailerStatus(new Headers(), restated);
    status.set(ERROR_TYPE_KEY, ErrorCode.INVALID_ARGUMENT);
    yield encodeEnvelope(trailerFlag, trailerSerialize(status));
  }
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
