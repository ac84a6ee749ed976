// MessagePack, REST's binary JSON. Responses are encoded by msgpackr, configured to write the very
// bytes @msgpack/msgpack writes (standard maps sized to fit, no record extension): about twice as
// fast on a user and on a page of 100 (the lab's serialization scenario). Request bodies, which
// anyone may send, are decoded by @msgpack/msgpack: it refuses a `__proto__` key (msgpackr renames
// it) and reads no extension of msgpackr's own; their speed matters less than what they let in.
import { decode } from '@msgpack/msgpack';
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, variableMapSize: true });

/**
 * `value` as MessagePack, in a buffer of its own: msgpackr hands out views of an 8 KiB buffer it
 * shares, and a kept encoding (the representation cache) must not hold all of it.
 */
export const encodeMsgpack = (value: unknown): Buffer => Buffer.from(packr.pack(value));

/** A request body; throws on anything but one whole, plain MessagePack value. */
export const decodeMsgpack = (bytes: Uint8Array): unknown => decode(bytes);
