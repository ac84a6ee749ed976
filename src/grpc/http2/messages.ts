// gRPC's message framing over HTTP/2 DATA: each message is a flag byte (1 = compressed), a 4-byte
// big-endian length and the bytes. A DATA frame may hold several messages or a part of one.
import { gunzip, inflate } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { GrpcFailure } from './status.js';

export interface RawMessage {
  compressed: boolean;
  bytes: Buffer;
}

const PREFIX_BYTES = 5;

/** Splits request DATA into whole messages; a message longer than the limit is refused by its prefix, unread. */
export class MessageReader {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /** The messages `chunk` completes (often none, or one); throws a RESOURCE_EXHAUSTED GrpcFailure. */
  push(chunk: Buffer): RawMessage[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const messages: RawMessage[] = [];
    while (this.size >= PREFIX_BYTES) {
      if (this.chunks[0]!.length < PREFIX_BYTES) this.merge();
      const head = this.chunks[0]!;
      const length = head.readUInt32BE(1);
      if (length > this.maxBytes) {
        throw new GrpcFailure(
          status.RESOURCE_EXHAUSTED,
          `Received message larger than max (${length} vs. ${this.maxBytes})`,
        );
      }
      const end = PREFIX_BYTES + length;
      if (this.size < end) break;
      // A message inside one chunk is a view of it; one split over several is copied once, when whole.
      const whole = head.length >= end ? head : this.merge();
      messages.push({ compressed: whole[0] === 1, bytes: whole.subarray(PREFIX_BYTES, end) });
      const rest = whole.subarray(end);
      this.chunks = rest.length > 0 ? [rest, ...this.chunks.slice(1)] : this.chunks.slice(1);
      this.size -= end;
    }
    return messages;
  }

  /** Bytes of a message begun but not finished (a request that ends here was cut off). */
  get partial(): boolean {
    return this.size > 0;
  }

  private merge(): Buffer {
    const whole = Buffer.concat(this.chunks, this.size);
    this.chunks = [whole];
    return whole;
  }
}

/** Frames of messages many calls send (definition.ts `sentByMany`: a user version, an event), kept with their bytes. */
const sharedFrames = new WeakMap<Uint8Array, Buffer>();

/** The frame of a message many calls send: made at its first send, then reused. */
export function sharedFrame(bytes: Uint8Array): Buffer {
  let framed = sharedFrames.get(bytes);
  if (!framed) sharedFrames.set(bytes, (framed = frame(bytes)));
  return framed;
}

/** A message's bytes with its prefix: the frame one write sends. */
export function frame(bytes: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + bytes.length);
  framed[0] = 0;
  framed.writeUInt32BE(bytes.length, 1);
  framed.set(bytes, PREFIX_BYTES);
  return framed;
}

/**
 * A compressed message's bytes, decompressed off the event loop and bounded by the receive limit
 * (a small message that inflates to gigabytes is refused, not inflated).
 */
export function decompress(encoding: string, bytes: Buffer, maxBytes: number): Promise<Buffer> {
  const inflater = encoding === 'gzip' ? gunzip : encoding === 'deflate' ? inflate : undefined;
  if (!inflater) {
    return Promise.reject(
      new GrpcFailure(status.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`),
    );
  }
  return new Promise((resolve, reject) =>
    inflater(bytes, { maxOutputLength: maxBytes }, (error, result) => {
      if (!error) return resolve(result);
      reject(
        (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
          ? new GrpcFailure(
              status.RESOURCE_EXHAUSTED,
              `Received message that decompresses to more than ${maxBytes} bytes`,
            )
          : new GrpcFailure(status.INTERNAL, 'Failed to decompress message'),
      );
    }),
  );
}
