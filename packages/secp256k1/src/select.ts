import { NATIVE_MODULE_ID, type NativeLoadOptions, tryLoadNativeSecp256k1 } from "./native.js";
import { nobleSecp256k1 } from "./noble.js";
import type { Secp256k1 } from "./secp256k1.js";

/** The part of @perun-ts/core's `Logger` that selection needs (any core `Logger` fits). */
export interface WarningLogger {
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Options of {@link selectSecp256k1}. */
export interface SelectSecp256k1Options {
  /** `"noble"` (default): pure JS. `"native"`: libsecp256k1 if it loads, else noble with a warning. */
  readonly prefer?: "native" | "noble";
  /** Receives the fallback warning; nothing is logged without one. */
  readonly logger?: WarningLogger;
  /** Passed to {@link tryLoadNativeSecp256k1}. */
  readonly native?: NativeLoadOptions;
}

/**
 * Picks the secp256k1 implementation by configuration. With `prefer: "native"` it loads the native
 * binding and, if that fails, logs a warning (with the reason) and returns {@link nobleSecp256k1};
 * the result's `name` tells which one is in use.
 *
 * @example
 * const secp256k1 = selectSecp256k1({ prefer: "native", logger });
 * const backend = new SimChannelBackend({ secp256k1 });
 */
export function selectSecp256k1(options: SelectSecp256k1Options = {}): Secp256k1 {
  if ((options.prefer ?? "noble") === "noble") return nobleSecp256k1;
  const result = tryLoadNativeSecp256k1(options.native);
  if (result.ok) return result.secp256k1;
  options.logger?.warn("native secp256k1 unavailable, falling back to @noble/curves", {
    module: options.native?.moduleId ?? NATIVE_MODULE_ID,
    error: result.error.message,
  });
  return nobleSecp256k1;
}
