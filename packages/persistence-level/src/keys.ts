// The key layout of the database (schema version 1). One sorted key space, three tables told apart
// by their first byte:
//
//   0x00 "perun-ts/schema"          -> u32 BE schema version
//   'c' <id:32>                     -> channel record (record.ts)
//   'p' <len:u16 BE> <addr> <id:32> -> empty; the peer -> channel index (own address included)
//
// The address is length-prefixed so that one address can never be a prefix of another's entries.
import { CHANNEL_ID_LENGTH, type ChannelId, toHex } from "@perun-ts/core";

/** The schema this version writes and the newest it reads. */
export const SCHEMA_VERSION = 1;

const SCHEMA_TAG = 0x00;
const CHANNEL_TAG = 0x63; // 'c'
const PEER_TAG = 0x70; // 'p'
const MAX_ADDRESS_LENGTH = 0xffff;

export const SCHEMA_KEY: Uint8Array = Uint8Array.of(
  SCHEMA_TAG,
  ...new TextEncoder().encode("perun-ts/schema"),
);

/** A half-open key range `[gte, lt)`. */
export interface KeyRange {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
}

/** Key range of every channel record. */
export const CHANNEL_RANGE: KeyRange = {
  gte: Uint8Array.of(CHANNEL_TAG),
  lt: Uint8Array.of(CHANNEL_TAG + 1),
};

/** Key range of the whole peer index. */
export const PEER_RANGE: KeyRange = { gte: Uint8Array.of(PEER_TAG), lt: Uint8Array.of(PEER_TAG + 1) };

export function channelKey(id: ChannelId): Uint8Array {
  const k = new Uint8Array(1 + CHANNEL_ID_LENGTH);
  k[0] = CHANNEL_TAG;
  k.set(id, 1);
  return k;
}

/** The channel id of a channel-record key, or `undefined` if the key is not one. */
export function channelIdOfKey(key: Uint8Array): ChannelId | undefined {
  if (key.length !== 1 + CHANNEL_ID_LENGTH || key[0] !== CHANNEL_TAG) return undefined;
  return new Uint8Array(key.subarray(1));
}

/** The prefix shared by all index entries of one peer address. */
export function peerPrefix(address: Uint8Array): Uint8Array {
  if (address.length > MAX_ADDRESS_LENGTH)
    throw new RangeError(`address of ${address.length} bytes is too long`);
  const k = new Uint8Array(3 + address.length);
  k[0] = PEER_TAG;
  k[1] = address.length >>> 8;
  k[2] = address.length & 0xff;
  k.set(address, 3);
  return k;
}

export function peerKey(address: Uint8Array, id: ChannelId): Uint8Array {
  const prefix = peerPrefix(address);
  const k = new Uint8Array(prefix.length + CHANNEL_ID_LENGTH);
  k.set(prefix);
  k.set(id, prefix.length);
  return k;
}

/** The key range of one peer's index entries. */
export function peerRange(address: Uint8Array): KeyRange {
  const prefix = peerPrefix(address);
  const lt = new Uint8Array(prefix.length + CHANNEL_ID_LENGTH + 1).fill(0xff);
  lt.set(prefix);
  return { gte: prefix, lt };
}

/** An index key split into its address and channel id; `undefined` if it is malformed. */
export function parsePeerKey(key: Uint8Array): { address: Uint8Array; id: ChannelId } | undefined {
  if (key.length < 3 + CHANNEL_ID_LENGTH || key[0] !== PEER_TAG) return undefined;
  const len = ((key[1] as number) << 8) | (key[2] as number);
  if (key.length !== 3 + len + CHANNEL_ID_LENGTH) return undefined;
  return { address: new Uint8Array(key.subarray(3, 3 + len)), id: new Uint8Array(key.subarray(3 + len)) };
}

/** Hex of a key, for error messages. */
export function keyHex(key: Uint8Array): string {
  return `0x${toHex(key)}`;
}

export function encodeSchemaVersion(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v);
  return b;
}

/** The stored schema version, or `undefined` if the value is not a 4-byte integer. */
export function decodeSchemaVersion(b: Uint8Array): number | undefined {
  if (b.length !== 4) return undefined;
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
}
