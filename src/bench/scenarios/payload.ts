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

/** proto-loader and protobuf-es write the same wire format as the generated codec, so they are left out. */
export function measurePayloads(sample: User, page: User[]): PayloadMeasurement[] {
  return codecs()
    .filter((codec) => codec.name !== 'proto-loader' && codec.name !== 'protobuf-es')
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
