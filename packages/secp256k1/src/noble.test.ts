import { secp256k1 } from "@noble/curves/secp256k1.js";
import { describe, expect, it } from "vitest";
import { keccak256, publicKeyToAddress } from "./address.js";
import { nobleSecp256k1 } from "./noble.js";
import { Secp256k1Error } from "./secp256k1-error.js";

// anvil/hardhat account #0: a public, widely known test key and its address.
const ANVIL0 = Uint8Array.from(
  Buffer.from("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", "hex"),
);
const ANVIL0_ADDRESS = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";

describe("nobleSecp256k1", () => {
  it("derives the Ethereum address of a known key through publicKey + publicKeyToAddress", () => {
    const pub = nobleSecp256k1.publicKey(ANVIL0);
    expect(pub.length).toBe(65);
    expect(pub[0]).toBe(4);
    expect(Buffer.from(publicKeyToAddress(pub)).toString("hex")).toBe(ANVIL0_ADDRESS);
  });

  it("signs the digest as given (no prehash), low-s, r ‖ s ‖ v, deterministically", () => {
    const digest = keccak256(new TextEncoder().encode("perun"));
    const sig = nobleSecp256k1.sign(digest, ANVIL0);
    expect(sig.length).toBe(65);
    expect([0, 1]).toContain(sig[64]);
    const pub = nobleSecp256k1.publicKey(ANVIL0);
    expect(secp256k1.verify(sig.subarray(0, 64), digest, pub, { prehash: false, lowS: true })).toBe(true);
    // would fail if the digest had been hashed again
    expect(secp256k1.verify(sig.subarray(0, 64), digest, pub, { prehash: true })).toBe(false);
    expect(nobleSecp256k1.sign(digest, ANVIL0)).toEqual(sig);
    expect(nobleSecp256k1.recover(digest, sig)).toEqual(pub);
  });

  it("recovers a different key for a different digest and rejects the high-s twin", () => {
    const digest = keccak256(new Uint8Array([1]));
    const sig = nobleSecp256k1.sign(digest, ANVIL0);
    const other = keccak256(new Uint8Array([2]));
    expect(nobleSecp256k1.recover(other, sig)).not.toEqual(nobleSecp256k1.publicKey(ANVIL0));
    const n = secp256k1.Point.CURVE().n;
    const s = BigInt(`0x${Buffer.from(sig.subarray(32, 64)).toString("hex")}`);
    const twin = sig.slice();
    twin.set(Buffer.from((n - s).toString(16).padStart(64, "0"), "hex"), 32);
    twin[64] = 1 - (sig[64] as number);
    expect(() => nobleSecp256k1.recover(digest, twin)).toThrow(Secp256k1Error);
  });

  it("throws Secp256k1Error with the input's reason for bad digests and keys", () => {
    const reason = (f: () => unknown) => {
      try {
        f();
        return "none";
      } catch (e) {
        expect(e).toBeInstanceOf(Secp256k1Error);
        return (e as Secp256k1Error).reason;
      }
    };
    expect(reason(() => nobleSecp256k1.sign(new Uint8Array(31), ANVIL0))).toBe("invalid-digest");
    expect(reason(() => nobleSecp256k1.sign(new Uint8Array(32), new Uint8Array(32)))).toBe(
      "invalid-secret-key",
    );
    expect(reason(() => nobleSecp256k1.publicKey(new Uint8Array(32).fill(0xff)))).toBe("invalid-secret-key");
    expect(reason(() => nobleSecp256k1.recover(new Uint8Array(33), new Uint8Array(65)))).toBe(
      "invalid-digest",
    );
    expect(reason(() => nobleSecp256k1.recover(new Uint8Array(32), new Uint8Array(65)))).toBe(
      "malformed-signature",
    );
  });

  it("publicKeyToAddress rejects anything but an uncompressed key", () => {
    const pub = nobleSecp256k1.publicKey(ANVIL0);
    expect(() => publicKeyToAddress(pub.subarray(1))).toThrow(TypeError);
    expect(() => publicKeyToAddress(secp256k1.getPublicKey(ANVIL0, true))).toThrow(TypeError);
  });
});
