import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { requireNativeSecp256k1 } from "./native.js";
import { nobleSecp256k1 } from "./noble.js";
import type { Secp256k1 } from "./secp256k1.js";
import { Secp256k1Error } from "./secp256k1-error.js";
import { CURVE_ORDER } from "./validation.js";

// Reproduce a failure with PROP_SEED=<printed seed>.
const seed = Number(process.env.PROP_SEED ?? Date.now() % 2 ** 31);
console.log(`cross-check.prop.test seed=${seed}`);

const native = requireNativeSecp256k1();

const HALF = CURVE_ORDER >> 1n;
const be32 = (n: bigint) => Uint8Array.from(Buffer.from(n.toString(16).padStart(64, "0"), "hex"));
const toBig = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);

const scalar = fc.bigInt({ min: 1n, max: CURVE_ORDER - 1n });
const secretKey = scalar.map(be32);
// Random hashes are essentially never ≥ n; mix those in on purpose (RFC 6979 reduces them first).
const digest = fc.oneof(
  { arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }), weight: 3 },
  { arbitrary: fc.bigInt({ min: CURVE_ORDER, max: 2n ** 256n - 1n }).map(be32), weight: 1 },
  { arbitrary: fc.constantFrom(be32(0n), be32(CURVE_ORDER - 1n), be32(CURVE_ORDER)), weight: 1 },
);

type Outcome = { ok: Uint8Array } | { error: string };

function outcome(f: () => Uint8Array): Outcome {
  try {
    return { ok: f() };
  } catch (e) {
    // Any other error class would be a bug: the contract is a Secp256k1Error with a reason.
    if (!(e instanceof Secp256k1Error)) return { error: `unexpected ${String(e)}` };
    return { error: e.reason };
  }
}

function both(f: (impl: Secp256k1) => Uint8Array): [Outcome, Outcome] {
  return [outcome(() => f(nobleSecp256k1)), outcome(() => f(native))];
}

describe("native vs noble (property)", () => {
  it("produce byte-identical signatures, public keys and recoveries", () => {
    fc.assert(
      fc.property(secretKey, digest, (key, d) => {
        const sig = nobleSecp256k1.sign(d, key);
        expect(native.sign(d, key)).toEqual(sig);
        expect(toBig(sig.subarray(32, 64)) <= HALF).toBe(true);
        const pub = nobleSecp256k1.publicKey(key);
        expect(native.publicKey(key)).toEqual(pub);
        expect(native.recover(d, sig)).toEqual(pub);
        expect(nobleSecp256k1.recover(d, sig)).toEqual(pub);
      }),
      { seed, numRuns: 60 },
    );
  });

  it("recover the same key (or fail with the same reason) for arbitrary well-formed signatures", () => {
    const wellFormed = fc
      .tuple(scalar, fc.bigInt({ min: 1n, max: HALF }), fc.constantFrom(0, 1))
      .map(([r, s, v]) => Uint8Array.from([...be32(r), ...be32(s), v]));
    fc.assert(
      fc.property(digest, wellFormed, (d, sig) => {
        const [a, b] = both((impl) => impl.recover(d, sig));
        expect(b).toEqual(a);
        if ("error" in a) expect(a.error).toBe("unrecoverable-signature");
      }),
      { seed, numRuns: 60 },
    );
  });

  it("reject malformed signatures, digests and keys with the same Secp256k1Error reason", () => {
    const anyBytes = fc.uint8Array({ maxLength: 70 });
    const mutatedSig = fc
      .tuple(secretKey, digest, fc.nat(64), fc.integer({ min: 0, max: 255 }))
      .map(([key, d, at, value]) => {
        const sig = nobleSecp256k1.sign(d, key);
        sig[at] = value;
        return { d, sig };
      });
    const highS = fc.tuple(secretKey, digest).map(([key, d]) => {
      const sig = nobleSecp256k1.sign(d, key);
      sig.set(be32(CURVE_ORDER - toBig(sig.subarray(32, 64))), 32);
      sig[64] = 1 - (sig[64] as number);
      return { d, sig };
    });
    fc.assert(
      fc.property(
        fc.oneof(
          mutatedSig,
          highS,
          fc.record({ d: digest, sig: anyBytes }),
          fc.record({ d: anyBytes, sig: anyBytes }),
        ),
        anyBytes,
        ({ d, sig }, key) => {
          const [ra, rb] = both((impl) => impl.recover(d, sig));
          expect(rb).toEqual(ra);
          const [sa, sb] = both((impl) => impl.sign(d, key));
          expect(sb).toEqual(sa);
          const [pa, pb] = both((impl) => impl.publicKey(key));
          expect(pb).toEqual(pa);
          for (const o of [ra, sa, pa]) if ("error" in o) expect(o.error).not.toMatch(/^unexpected/);
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  it("reject the high-s twin of every valid signature as malformed", () => {
    fc.assert(
      fc.property(secretKey, digest, (key, d) => {
        const sig = native.sign(d, key);
        sig.set(be32(CURVE_ORDER - toBig(sig.subarray(32, 64))), 32);
        sig[64] = 1 - (sig[64] as number);
        expect(both((impl) => impl.recover(d, sig))).toEqual([
          { error: "malformed-signature" },
          { error: "malformed-signature" },
        ]);
      }),
      { seed, numRuns: 20 },
    );
  });
});
