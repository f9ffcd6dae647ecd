import { FrameTooLargeError } from "./errors.js";

/** Bytes of the frame header: the body length as a big-endian u32. */
export const FRAME_HEADER_LENGTH = 4;

/** Default maximum frame body size: 1 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;

/** Largest body length a u32 header can announce. */
const MAX_U32 = 0xffff_ffff;

/**
 * Splits a byte stream into frames (`u32 big-endian length ‖ body`), incrementally.
 *
 * Chunks are queued, not concatenated, so a frame that arrives in many small pieces costs one copy
 * (or none when it lies inside one chunk). The announced length is checked against `maxFrameSize`
 * as soon as the header is complete, before any buffer for the body exists.
 */
export class FrameDecoder {
  readonly #maxFrameSize: number;
  #chunks: Uint8Array[] = [];
  /** Index of the first unread chunk (a head index instead of `shift()`, which is O(n)). */
  #head = 0;
  /** Read offset into `#chunks[#head]`. */
  #offset = 0;
  #buffered = 0;
  /** Body length of the frame being collected, once its header was read. */
  #bodyLength = -1;

  constructor(maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE) {
    if (!Number.isInteger(maxFrameSize) || maxFrameSize < 1 || maxFrameSize > MAX_U32) {
      throw new RangeError(`maxFrameSize must be an integer in 1..${MAX_U32}`);
    }
    this.#maxFrameSize = maxFrameSize;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds received bytes. The chunk is kept by reference; do not modify it afterwards. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame body, or `undefined` if more bytes are needed.
   * Throws `FrameTooLargeError` when a header announces more than the maximum; the decoder is then
   * unusable (the stream cannot be resynchronised) and the connection must be closed.
   */
  next(): Uint8Array | undefined {
    if (this.#bodyLength < 0) {
      if (this.#buffered < FRAME_HEADER_LENGTH) return undefined;
      const h = this.#take(FRAME_HEADER_LENGTH);
      const size =
        (((h[0] as number) << 24) | ((h[1] as number) << 16) | ((h[2] as number) << 8) | (h[3] as number)) >>>
        0;
      if (size > this.#maxFrameSize) {
        this.#chunks = [];
        this.#head = 0;
        this.#buffered = 0;
        this.#offset = 0;
        throw new FrameTooLargeError(size, this.#maxFrameSize);
      }
      this.#bodyLength = size;
    }
    if (this.#buffered < this.#bodyLength) return undefined;
    const body = this.#take(this.#bodyLength);
    this.#bodyLength = -1;
    return body;
  }

  /** Removes `n ≤ buffered` bytes from the front; a view when they lie in one chunk, else one copy. */
  #take(n: number): Uint8Array {
    this.#buffered -= n;
    if (n === 0) return new Uint8Array(0);
    const first = this.#chunks[this.#head] as Uint8Array;
    if (first.length - this.#offset >= n) {
      const view = first.subarray(this.#offset, this.#offset + n);
      this.#offset += n;
      if (this.#offset === first.length) this.#dropHead();
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[this.#head] as Uint8Array;
      const available = chunk.length - this.#offset;
      const count = Math.min(available, n - filled);
      out.set(chunk.subarray(this.#offset, this.#offset + count), filled);
      filled += count;
      if (count === available) this.#dropHead();
      else this.#offset += count;
    }
    return out;
  }

  #dropHead(): void {
    this.#head++;
    this.#offset = 0;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** Writes the frame header for a body of `length` bytes into `target` at `offset`. */
export function writeFrameHeader(target: Uint8Array, length: number, offset = 0): void {
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
}
