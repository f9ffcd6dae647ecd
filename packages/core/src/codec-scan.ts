import { DecodeError } from "./errors.js";

/** Structural limits checked by {@link checkMsgpackStructure} before any value is materialised. */
export interface MsgpackStructureLimits {
  /** Maximum array nesting depth (the top-level array counts as 1). */
  readonly maxDepth: number;
  /** Maximum number of elements of one array. */
  readonly maxArrayLength: number;
  /** Maximum length of one bin value. */
  readonly maxBinLength: number;
  /** Maximum byte length of one str value. */
  readonly maxStrLength: number;
  /** Allow map values (the canonical core codec never emits maps). */
  readonly allowMaps?: boolean;
  /** Maximum number of entries of one map (only if `allowMaps`). */
  readonly maxMapLength?: number;
}

function fail(reason: string): never {
  throw new DecodeError(reason);
}

/**
 * Walks one msgpack item in `bytes` without allocating anything and throws `DecodeError` with a
 * specific reason if it is truncated, has trailing bytes, nests deeper than `maxDepth`, declares
 * more elements or bytes than remain in the input or than the limits allow, or uses extension
 * types (or maps, unless allowed).
 *
 * Why: the msgpack decoder pre-allocates an array of the declared length per nesting level, so a
 * few hostile bytes could otherwise make it allocate far more memory than the input size. After
 * this check every declared element is backed by at least one input byte.
 */
export function checkMsgpackStructure(bytes: Uint8Array, limits: MsgpackStructureLimits): void {
  const len = bytes.length;
  const stack: number[] = [];
  let pending = 1;
  let pos = 0;
  let start = 0; // offset of the current item's type byte, for error messages

  const readLength = (size: 1 | 2 | 4): number => {
    if (pos + size > len) fail(`truncated length field of the item at byte ${start}`);
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + (bytes[pos + i] as number);
    pos += size;
    return n;
  };
  const skip = (n: number, what: string): void => {
    if (n > len - pos) fail(`${what} at byte ${start} declares ${n} bytes but only ${len - pos} remain`);
    pos += n;
  };
  const enter = (n: number, kind: "array" | "map"): void => {
    const max = kind === "array" ? limits.maxArrayLength : (limits.maxMapLength ?? 0);
    if (n > max) fail(`${kind} at byte ${start} declares ${n} elements, more than the limit ${max}`);
    const items = kind === "array" ? n : 2 * n;
    if (items > len - pos) {
      fail(`${kind} at byte ${start} declares ${n} elements but only ${len - pos} bytes remain`);
    }
    if (stack.length + 1 > limits.maxDepth) fail(`nesting deeper than ${limits.maxDepth} at byte ${start}`);
    stack.push(pending);
    pending = items;
  };
  const bin = (n: number): void => {
    if (n > limits.maxBinLength) fail(`bin at byte ${start} of ${n} bytes exceeds ${limits.maxBinLength}`);
    skip(n, "bin");
  };
  const str = (n: number): void => {
    if (n > limits.maxStrLength) fail(`str at byte ${start} of ${n} bytes exceeds ${limits.maxStrLength}`);
    skip(n, "str");
  };
  const map = (n: number): void => {
    if (!limits.allowMaps) fail(`unexpected map at byte ${start}`);
    enter(n, "map");
  };

  for (;;) {
    if (pending === 0) {
      const outer = stack.pop();
      if (outer === undefined) break;
      pending = outer;
      continue;
    }
    pending--;
    if (pos >= len) fail(`truncated: input ends at byte ${pos}`);
    start = pos;
    const h = bytes[pos++] as number;
    if (h <= 0x7f || h >= 0xe0) continue; // fixint
    if (h <= 0x8f) {
      map(h & 0x0f);
      continue;
    }
    if (h <= 0x9f) {
      enter(h & 0x0f, "array");
      continue;
    }
    if (h <= 0xbf) {
      str(h & 0x1f);
      continue;
    }
    switch (h) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        break;
      case 0xc4:
        bin(readLength(1));
        break;
      case 0xc5:
        bin(readLength(2));
        break;
      case 0xc6:
        bin(readLength(4));
        break;
      case 0xca:
        skip(4, "float32");
        break;
      case 0xcb:
        skip(8, "float64");
        break;
      case 0xcc:
      case 0xd0:
        skip(1, "int");
        break;
      case 0xcd:
      case 0xd1:
        skip(2, "int");
        break;
      case 0xce:
      case 0xd2:
        skip(4, "int");
        break;
      case 0xcf:
      case 0xd3:
        skip(8, "int");
        break;
      case 0xd9:
        str(readLength(1));
        break;
      case 0xda:
        str(readLength(2));
        break;
      case 0xdb:
        str(readLength(4));
        break;
      case 0xdc:
        enter(readLength(2), "array");
        break;
      case 0xdd:
        enter(readLength(4), "array");
        break;
      case 0xde:
        map(readLength(2));
        break;
      case 0xdf:
        map(readLength(4));
        break;
      case 0xc1:
        fail(`reserved type byte 0xc1 at byte ${start}`);
        break;
      default: // 0xc7..0xc9, 0xd4..0xd8: extension types
        fail(`unexpected extension type 0x${h.toString(16)} at byte ${start}`);
    }
  }
  if (pos !== len) fail(`${len - pos} trailing bytes after the value at byte ${pos}`);
}
