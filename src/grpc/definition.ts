import type { ServiceDefinition } from '@grpc/grpc-js';
import type { Writer } from 'protobufjs/minimal.js';
import { UserServiceDefinition } from '../gen/users/v1/users.js';
import { asBuffer } from '../contract/wire.js';
import { DomainError, ErrorCode } from '../domain/errors.js';

/** What ts-proto generates for each message: a static, reflection-free codec. */
interface MessageCodec<T> {
  encode(message: T, writer?: Writer): Writer;
  decode(input: Uint8Array): T;
}

interface GenericMethod {
  name: string;
  requestType: MessageCodec<unknown>;
  requestStream: boolean;
  responseType: MessageCodec<unknown>;
  responseStream: boolean;
}

/**
 * A request whose bytes did not decode as its message type (truncated, a bad wire type, an int64
 * beyond 2^53). grpc-js would answer a throwing deserializer with INTERNAL; the client sent bad
 * input, so handlers answer INVALID_ARGUMENT with `toError()`.
 */
export class MalformedMessage {
  constructor(
    readonly method: string,
    readonly reason: string,
  ) {}

  toError(): DomainError {
    return new DomainError(ErrorCode.INVALID_ARGUMENT, `not a valid ${this.method} request message: ${this.reason}`);
  }
}

/** Decodes `bytes`, or says why not. */
function decodeOrMalformed(codec: MessageCodec<unknown>, method: string, bytes: Buffer): unknown {
  try {
    return codec.decode(bytes);
  } catch (error) {
    return new MalformedMessage(method, error instanceof Error ? error.message : String(error));
  }
}

/** Bytes of messages that many calls send (one change event to every watcher); undefined until first sent. */
const sharedBytes = new WeakMap<object, Buffer | undefined>();

/** Whether `message` was marked by sentByMany. */
export const isSentByMany = (message: unknown): boolean =>
  typeof message === 'object' && message !== null && sharedBytes.has(message);

/** Marks `message` as one that many calls send unchanged: it is encoded at its first send and the bytes reused. */
export function sentByMany<T extends object>(message: T): T {
  sharedBytes.set(message, undefined);
  return message;
}

/** Encodes a response, once for a message sent by many calls. */
function encodeResponse(codec: MessageCodec<unknown>, message: unknown): Buffer {
  const cached = sharedBytes.get(message as object);
  if (cached) return cached;
  const bytes = asBuffer(codec.encode(message).finish());
  if (sharedBytes.has(message as object)) sharedBytes.set(message as object, bytes);
  return bytes;
}

/**
 * Turns a ts-proto generic service definition into the grpc-js one: the
 * generated static codecs do the (de)serialization, so no proto-loader
 * reflection runs per message.
 */
export function toGrpcDefinition(service: {
  fullName: string;
  methods: Record<string, GenericMethod>;
}): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(service.methods).map(([key, m]) => [
      key,
      {
        path: `/${service.fullName}/${m.name}`,
        originalName: key,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestSerialize: (message: unknown) => asBuffer(m.requestType.encode(message).finish()),
        requestDeserialize: (bytes: Buffer): unknown =>
          decodeOrMalformed(m.requestType, `${service.fullName}/${m.name}`, bytes),
        responseSerialize: (message: unknown) => encodeResponse(m.responseType, message),
        responseDeserialize: (bytes: Buffer): unknown => m.responseType.decode(bytes),
      },
    ]),
  );
}

export const userServiceDefinition = toGrpcDefinition(UserServiceDefinition);
export const USER_SERVICE_NAME = UserServiceDefinition.fullName;
