// The channel record: everything the Persister interface stores about one channel, in one value,
// so that every transition is one atomic put. Layout (integers big-endian):
//
//   u8  format (= 1)
//   u16 own index
//   u8  has parent (0 | 1) [ parent id: 32 bytes ]
//   u16 peer count, then per peer: u16 length ‖ address bytes
//   u32 length ‖ params            (core codec)
//   u8  phase                                   <- the part below changes with every transition
//   u32 length ‖ current transaction (core codec)
//   u32 length ‖ staging transaction (core codec, with its full signature vector)
//
// The fixed part (up to the params) is written once by channelCreated and reused byte for byte by
// the later transitions, which only re-encode what changed.
import {
  type Address,
  bytesEqual,
  CHANNEL_ID_LENGTH,
  type ChannelId,
  type DecodeContext,
  DecodeError,
  decodeParams,
  decodeTransaction,
  isPhase,
  type PersistedChannel,
  type Phase,
} from "@perun-ts/core";

const RECORD_FORMAT = 1;

/** A record split into its byte sections, without decoding the core values. */
export interface RawRecord {
  /** Bytes from the format byte through the params: unchanged after channelCreated. */
  readonly fixed: Uint8Array;
  readonly idx: number;
  readonly parent: ChannelId | undefined;
  readonly peers: readonly Uint8Array[];
  readonly params: Uint8Array;
  readonly phase: number;
  readonly current: Uint8Array;
  readonly staging: Uint8Array;
}

/** A record's bytes that do not follow the layout; `reason` says where. */
export class RecordFormatError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Encodes the fixed part of a record. */
export function encodeFixed(
  idx: number,
  parent: ChannelId | undefined,
  peers: readonly Uint8Array[],
  params: Uint8Array,
): Uint8Array {
  const w = new Writer(
    1 +
      2 +
      1 +
      (parent ? CHANNEL_ID_LENGTH : 0) +
      2 +
      peers.reduce((n, p) => n + 2 + p.length, 0) +
      4 +
      params.length,
  );
  w.u8(RECORD_FORMAT);
  w.u16(idx);
  w.u8(parent ? 1 : 0);
  if (parent) w.bytes(parent);
  w.u16(peers.length);
  for (const p of peers) {
    w.u16(p.length);
    w.bytes(p);
  }
  w.u32(params.length);
  w.bytes(params);
  return w.done();
}

/** Joins a fixed part with the phase and the two encoded transactions. */
export function encodeRecord(
  fixed: Uint8Array,
  phase: number,
  current: Uint8Array,
  staging: Uint8Array,
): Uint8Array {
  const w = new Writer(fixed.length + 1 + 4 + current.length + 4 + staging.length);
  w.bytes(fixed);
  w.u8(phase);
  w.u32(current.length);
  w.bytes(current);
  w.u32(staging.length);
  w.bytes(staging);
  return w.done();
}

/**
 * Splits a record into its sections; throws `RecordFormatError` if the layout is violated. The
 * sections are copies, or with `views` subarrays of `bytes` (valid while `bytes` is unchanged: for
 * re-encoding a transition from cached record bytes without copying them first).
 */
export function parseRecord(bytes: Uint8Array, views = false): RawRecord {
  const r = new Reader(bytes, views);
  const format = r.u8("format");
  if (format !== RECORD_FORMAT) throw new RecordFormatError(`unknown record format ${format}`);
  const idx = r.u16("own index");
  const hasParent = r.u8("parent flag");
  if (hasParent > 1) throw new RecordFormatError(`parent flag is ${hasParent}, not 0 or 1`);
  const parent = hasParent === 1 ? r.bytes(CHANNEL_ID_LENGTH, "parent id") : undefined;
  const count = r.u16("peer count");
  const peers: Uint8Array[] = [];
  for (let i = 0; i < count; i++) peers.push(r.bytes(r.u16(`peer ${i} length`), `peer ${i}`));
  const params = r.bytes(r.u32("params length"), "params");
  const fixed = views ? bytes.subarray(0, r.offset) : new Uint8Array(bytes.subarray(0, r.offset));
  const phase = r.u8("phase");
  const current = r.bytes(r.u32("current length"), "current transaction");
  const staging = r.bytes(r.u32("staging length"), "staging transaction");
  if (r.offset !== bytes.length) {
    throw new RecordFormatError(`${bytes.length - r.offset} trailing bytes after the staging transaction`);
  }
  return { fixed, idx, parent, peers, params, phase, current, staging };
}

/**
 * Decodes and validates a whole record of channel `id` with the core codec. Throws
 * `RecordFormatError` (layout) or `DecodeError` (a core value), each with a reason.
 */
export function decodeRecord(bytes: Uint8Array, id: ChannelId, ctx: DecodeContext): PersistedChannel {
  const raw = parseRecord(bytes);
  const params = decodeParams(raw.params, ctx);
  if (!bytesEqual(params.id, id)) throw new RecordFormatError("the params belong to another channel id");
  const n = params.parts.length;
  if (raw.idx >= n) throw new RecordFormatError(`own index ${raw.idx} out of range for ${n} participants`);
  if (raw.peers.length !== n) {
    throw new RecordFormatError(`${raw.peers.length} peers stored for ${n} participants`);
  }
  if (!isPhase(raw.phase)) throw new RecordFormatError(`invalid phase ${raw.phase}`);
  const peers: Address[] = raw.peers.map((p, i) => {
    try {
      return ctx.backend.decodeAddress(p);
    } catch (e) {
      throw new DecodeError(`peer ${i}: ${e instanceof DecodeError ? e.reason : String(e)}`, { cause: e });
    }
  });
  return {
    id: params.id,
    idx: raw.idx,
    params,
    phase: raw.phase as Phase,
    current: decodeTransaction(raw.current, ctx, n),
    staging: decodeTransaction(raw.staging, ctx, n),
    peers,
    parent: raw.parent,
  };
}

class Writer {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #off = 0;

  constructor(size: number) {
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
  }

  u8(v: number): void {
    this.#view.setUint8(this.#off, v);
    this.#off += 1;
  }

  u16(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${v} does not fit in u16`);
    this.#view.setUint16(this.#off, v);
    this.#off += 2;
  }

  u32(v: number): void {
    this.#view.setUint32(this.#off, v);
    this.#off += 4;
  }

  bytes(b: Uint8Array): void {
    this.#buf.set(b, this.#off);
    this.#off += b.length;
  }

  done(): Uint8Array {
    return this.#buf;
  }
}

class Reader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  readonly #views: boolean;
  offset = 0;

  constructor(buf: Uint8Array, views: boolean) {
    this.#buf = buf;
    this.#views = views;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  #need(n: number, what: string): void {
    if (this.offset + n > this.#buf.length) {
      throw new RecordFormatError(
        `truncated at ${what}: needs ${n} bytes at offset ${this.offset}, record has ${this.#buf.length}`,
      );
    }
  }

  u8(what: string): number {
    this.#need(1, what);
    const v = this.#view.getUint8(this.offset);
    this.offset += 1;
    return v;
  }

  u16(what: string): number {
    this.#need(2, what);
    const v = this.#view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  u32(what: string): number {
    this.#need(4, what);
    const v = this.#view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  bytes(n: number, what: string): Uint8Array {
    this.#need(n, what);
    const view = this.#buf.subarray(this.offset, this.offset + n);
    // A plain Uint8Array copy unless views are asked for (LevelDB hands out Buffers, whose slice is a view).
    const b = this.#views ? view : new Uint8Array(view);
    this.offset += n;
    return b;
  }
}
