import { Decoder, Encoder } from "@msgpack/msgpack";
import {
  type AppRegistry,
  type ChannelBackend,
  checkMsgpackStructure,
  type DecodeContext,
  DecodeError,
  MAX_APP_DATA,
  type MsgpackStructureLimits,
  ValidationError,
} from "@perun-ts/core";
import type { Envelope } from "./envelope.js";
import { FrameTooLargeError } from "./errors.js";
import {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_LENGTH,
  FrameDecoder,
  writeFrameHeader,
} from "./frame-decoder.js";
import {
  MAX_REASON_LENGTH,
  MAX_WIRE_ARRAY_LENGTH,
  protocolMessageFromWire,
  protocolMessageToWire,
} from "./message-codec.js";
import { MessageRegistry } from "./message-registry.js";
import { FIRST_APPLICATION_MESSAGE_TYPE, type Message, type MessageType } from "./messages.js";
import { address, fail, guard, tuple } from "./wire-values.js";

/** Options of {@link EnvelopeCodec}. */
export interface EnvelopeCodecOptions {
  /** Decodes addresses and assets, computes channel ids, fixes the signature length. */
  readonly backend: ChannelBackend;
  /** Resolves app definitions of decoded states and proposals. */
  readonly apps: Pick<AppRegistry, "resolve">;
  /** Application message types; protocol types are always known. */
  readonly registry?: MessageRegistry;
  /** Largest frame body accepted and produced, in bytes; default 1 MiB. */
  readonly maxFrameSize?: number;
}

/**
 * The envelope wire format: a frame is `u32 big-endian body length ‖ body`, the body one msgpack
 * value `[sender, recipient, type, message body]` (addresses as backend bytes, the type as an
 * integer, the message body a positional array; channel types in core's canonical value layout).
 *
 * Decoding is hardened against hostile peers: the frame size is checked before allocation, the
 * msgpack structure is pre-scanned against hard limits (no maps, no extension types, bounded
 * depth, lengths and sizes) before anything is materialised, and every field is validated
 * (lengths, limits, signature sizes, addresses and assets through the backend, apps through the
 * registry). Decoding throws only `DecodeError` (and `FrameTooLargeError` from frame splitting).
 */
export class EnvelopeCodec {
  readonly maxFrameSize: number;
  readonly registry: MessageRegistry;
  readonly #ctx: DecodeContext;
  readonly #encoder: Encoder;
  readonly #decoder: Decoder;
  readonly #limits: MsgpackStructureLimits;

  constructor(opts: EnvelopeCodecOptions) {
    this.maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    if (!Number.isInteger(this.maxFrameSize) || this.maxFrameSize < 1 || this.maxFrameSize > 0xffff_ffff) {
      throw new RangeError("maxFrameSize must be an integer in 1..2^32-1");
    }
    this.registry = opts.registry ?? new MessageRegistry();
    this.#ctx = { backend: opts.backend, apps: opts.apps };
    this.#encoder = new Encoder({ initialBufferSize: 1024, maxDepth: 16 });
    this.#limits = {
      // envelope > message body > signed state > state > allocation > locked > sub-allocation > balances
      maxDepth: 12,
      maxArrayLength: MAX_WIRE_ARRAY_LENGTH,
      maxBinLength: Math.max(MAX_APP_DATA, 1024),
      maxStrLength: MAX_REASON_LENGTH * 3,
      allowMaps: false,
      maxMapLength: 0,
    };
    this.#decoder = new Decoder({
      maxStrLength: this.#limits.maxStrLength,
      maxBinLength: this.#limits.maxBinLength,
      maxArrayLength: this.#limits.maxArrayLength,
      maxMapLength: 0,
      maxExtLength: 0,
    });
  }

  /** What message decoding uses (backend and apps). */
  get context(): DecodeContext {
    return this.#ctx;
  }

  /** A frame splitter for one connection, with this codec's maximum frame size. */
  newFrameDecoder(): FrameDecoder {
    return new FrameDecoder(this.maxFrameSize);
  }

  /**
   * The complete frame (header and body) of `envelope`, built with one copy of the msgpack output.
   * Throws `ValidationError` for a message that cannot be encoded and `FrameTooLargeError` if the
   * body exceeds the maximum frame size.
   */
  encode(envelope: Envelope): Uint8Array {
    const body = this.#encoder.encodeSharedRef(this.#toWire(envelope));
    if (body.length > this.maxFrameSize) throw new FrameTooLargeError(body.length, this.maxFrameSize);
    const frame = new Uint8Array(FRAME_HEADER_LENGTH + body.length);
    writeFrameHeader(frame, body.length);
    frame.set(body, FRAME_HEADER_LENGTH);
    return frame;
  }

  /** Decodes one frame body (as returned by `FrameDecoder.next`). Throws only `DecodeError`. */
  decodeBody(body: Uint8Array): Envelope {
    try {
      return this.#decodeBody(body);
    } catch (e) {
      if (e instanceof DecodeError) throw e;
      throw new DecodeError(`envelope: ${e instanceof Error ? e.message : "unknown error"}`, { cause: e });
    }
  }

  /**
   * Decodes a complete frame (header and body, nothing more). Throws `DecodeError`, or
   * `FrameTooLargeError` if the header announces more than the maximum.
   */
  decodeFrame(frame: Uint8Array): Envelope {
    const splitter = this.newFrameDecoder();
    splitter.push(frame);
    const body = splitter.next();
    if (body === undefined) throw new DecodeError("frame: truncated");
    if (splitter.buffered !== 0) throw new DecodeError(`frame: ${splitter.buffered} trailing bytes`);
    return this.decodeBody(body);
  }

  #toWire(env: Envelope): unknown[] {
    const m: Message = env.message;
    const sender = env.sender.bytes();
    const recipient = env.recipient.bytes();
    if (m.type === "application") {
      const codec = this.registry.get(m.appType);
      if (codec === undefined)
        throw new ValidationError(`cannot encode message: unregistered type ${m.appType}`);
      return [sender, recipient, m.appType, codec.encode(m.payload)];
    }
    return [sender, recipient, m.type, protocolMessageToWire(m, this.#ctx.backend.signatureLength)];
  }

  #decodeBody(input: Uint8Array): Envelope {
    if (!(input instanceof Uint8Array)) fail("envelope", "input is not a Uint8Array");
    if (input.length > this.maxFrameSize)
      throw new DecodeError(`envelope: body of ${input.length} bytes exceeds the maximum`);
    // A plain view: node Buffers would make every decoded bin a Buffer.
    const body = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    checkMsgpackStructure(body, this.#limits);
    let value: unknown;
    try {
      value = this.#decoder.decode(body);
    } catch (e) {
      fail("envelope", `malformed msgpack: ${e instanceof Error ? e.message : "unknown error"}`);
    }
    const f = tuple(value, 4, "envelope");
    const type = f[2];
    // Check the type before the (more expensive) address decoding.
    if (typeof type !== "number" || !Number.isInteger(type) || type < 0) {
      fail("envelope.type", `expected a non-negative integer, got ${String(type)}`);
    }
    const appCodec = type >= FIRST_APPLICATION_MESSAGE_TYPE ? this.registry.get(type) : undefined;
    if (type >= FIRST_APPLICATION_MESSAGE_TYPE && appCodec === undefined)
      fail("envelope.type", `unknown message type ${type}`);
    const sender = address(f[0], this.#ctx, "envelope.sender");
    const recipient = address(f[1], this.#ctx, "envelope.recipient");
    let message: Message;
    if (appCodec !== undefined) {
      const payload = guard(`${appCodec.name}`, () => appCodec.decode(f[3], this.#ctx));
      message = { type: "application", appType: type, payload };
    } else {
      message = protocolMessageFromWire(type as MessageType, f[3], this.#ctx);
    }
    return { sender, recipient, message };
  }
}
