import { inspect } from "node:util";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { fromHex, toHex, ValidationError } from "@perun-ts/core";
import { nobleSecp256k1, requireNativeSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";
import { describe, expect, it } from "vitest";
import { SimAccount } from "./sim-account.js";
import { SIM_SIGNATURE_LENGTH } from "./sim-signature.js";

const KEY = fromHex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

describe("SimAccount", () => {
  it("never reveals its secret key in toString, JSON or inspect", () => {
    const acc = SimAccount.fromSecretKey(KEY);
    const secret = toHex(KEY);
    const renderings = [
      String(acc),
      JSON.stringify(acc),
      inspect(acc, { showHidden: true, depth: 10 }),
      inspect({ nested: [acc] }, { depth: 10 }),
      Object.keys(acc).join(","),
      JSON.stringify(Object.getOwnPropertyNames(acc)),
    ];
    for (const r of renderings) {
      expect(r.toLowerCase()).not.toContain(secret);
      expect(r.toLowerCase()).not.toContain(secret.slice(0, 16));
    }
    expect(String(acc)).toContain(acc.address.toString());
  });

  it("copies the secret key it is given", async () => {
    const key = KEY.slice();
    const acc = SimAccount.fromSecretKey(key);
    const before = await acc.signData(new Uint8Array([1]));
    key.fill(7);
    expect(await acc.signData(new Uint8Array([1]))).toEqual(before);
  });

  it("signs keccak256(data) as r ‖ s ‖ v, verifiable by plain noble with prehash off", async () => {
    const acc = SimAccount.fromSecretKey(KEY);
    const data = new TextEncoder().encode("hello perun");
    const sig = await acc.signData(data);
    expect(sig.length).toBe(SIM_SIGNATURE_LENGTH);
    expect([0, 1]).toContain(sig[64]);
    const digest = keccak_256(data);
    const pub = secp256k1.getPublicKey(KEY, false);
    expect(secp256k1.verify(sig.subarray(0, 64), digest, pub, { prehash: false })).toBe(true);
    // noble's own recovered layout is v ‖ r ‖ s
    const nobleLayout = new Uint8Array(65);
    nobleLayout[0] = sig[64] as number;
    nobleLayout.set(sig.subarray(0, 64), 1);
    expect(secp256k1.recoverPublicKey(nobleLayout, digest, { prehash: false })).toEqual(
      secp256k1.getPublicKey(KEY, true),
    );
    // deterministic (RFC 6979)
    expect(await acc.signData(data)).toEqual(sig);
  });

  it("rejects invalid secret keys with ValidationError", () => {
    const n = secp256k1.Point.CURVE().n;
    const order = fromHex(n.toString(16).padStart(64, "0"));
    for (const bad of [new Uint8Array(32), new Uint8Array(31).fill(1), new Uint8Array(33).fill(1), order]) {
      expect(() => SimAccount.fromSecretKey(bad)).toThrow(ValidationError);
    }
  });

  it("derives its address and signs through the configured secp256k1, with the same bytes as noble", async () => {
    const calls: string[] = [];
    const native = requireNativeSecp256k1();
    const counting: Secp256k1 = {
      name: "counting-native",
      sign(d, k) {
        calls.push("sign");
        return native.sign(d, k);
      },
      recover(d, s) {
        calls.push("recover");
        return native.recover(d, s);
      },
      publicKey(k) {
        calls.push("publicKey");
        return native.publicKey(k);
      },
    };
    const fast = SimAccount.fromSecretKey(KEY, { secp256k1: counting });
    const reference = SimAccount.fromSecretKey(KEY, { secp256k1: nobleSecp256k1 });
    expect(fast.address.equals(reference.address)).toBe(true);
    const data = new TextEncoder().encode("same bytes");
    expect(await fast.signData(data)).toEqual(await reference.signData(data));
    expect(calls).toEqual(["publicKey", "sign"]);
    const random = SimAccount.random({ secp256k1: counting });
    expect(calls).toEqual(["publicKey", "sign", "publicKey"]);
    expect(random.address.equals(fast.address)).toBe(false);
  });

  it("creates distinct random accounts", () => {
    expect(SimAccount.random().address.equals(SimAccount.random().address)).toBe(false);
  });
});
