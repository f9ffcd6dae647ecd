import { type DecodeContext, ValidationError } from "@perun-ts/core";
import { FIRST_APPLICATION_MESSAGE_TYPE, MAX_MESSAGE_TYPE } from "./messages.js";

/**
 * How an application message type is encoded. `encode` returns a msgpack-encodable value made of
 * arrays, `Uint8Array`s, strings, numbers, booleans and null (maps and extension types are refused
 * on decode); `decode` validates such a value and throws on anything unexpected (the codec turns
 * every throw into a `DecodeError`).
 */
export interface ApplicationMessageCodec<P = unknown> {
  /** Wire type id, {@link FIRST_APPLICATION_MESSAGE_TYPE}..{@link MAX_MESSAGE_TYPE}. */
  readonly type: number;
  /** A name for logs. */
  readonly name: string;
  encode(payload: P): unknown;
  decode(value: unknown, ctx: DecodeContext): P;
}

/**
 * The application message types a codec knows (an object, not a global table). Protocol types
 * 0..16 are always known; applications register their own from 17 up.
 *
 * @example
 * const registry = new MessageRegistry().register({
 *   type: 100, name: "chat",
 *   encode: (text: string) => text,
 *   decode: (v) => { if (typeof v !== "string") throw new Error("not text"); return v; },
 * });
 */
export class MessageRegistry {
  readonly #codecs = new Map<number, ApplicationMessageCodec>();

  /** Adds a type; throws `ValidationError` for a reserved, out-of-range or already registered id. */
  register<P>(codec: ApplicationMessageCodec<P>): this {
    const t = codec.type;
    if (!Number.isInteger(t) || t < FIRST_APPLICATION_MESSAGE_TYPE || t > MAX_MESSAGE_TYPE) {
      throw new ValidationError(
        `application message type must be an integer in ${FIRST_APPLICATION_MESSAGE_TYPE}..${MAX_MESSAGE_TYPE}, got ${t}`,
      );
    }
    if (this.#codecs.has(t)) throw new ValidationError(`message type ${t} is already registered`);
    this.#codecs.set(t, codec as ApplicationMessageCodec);
    return this;
  }

  /** The codec of an application type, if registered. */
  get(type: number): ApplicationMessageCodec | undefined {
    return this.#codecs.get(type);
  }

  has(type: number): boolean {
    return this.#codecs.has(type);
  }
}
