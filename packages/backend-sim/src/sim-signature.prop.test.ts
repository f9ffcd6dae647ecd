import { PerunError, SignatureError } from "@perun-ts/core";
import { nobleSecp256k1, requireNativeSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimAccount } from "./sim-account.js";
import { SimChannelBackend } from "./sim-channel-backend.js";

// Reproduce a failure with PROP_SEED=<printed seed>.
const seed = Number(process.env.PROP_SEED ?? Date.now() % 2 ** 31);
console.log(`sim-signature.prop.test seed=${seed}`);

const secretKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => k.some((b) => b !== 0));
const implementations: [string, Secp256k1][] = [
  ["noble", nobleSecp256k1],
  ["native", requireNativeSecp256k1()],
];

describe.each(implementations)("sim signatures with %s secp256k1 (property)", (_name, impl) => {
  const backend = new SimChannelBackend({ secp256k1: impl });

  it("verify accepts exactly the signer's signature of the signed data", async () => {
    await fc.assert(
      fc.asyncProperty(secretKey, secretKey, fc.uint8Array({ maxLength: 200 }), async (k1, k2, data) => {
        const signer = SimAccount.fromSecretKey(k1, { secp256k1: impl });
        const other = SimAccount.fromSecretKey(k2, { secp256k1: impl });
        const sig = await signer.signData(data);
        expect(sig.length).toBe(backend.signatureLength);
        expect(backend.verifyData(signer.address, data, sig)).toBe(true);
        expect(backend.verifyData(other.address, data, sig)).toBe(signer.address.equals(other.address));
      }),
      { seed, numRuns: 25 },
    );
  });

  it("arbitrary bytes verify as false or throw SignatureError, never anything else", () => {
    const signer = SimAccount.fromSecretKey(new Uint8Array(32).fill(9), { secp256k1: impl });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (sig) => {
        try {
          expect(backend.verifyData(signer.address, new Uint8Array([1, 2, 3]), sig)).toBe(false);
        } catch (e) {
          expect(e).toBeInstanceOf(SignatureError);
          expect(e).toBeInstanceOf(PerunError);
        }
      }),
      { seed, numRuns: 200 },
    );
  });
});
