import { describe, expect, it } from "vitest";
import { keccak256, publicKeyToAddress } from "./address.js";
import { loadNativeSecp256k1, requireNativeSecp256k1, tryLoadNativeSecp256k1 } from "./native.js";
import { nobleSecp256k1 } from "./noble.js";
import { Secp256k1Error } from "./secp256k1-error.js";

// The prebuilt binary ships for linux-x64, darwin-arm64 and win32-x64; on those it must load.
const requireNative = () => requireNativeSecp256k1();

describe("loadNativeSecp256k1", () => {
  it("loads the prebuilt libsecp256k1 binding and passes its self-test", () => {
    const native = requireNative();
    expect(native.name).toBe("native");
    expect(native).not.toBe(nobleSecp256k1);
  });

  it("signs r ‖ s ‖ v and recovers the signer like noble", () => {
    const native = requireNative();
    const key = keccak256(new TextEncoder().encode("native key"));
    const digest = keccak256(new TextEncoder().encode("native digest"));
    const sig = native.sign(digest, key);
    expect(sig).toEqual(nobleSecp256k1.sign(digest, key));
    const pub = native.recover(digest, sig);
    expect(pub).toEqual(native.publicKey(key));
    expect(publicKeyToAddress(pub)).toEqual(publicKeyToAddress(nobleSecp256k1.publicKey(key)));
  });

  it("writes r ‖ s into the right place of the 65-byte output (no view offset mix-up)", () => {
    const native = requireNative();
    const key = new Uint8Array(32).fill(3);
    const sig = native.sign(new Uint8Array(32).fill(9), key);
    expect(sig.byteOffset).toBe(0);
    expect(sig.buffer.byteLength).toBe(65);
    expect(sig.subarray(0, 64).some((b) => b !== 0)).toBe(true);
  });

  it("reports a missing module or a module of the wrong shape instead of throwing", () => {
    const missing = tryLoadNativeSecp256k1({ moduleId: "secp256k1/no-such-file" });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.message).toMatch(/Cannot find module/);
    const wrongShape = tryLoadNativeSecp256k1({ moduleId: "node:path" });
    expect(wrongShape.ok).toBe(false);
    if (!wrongShape.ok)
      expect(wrongShape.error.message).toMatch(/does not export the secp256k1@5 binding API/);
    expect(loadNativeSecp256k1({ moduleId: "secp256k1/no-such-file" })).toBeUndefined();
    expect(() => requireNativeSecp256k1({ moduleId: "secp256k1/no-such-file" })).toThrow(
      /native secp256k1 cannot be loaded: Cannot find module/,
    );
  });

  it("throws the shared Secp256k1Error for malformed input instead of the binding's own errors", () => {
    const native = requireNative();
    expect(() => native.sign(new Uint8Array(32), new Uint8Array(32))).toThrow(Secp256k1Error);
    expect(() => native.publicKey(new Uint8Array(5))).toThrow(Secp256k1Error);
    expect(() => native.recover(new Uint8Array(32), new Uint8Array(65))).toThrow(Secp256k1Error);
  });
});
