/** Byte helpers shared by every package. Bytes are `Uint8Array`; hex only at boundaries. */

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte order; a shorter prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex without `0x`. */
export function toHex(b: Uint8Array): string {
  return hexJoin(b, "");
}

/**
 * `prefix` followed by the hex of `b`, built as one flat string: `+=` in a loop would leave a rope
 * of one piece per byte (~50 bytes of heap each) in every string kept, e.g. a channel's id key.
 * @internal
 */
export function hexJoin(b: Uint8Array, prefix: string): string {
  const parts = new Array<string>(b.length + 1);
  parts[0] = prefix;
  for (let i = 0; i < b.length; i++) parts[i + 1] = HEX[b[i] as number] as string;
  return parts.join("");
}

/** Parses hex with or without `0x`; throws `TypeError` on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  const h = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (h.length % 2 !== 0) throw new TypeError("hex string has odd length");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) {
    const byte = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
    if (Number.isNaN(byte) || !/^[0-9a-fA-F]{2}$/.test(h.slice(2 * i, 2 * i + 2))) {
      throw new TypeError(`invalid hex digit at position ${2 * i}`);
    }
    out[i] = byte;
  }
  return out;
}

/** Big-endian unsigned magnitude of a non-negative bigint, minimal length (0 → empty). */
export function bigintToBytes(v: bigint): Uint8Array {
  if (v < 0n) throw new RangeError("negative value");
  if (v === 0n) return new Uint8Array(0);
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return fromHex(hex);
}

/** Big-endian unsigned magnitude of a non-negative bigint left-padded to `len` bytes. */
export function bigintToFixedBytes(v: bigint, len: number): Uint8Array {
  const raw = bigintToBytes(v);
  if (raw.length > len) throw new RangeError(`value does not fit into ${len} bytes`);
  const out = new Uint8Array(len);
  out.set(raw, len - raw.length);
  return out;
}

export function bytesToBigint(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${toHex(b)}`);
}

/**
 * A copy as a plain `Uint8Array`. Unlike `b.slice()`, this also copies a Node `Buffer` (whose
 * `slice` returns a view that would alias the socket's or database's memory).
 */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
