import { createRequire } from "node:module";
import { keccak256 } from "./address.js";
import { nobleSecp256k1 } from "./noble.js";
import { type Secp256k1, SIGNATURE_LENGTH } from "./secp256k1.js";
import { assertDigest, assertSecretKey, checkSignature, reduceDigest, unrecoverable } from "./validation.js";

/** The module that holds the prebuilt libsecp256k1 addon (not `secp256k1`, which silently falls back to JS). */
export const NATIVE_MODULE_ID = "secp256k1/bindings";

/** The part of the `secp256k1@5` binding API we use. */
interface NativeBinding {
  ecdsaSign(
    msg32: Uint8Array,
    secretKey: Uint8Array,
    options: object,
    output: Uint8Array,
  ): { signature: Uint8Array; recid: number };
  ecdsaRecover(sig64: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyCreate(secretKey: Uint8Array, compressed: boolean): Uint8Array;
}

/** Options of {@link loadNativeSecp256k1}. */
export interface NativeLoadOptions {
  /** Module to `require`; default {@link NATIVE_MODULE_ID}. Meant for tests and custom builds. */
  readonly moduleId?: string;
  /**
   * Sign and recover one fixed digest with the binding and with noble after loading, and refuse a
   * binding whose output differs (default true; costs about 1 ms once).
   */
  readonly selfTest?: boolean;
}

/** Result of {@link tryLoadNativeSecp256k1}: the implementation, or why it is unavailable. */
export type NativeLoadResult =
  | { readonly ok: true; readonly secp256k1: Secp256k1 }
  | { readonly ok: false; readonly error: Error };

function isBinding(m: unknown): m is NativeBinding {
  if (typeof m !== "object" || m === null) return false;
  const b = m as Record<string, unknown>;
  return (
    typeof b.ecdsaSign === "function" &&
    typeof b.ecdsaRecover === "function" &&
    typeof b.publicKeyCreate === "function"
  );
}

function wrap(binding: NativeBinding): Secp256k1 {
  return Object.freeze({
    name: "native",

    sign(digest: Uint8Array, secretKey: Uint8Array): Uint8Array {
      assertDigest(digest);
      assertSecretKey(secretKey);
      // libsecp256k1 signs with RFC 6979 nonces and normalises to low s, like noble with lowS; it
      // needs the digest reduced mod n to derive the same nonce (only digests ≥ n differ).
      const out = new Uint8Array(SIGNATURE_LENGTH);
      const { recid } = binding.ecdsaSign(reduceDigest(digest), secretKey, {}, out.subarray(0, 64));
      out[64] = recid;
      return out;
    },

    recover(digest: Uint8Array, signature: Uint8Array): Uint8Array {
      assertDigest(digest);
      const v = checkSignature(signature);
      try {
        return binding.ecdsaRecover(signature.subarray(0, 64), v, digest, false);
      } catch (cause) {
        throw unrecoverable(cause);
      }
    },

    publicKey(secretKey: Uint8Array): Uint8Array {
      assertSecretKey(secretKey);
      return binding.publicKeyCreate(secretKey, false);
    },
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function selfTest(candidate: Secp256k1): void {
  const secretKey = keccak256(new TextEncoder().encode("perun-ts/secp256k1 self-test key"));
  const digest = keccak256(new TextEncoder().encode("perun-ts/secp256k1 self-test digest"));
  const sig = candidate.sign(digest, secretKey);
  if (!sameBytes(sig, nobleSecp256k1.sign(digest, secretKey))) {
    throw new Error("native signature differs from @noble/curves for the self-test vector");
  }
  const publicKey = candidate.publicKey(secretKey);
  if (!sameBytes(candidate.recover(digest, sig), publicKey)) {
    throw new Error("native recover does not return the signer's public key for the self-test vector");
  }
}

/**
 * Loads the prebuilt libsecp256k1 binding of the optional `secp256k1@5` package and wraps it as a
 * {@link Secp256k1}, or reports why it cannot: the package is not installed, no prebuilt binary
 * matches this platform, the module has an unexpected shape, or the self-test fails. Nothing is
 * loaded until this is called.
 */
export function tryLoadNativeSecp256k1(options: NativeLoadOptions = {}): NativeLoadResult {
  const moduleId = options.moduleId ?? NATIVE_MODULE_ID;
  try {
    const mod: unknown = createRequire(import.meta.url)(moduleId);
    if (!isBinding(mod)) throw new Error(`${moduleId} does not export the secp256k1@5 binding API`);
    const impl = wrap(mod);
    if (options.selfTest ?? true) selfTest(impl);
    return { ok: true, secp256k1: impl };
  } catch (cause) {
    const error = cause instanceof Error ? cause : new Error(String(cause));
    return { ok: false, error };
  }
}

/**
 * The native libsecp256k1 {@link Secp256k1} (≈20× faster recover than noble), or `undefined` if it
 * cannot be loaded here. Use {@link selectSecp256k1} to fall back to noble with a logged warning.
 */
export function loadNativeSecp256k1(options: NativeLoadOptions = {}): Secp256k1 | undefined {
  const result = tryLoadNativeSecp256k1(options);
  return result.ok ? result.secp256k1 : undefined;
}

/**
 * The native libsecp256k1 {@link Secp256k1}; throws (with the load failure as `cause`) if it cannot
 * be loaded. For deployments and benchmarks that must not silently run on the slower noble.
 */
export function requireNativeSecp256k1(options: NativeLoadOptions = {}): Secp256k1 {
  const result = tryLoadNativeSecp256k1(options);
  if (!result.ok) {
    throw new Error(`native secp256k1 cannot be loaded: ${result.error.message}`, { cause: result.error });
  }
  return result.secp256k1;
}
