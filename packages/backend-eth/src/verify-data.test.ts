import { SignatureError } from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { EthPrivateKeyAccount } from "./eth-account.js";
import { EthChannelBackend } from "./eth-channel-backend.js";

describe("EthChannelBackend.verifyData", () => {
  const backend = new EthChannelBackend();
  const alice = EthPrivateKeyAccount.random();
  const bob = EthPrivateKeyAccount.random();
  const data = new TextEncoder().encode("handshake transcript");

  it("accepts the signer's signData signature and nothing else", async () => {
    const sig = await alice.signData(data);
    expect(backend.verifyData(alice.address, data, sig)).toBe(true);
    expect(backend.verifyData(bob.address, data, sig)).toBe(false);
    expect(backend.verifyData(alice.address, new TextEncoder().encode("other"), sig)).toBe(false);
  });

  it("rejects a malformed signature with SignatureError", async () => {
    const sig = await alice.signData(data);
    expect(() => backend.verifyData(alice.address, data, sig.slice(0, 64))).toThrow(SignatureError);
  });
});
