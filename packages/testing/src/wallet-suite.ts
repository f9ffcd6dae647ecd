import {
  type Address,
  type Asset,
  type ChannelBackend,
  PerunError,
  SignatureError,
  type Wallet,
} from "@perun-ts/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbChannelState } from "./arbitraries/channel.js";
import { describeError, outcome, type SuiteRunOptions, sampleOne, suiteSeed } from "./suite-support.js";

/** What {@link walletSuite} needs to exercise a `Wallet` with its backend. */
export interface WalletSuiteSetup extends SuiteRunOptions {
  readonly wallet: Wallet;
  readonly backend: ChannelBackend;
  /** An address whose account the wallet holds (called once per test). */
  addressInWallet(): Address | Promise<Address>;
  /** An address the wallet holds no account for. */
  readonly unknownAddress: Address;
  /** The backend's addresses and assets, to build states to sign. */
  readonly address: fc.Arbitrary<Address>;
  readonly asset: fc.Arbitrary<Asset>;
  /** If the wallet exposes usage counts, the suite checks them. */
  usageCount?(address: Address): number;
}

/**
 * The wallet conformance suite (go-perun spec §9.1 layer 1): unlocking, signing through the
 * unlocked account, and usage counting. Call it inside a vitest file; it registers a `describe`.
 */
export function walletSuite(setup: WalletSuiteSetup): void {
  const name = setup.name ?? "wallet conformance";
  const { wallet, backend } = setup;
  const types = { backend, address: setup.address, asset: setup.asset };

  describe(name, () => {
    const seed = suiteSeed(name, setup.seed);
    const numRuns = setup.numRuns ?? 5;

    it("unlocks a held address to an account with that address", async () => {
      const address = await setup.addressInWallet();
      const account = await wallet.unlock(address);
      expect(account.address.equals(address)).toBe(true);
      const again = await wallet.unlock(address);
      expect(again.address.equals(address)).toBe(true);
    });

    it("rejects unlocking an unknown address with a PerunError", async () => {
      const r = await outcome(() => wallet.unlock(setup.unknownAddress));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error instanceof PerunError, describeError(r.error)).toBe(true);
    });

    it("the unlocked account signs states that verify for its address only", async () => {
      const address = await setup.addressInWallet();
      const account = await wallet.unlock(address);
      await fc.assert(
        fc.asyncProperty(arbChannelState({ backend: types, firstPart: address }), async ({ state }) => {
          const sig = await backend.sign(account, state);
          expect(sig.length).toBe(backend.signatureLength);
          expect(await backend.verify(address, state, sig)).toBe(true);
          expect(await backend.verify(setup.unknownAddress, state, sig)).toBe(false);
          expect(await backend.verify(address, { ...state, version: state.version + 1n }, sig)).toBe(false);
        }),
        { seed, numRuns },
      );
    });

    it("tampered, truncated and extended signatures do not verify", async () => {
      const address = await setup.addressInWallet();
      const account = await wallet.unlock(address);
      const { state } = sampleOne(arbChannelState({ backend: types }), seed);
      const sig = await backend.sign(account, state);
      const tampered = sig.slice();
      tampered[0] = (tampered[0] as number) ^ 1;
      for (const bad of [tampered, sig.subarray(0, sig.length - 1), Uint8Array.from([...sig, 1])]) {
        const r = await outcome(() => backend.verify(address, state, bad));
        if (r.ok) expect(r.value).toBe(false);
        else expect(r.error instanceof SignatureError, describeError(r.error)).toBe(true);
      }
    });

    it("signData returns signatures of the backend's length", async () => {
      const account = await wallet.unlock(await setup.addressInWallet());
      for (const data of [new Uint8Array(0), new Uint8Array(1), new Uint8Array(1000).fill(7)]) {
        expect((await account.signData(data)).length).toBe(backend.signatureLength);
      }
    });

    it("counts usage up and down", async () => {
      const address = await setup.addressInWallet();
      const start = setup.usageCount?.(address);
      for (let i = 1; i <= 3; i++) {
        wallet.incrementUsage(address);
        if (start !== undefined) expect(setup.usageCount?.(address)).toBe(start + i);
      }
      expect((await wallet.unlock(address)).address.equals(address)).toBe(true);
      for (let i = 2; i >= 0; i--) {
        wallet.decrementUsage(address);
        if (start !== undefined) expect(setup.usageCount?.(address)).toBe(start + i);
      }
    });

    it("an unmatched decrement is a PerunError (or ignored), never a crash", async () => {
      const address = await setup.addressInWallet();
      const start = setup.usageCount?.(address) ?? 0;
      for (let i = 0; i < start; i++) wallet.decrementUsage(address);
      let error: unknown;
      try {
        wallet.decrementUsage(address);
      } catch (e) {
        error = e;
      }
      if (error !== undefined) expect(error instanceof PerunError, describeError(error)).toBe(true);
      if (setup.usageCount) expect(setup.usageCount(address)).toBe(0);
      // the wallet still works afterwards
      wallet.incrementUsage(address);
      if (setup.usageCount) expect(setup.usageCount(address)).toBe(1);
      wallet.decrementUsage(address);
      for (let i = 0; i < start; i++) wallet.incrementUsage(address);
    });
  });
}
