import type { User } from '../../domain/user.js';
import { byteLength, type CodecName, codecs, gzippedLength } from '../codecs.js';
import type { Payload } from './serialization.js';

export interface PayloadMeasurement {
  codec: CodecName;
  payload: Payload;
  users: number;
  bytes: number;
  gzipBytes: number;
}

/**
 * proto-loader and protobuf-es write the same wire format as the generated codec, and
 * @msgpack/msgpack the same bytes as msgpackr, so they are left out.
 */
const SAME_BYTES_AS_ANOTHER = new Set<CodecName>(['proto-loader', 'protobuf-es', 'msgpack']);

export function measurePayloads(sample: User, page: User[]): PayloadMeasurement[] {
  return codecs()
    .filter((codec) => !SAME_BYTES_AS_ANOTHER.has(codec.name))
    .flatMap((codec) =>
      [
        { payload: 'one' as const, users: 1, encoded: codec.encodeOne(sample) },
        { payload: 'many' as const, users: page.length, encoded: codec.encodeMany(page) },
      ].map(({ payload, users, encoded }) => ({
        codec: codec.name,
        payload,
        users,
        bytes: byteLength(encoded),
        gzipBytes: gzippedLength(encoded),
      })),
    );
}
