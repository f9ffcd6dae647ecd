import { inspect } from "node:util";
import { PerunError } from "@perun-ts/core";
import { requireNativeSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";
import { describe, expect, it } from "vitest";
import { SimAccount } from "./sim-account.js";
import { SimAddress } from "./sim-address.js";
import { SimWallet, UnknownAccountError, UsageCountError } from "./sim-wallet.js";

describe("SimWallet", () => {
  it("derives the same accounts from the same seed and different ones from another", () => {
    const a = SimWallet.fromSeed("alice");
    const b = SimWallet.fromSeed("alice");
    const c = SimWallet.fromSeed(new TextEncoder().encode("bob"));
    const as = [a.newAccount(), a.newAccount()].map((x) => x.address.toString());
    expect([b.newAccount(), b.newAccount()].map((x) => x.address.toString())).toEqual(as);
    expect(as[0]).not.toBe(as[1]);
    expect(as).not.toContain(c.newAccount().address.toString());
  });

  it("creates and imports accounts that use the configured secp256k1, with the same keys and signatures", async () => {
    const native = requireNativeSecp256k1();
    let signs = 0;
    const counting: Secp256k1 = {
      ...native,
      sign(d, k) {
        signs++;
        return native.sign(d, k);
      },
    };
    const fast = SimWallet.fromSeed("alice", { secp256k1: counting });
    const reference = SimWallet.fromSeed("alice");
    const [a, b] = [fast.newAccount(), reference.newAccount()];
    expect(a.address.equals(b.address)).toBe(true);
    const data = new Uint8Array([7, 7]);
    expect(await a.signData(data)).toEqual(await b.signData(data));
    expect(signs).toBe(1);
    await new SimWallet({ secp256k1: counting }).newAccount().signData(data);
    await fast.importSecretKey(new Uint8Array(32).fill(4)).signData(data);
    expect(signs).toBe(3);
  });

  it("unlocks held accounts and rejects unknown addresses with UnknownAccountError", async () => {
    const w = new SimWallet();
    const acc = w.newAccount();
    expect(await w.unlock(SimAddress.fromBytes(acc.address.bytes()))).toBe(acc);
    const other = SimAccount.random().address;
    await expect(w.unlock(other)).rejects.toBeInstanceOf(UnknownAccountError);
    expect(w.hasAccount(acc.address)).toBe(true);
    expect(w.hasAccount(other)).toBe(false);
  });

  it("imports secret keys and keeps one account per address", () => {
    const w = new SimWallet();
    const key = new Uint8Array(32).fill(3);
    const first = w.importSecretKey(key);
    expect(w.importSecretKey(key)).toBe(first);
    expect(w.addAccount(SimAccount.fromSecretKey(key))).toBe(first);
    expect(w.addresses().map(String)).toEqual([first.address.toString()]);
  });

  it("counts usage and rejects an unmatched decrement with a typed error", () => {
    const w = new SimWallet();
    const a = w.newAccount().address;
    expect(w.usageCount(a)).toBe(0);
    w.incrementUsage(a);
    w.incrementUsage(a);
    expect(w.usageCount(a)).toBe(2);
    w.decrementUsage(a);
    w.decrementUsage(a);
    expect(w.usageCount(a)).toBe(0);
    expect(() => w.decrementUsage(a)).toThrow(UsageCountError);
    expect(w.usageCount(a)).toBe(0);
    // the account stays usable
    w.incrementUsage(a);
    expect(w.usageCount(a)).toBe(1);
    const unknown = SimAccount.random().address;
    expect(() => w.incrementUsage(unknown)).toThrow(UnknownAccountError);
    expect(() => w.decrementUsage(unknown)).toThrow(PerunError);
  });

  it("does not reveal the seed in its renderings", () => {
    const w = SimWallet.fromSeed("very-secret-seed");
    w.newAccount();
    for (const r of [String(w), JSON.stringify(w), inspect(w, { showHidden: true })]) {
      expect(r).not.toContain("very-secret-seed");
    }
    expect(JSON.stringify(w)).toContain(w.addresses()[0]?.toString());
  });
});
