import { describe, expect, it } from "vitest";
import { AccountStore } from "./account-store.js";
import { UnknownAccountError, UsageCountError } from "./errors.js";
import { fakeAccount } from "./fake-backend.test-helper.js";

describe("AccountStore", () => {
  it("holds accounts once, counts usage and rejects unknown addresses or underflow", () => {
    const store = new AccountStore();
    const a = fakeAccount(1);
    expect(store.add(a)).toBe(a);
    expect(store.add(fakeAccount(1))).toBe(a); // same address: the held one
    expect(store.size).toBe(1);
    expect(store.get(a.address)).toBe(a);
    expect(() => store.get(fakeAccount(2).address)).toThrow(UnknownAccountError);
    store.incrementUsage(a.address);
    store.incrementUsage(a.address);
    expect(store.usageCount(a.address)).toBe(2);
    store.decrementUsage(a.address);
    store.decrementUsage(a.address);
    expect(store.usageCount(a.address)).toBe(0);
    expect(() => store.decrementUsage(a.address)).toThrow(UsageCountError);
    expect(() => store.incrementUsage(fakeAccount(3).address)).toThrow(UnknownAccountError);
    expect(store.has(a.address)).toBe(true);
  });
});
