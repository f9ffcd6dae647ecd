// spec-eth §2.4 test vector, checked off-chain and through the deployed Adjudicator.
import { parseEventLogs, recoverMessageAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adjudicatorAbi } from "./generated/Adjudicator.js";
import {
  alice,
  bob,
  channelId,
  type Fixture,
  fundingId,
  hashAuth,
  hashState,
  makeParams,
  makeState,
  setupFixture,
  signAuth,
  signState,
} from "./test-support/perun.js";

const V = {
  alice: "0x9B11740EA6d46b9176B1eBB69a1672BE9c2c63d8",
  bob: "0x49328BE73C2EDB094E13Ac5F7D1cfb6dBBA47D15",
  channelID: "0xafacac82b05c76b728c486b6f241f35fda2ab3e142ee61aedbd3e606e8f01bde",
  stateHash: "0xacec4bf100df797f0d7ed26a0f87f6b5b2df1f6a42ebc9e910fd312efa4d9a5d",
  sigAlice:
    "0x4c48e8581ae9c890b3e446a36a8cdfbfb123c63aed0179b543a82fe19de07fef6739ee991a3b6badd8432a87e2d588c87bf1055c2c1a3c74d360784ddf14d6ad1b",
  sigBob:
    "0x1230873e531bd3ccee7cae701ba65886bddcc357ca9753c52f54089af69b49b21a612863bf3f8bbf39df85e1fd5a6a551694b8ec8af64536412adda9870b4f8f1c",
  fundingAlice: "0x45e4a190bff45c8e1ef60d876df1939448c77c7e8ab3745701a291164c55ded2",
  authHash: "0xeff3124dd0f5d43f544838d35815077c8aef8765dcdda5c04cf74194aa346d8c",
  authSig:
    "0x6718196c03d9b8ab39f2200a3ab44654904310687e54b74516bb91f0777558710bae2bd3901b2dcde71b8e0d7d5a8e417ea68d279b653d708ee9b0402f5f5f391b",
} as const;

const E18 = 10n ** 18n;
const params = makeParams({ challengeDuration: 3600n, nonce: 42n });
const state = makeState(params, {
  version: 7n,
  isFinal: true,
  outcome: {
    assets: ["0x1111111111111111111111111111111111111111"],
    balances: [[E18, 2n * E18]],
    locked: [],
  },
});
const auth = {
  channelID: V.channelID,
  participant: alice.address,
  receiver: "0x000000000000000000000000000000000000a11c",
  amount: E18,
} as const;

let f: Fixture;
beforeAll(async () => {
  f = await setupFixture();
});
afterAll(async () => {
  await f?.chain.stop();
});

describe("spec-eth §2.4 test vector", () => {
  it("off-chain encodings and signatures", async () => {
    expect(alice.address).toBe(V.alice);
    expect(bob.address).toBe(V.bob);
    expect(channelId(params)).toBe(V.channelID);
    expect(hashState(state)).toBe(V.stateHash);
    expect(await signState(alice, state)).toBe(V.sigAlice);
    expect(await signState(bob, state)).toBe(V.sigBob);
    expect(fundingId(V.channelID, alice.address)).toBe(V.fundingAlice);
    expect(hashAuth(auth)).toBe(V.authHash);
    expect(await signAuth(alice, auth)).toBe(V.authSig);
    expect(await recoverMessageAddress({ message: { raw: V.authHash }, signature: V.authSig })).toBe(V.alice);
  });

  it("channelID and hashState on-chain", async () => {
    const read = f.chain.publicClient;
    expect(
      await read.readContract({
        address: f.adjudicator,
        abi: adjudicatorAbi,
        functionName: "channelID",
        args: [params],
      }),
    ).toBe(V.channelID);
    expect(
      await read.readContract({
        address: f.adjudicator,
        abi: adjudicatorAbi,
        functionName: "hashState",
        args: [state],
      }),
    ).toBe(V.stateHash);
  });

  it("register accepts the vector's signatures", async () => {
    const receipt = await f.chain.send({
      address: f.adjudicator,
      abi: adjudicatorAbi,
      functionName: "register",
      args: [{ params, state, sigs: [V.sigAlice, V.sigBob] }, []],
    });
    const now = await f.chain.blockTimestampOf(receipt);
    const [ev, ...rest] = parseEventLogs({ abi: adjudicatorAbi, logs: receipt.logs });
    expect(rest).toEqual([]);
    expect(ev?.args).toEqual({ channelID: V.channelID, version: 7n, phase: 0, timeout: now });
    const d = await f.chain.publicClient.readContract({
      address: f.adjudicator,
      abi: adjudicatorAbi,
      functionName: "disputes",
      args: [V.channelID],
    });
    // final state: timeout = now
    expect(d).toEqual([now, 3600n, 7n, false, 0, V.stateHash]);
  });

  it("register rejects the vector's signatures in swapped order", async () => {
    const p2 = makeParams({ nonce: 43n });
    const s2 = { ...state, channelID: channelId(p2) };
    const sigs = [await signState(bob, s2), await signState(alice, s2)];
    expect(
      await f.chain.revertReason({
        address: f.adjudicator,
        abi: adjudicatorAbi,
        functionName: "register",
        args: [{ params: p2, state: s2, sigs }, []],
      }),
    ).toBe("invalid signature");
  });
});
