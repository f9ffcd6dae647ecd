// Ids and state hashes equal the deployed Adjudicator's pure `channelID` / `hashState` (200 random cases).
import { adjudicatorAbi } from "@perun-ts/contracts";
import { toHex } from "@perun-ts/core";
import { arbChannelState } from "@perun-ts/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashState, toEthParams, toEthState } from "./encoding.js";
import { EthPrivateKeyAccount } from "./eth-account.js";
import { EthAddress } from "./eth-address.js";
import { EthAsset } from "./eth-asset.js";
import { EthChannelBackend } from "./eth-channel-backend.js";
import { testSigners } from "./signers.test-helper.js";
import { startTestChain, type TestChain } from "./test-env.test-helper.js";

const backend = new EthChannelBackend();
export const ethTypes = {
  backend,
  address: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => EthAddress.fromBytes(b)),
  asset: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => EthAsset.fromBytes(b)),
};

describe("encodings equal the contract's", () => {
  let env: TestChain;
  beforeAll(async () => {
    env = await startTestChain();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("channelID and hashState for 200 random params/states", async () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`contract-equality seed ${seed}`);
    const arb = arbChannelState({
      backend: ethTypes,
      data: fc.uint8Array({ minLength: 0, maxLength: 80 }),
      numLocked: { min: 0, max: 3 },
    });
    const cases = fc.sample(arb, { seed, numRuns: 200 });
    const adjudicator = env.deployment.adjudicator.hex;
    const results = await Promise.all(
      cases.map(async ({ params, state }) => {
        const [id, hash] = await Promise.all([
          env.chain.client.readContract({
            address: adjudicator,
            abi: adjudicatorAbi,
            functionName: "channelID",
            args: [toEthParams(params)],
          }),
          env.chain.client.readContract({
            address: adjudicator,
            abi: adjudicatorAbi,
            functionName: "hashState",
            args: [toEthState(state)],
          }),
        ]);
        return { id, hash, ours: { id: `0x${toHex(params.id)}`, hash: `0x${toHex(hashState(state))}` } };
      }),
    );
    for (const r of results) {
      expect(r.ours.id).toBe(r.id);
      expect(r.ours.hash).toBe(r.hash);
    }
    expect(results.length).toBe(200);

    // The same states signed by every secp256k1 implementation: identical bytes, and each
    // implementation's backend verifies the other's signature.
    const [[, first], ...others] = testSigners as [(typeof testSigners)[number], ...typeof testSigners];
    const key = fc.sample(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
      seed,
      numRuns: 1,
    })[0] as Uint8Array;
    key[0] = 1; // keep it below the curve order
    const a = EthPrivateKeyAccount.fromSecretKey(key, { secp256k1: first });
    for (const [, secp256k1] of others) {
      const b = EthPrivateKeyAccount.fromSecretKey(key, { secp256k1 });
      const verifyA = new EthChannelBackend({ secp256k1: first });
      const verifyB = new EthChannelBackend({ secp256k1 });
      for (const { state } of cases) {
        const [sa, sb] = await Promise.all([backend.sign(a, state), backend.sign(b, state)]);
        expect(toHex(sb)).toBe(toHex(sa));
        expect(await verifyB.verify(a.address, state, sa)).toBe(true);
        expect(await verifyA.verify(b.address, state, sb)).toBe(true);
      }
    }
  });
});
