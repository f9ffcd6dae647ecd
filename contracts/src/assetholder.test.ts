// AssetHolderETH / AssetHolderERC20: deposits, outcomes, withdrawals (spec-eth §3.3) and the fixes of
// issue 9 (contract receivers without re-entrancy, tokens returning nothing).
import { type Abi, type Address, getAddress, type Hex, keccak256, parseEventLogs, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adjudicatorAbi } from "./generated/Adjudicator.js";
import { assetHolderErc20Abi, assetHolderErc20Bytecode } from "./generated/AssetHolderERC20.js";
import { assetHolderEthAbi } from "./generated/AssetHolderETH.js";
import { perunTokenAbi } from "./generated/PerunToken.js";
import { contractReceiverAbi, contractReceiverBytecode } from "./generated/test/ContractReceiver.js";
import { falseTokenAbi, falseTokenBytecode } from "./generated/test/FalseToken.js";
import { noReturnTokenAbi, noReturnTokenBytecode } from "./generated/test/NoReturnToken.js";
import { reentrantReceiverAbi, reentrantReceiverBytecode } from "./generated/test/ReentrantReceiver.js";
import { rejectingReceiverAbi, rejectingReceiverBytecode } from "./generated/test/RejectingReceiver.js";
import type { TestChain } from "./test-support/chain.js";
import {
  alice,
  bob,
  channelId,
  type Fixture,
  fundingId,
  makeParams,
  makeState,
  type Params,
  setupFixture,
  signAll,
  signAuth,
  type WithdrawalAuth,
} from "./test-support/perun.js";

let f: Fixture;
let chain: TestChain;
let nonceCounter = 1n;

beforeAll(async () => {
  f = await setupFixture();
  chain = f.chain;
});
afterAll(async () => {
  await chain?.stop();
});

type Who = typeof alice;
const freshParams = () => makeParams({ nonce: nonceCounter++ });
const fresh = (label: string): Address =>
  getAddress(`0x${keccak256(toHex(`${label}:${nonceCounter++}`)).slice(26)}`);

const read = (holder: Address, functionName: "holdings" | "settled", arg: Hex) =>
  chain.publicClient.readContract({ address: holder, abi: assetHolderEthAbi, functionName, args: [arg] });
const held = (holder: Address, params: Params, who: Who) =>
  read(holder, "holdings", fundingId(channelId(params), who.address)) as Promise<bigint>;

const depositSpec = (holder: Address, fid: Hex, amount: bigint, value: bigint, from: Who = alice) =>
  ({
    address: holder,
    abi: assetHolderEthAbi,
    functionName: "deposit",
    args: [fid, amount],
    value,
    from,
  }) as const;

async function concludeFinal(params: Params, assets: Address[], balances: bigint[][]) {
  const state = makeState(params, { version: 1n, isFinal: true, outcome: { assets, balances, locked: [] } });
  return chain.send({
    address: f.adjudicator,
    abi: adjudicatorAbi,
    functionName: "concludeFinal",
    args: [params, state, await signAll([alice, bob], state)],
  });
}

async function withdrawSpec(
  holder: Address,
  params: Params,
  who: Who,
  amount: bigint,
  receiver: Address,
  signer = who,
) {
  const auth: WithdrawalAuth = { channelID: channelId(params), participant: who.address, receiver, amount };
  return {
    address: holder,
    abi: assetHolderEthAbi,
    functionName: "withdraw",
    args: [auth, await signAuth(signer, auth)],
  } as const;
}

const balance = (address: Address) => chain.publicClient.getBalance({ address });

describe("AssetHolderETH", () => {
  it("deposit: requires msg.value == amount, accumulates per funding ID, emits Deposited", async () => {
    const params = freshParams();
    const fid = fundingId(channelId(params), alice.address);
    expect(await chain.revertReason(depositSpec(f.ethHolder, fid, 10n, 9n))).toBe(
      "wrong amount of ETH for deposit",
    );
    const r = await chain.send(depositSpec(f.ethHolder, fid, 10n, 10n, bob)); // anyone may deposit for anyone
    expect(
      parseEventLogs({ abi: assetHolderEthAbi, logs: r.logs }).map((e) => [e.eventName, e.args]),
    ).toEqual([["Deposited", { fundingID: fid, amount: 10n }]]);
    await chain.send(depositSpec(f.ethHolder, fid, 5n, 5n));
    expect(await held(f.ethHolder, params, alice)).toBe(15n);
  });

  it("setOutcome is only for the adjudicator", async () => {
    const params = freshParams();
    expect(
      await chain.revertReason({
        address: f.ethHolder,
        abi: assetHolderEthAbi,
        functionName: "setOutcome",
        args: [channelId(params), [alice.address, bob.address], [1n, 2n]],
      }),
    ).toBe("can only be called by the adjudicator");
  });

  it("withdraw: settled, signed by the participant, within holdings; replayable while funds suffice", async () => {
    const params = freshParams();
    const id = channelId(params);
    await chain.send(depositSpec(f.ethHolder, fundingId(id, alice.address), 100n, 100n, alice));
    await chain.send(depositSpec(f.ethHolder, fundingId(id, bob.address), 100n, 100n, bob));
    const receiver = fresh("receiver");
    expect(await read(f.ethHolder, "settled", id)).toBe(false);
    expect(await chain.revertReason(await withdrawSpec(f.ethHolder, params, alice, 10n, receiver))).toBe(
      "channel not settled",
    );
    await concludeFinal(params, [f.ethHolder], [[40n, 160n]]);
    expect(await read(f.ethHolder, "settled", id)).toBe(true);
    expect(await held(f.ethHolder, params, alice)).toBe(40n);
    expect(await chain.revertReason(await withdrawSpec(f.ethHolder, params, alice, 10n, receiver, bob))).toBe(
      "signature verification failed",
    );
    expect(await chain.revertReason(await withdrawSpec(f.ethHolder, params, alice, 41n, receiver))).toBe(
      "insufficient funds",
    );
    const spec = await withdrawSpec(f.ethHolder, params, alice, 15n, receiver);
    const r = await chain.send(spec);
    expect(parseEventLogs({ abi: assetHolderEthAbi, logs: r.logs }).map((e) => e.args)).toEqual([
      { fundingID: fundingId(id, alice.address), amount: 15n, receiver },
    ]);
    await chain.send(spec); // replay
    expect(await balance(receiver)).toBe(30n);
    expect(await held(f.ethHolder, params, alice)).toBe(10n);
    await chain.send(await withdrawSpec(f.ethHolder, params, alice, 10n, receiver));
    expect(await held(f.ethHolder, params, alice)).toBe(0n);
    // after a full withdrawal the channel still counts as settled: 0 is fine, more is not
    await chain.send(await withdrawSpec(f.ethHolder, params, alice, 0n, receiver));
    expect(await chain.revertReason(await withdrawSpec(f.ethHolder, params, alice, 1n, receiver))).toBe(
      "insufficient funds",
    );
    expect(await balance(receiver)).toBe(40n);
    await chain.send(await withdrawSpec(f.ethHolder, params, bob, 160n, fresh("bob")));
    expect(await held(f.ethHolder, params, bob)).toBe(0n);
  });

  it("under-funded channel: everybody keeps exactly the deposit", async () => {
    const params = freshParams();
    await chain.send(depositSpec(f.ethHolder, fundingId(channelId(params), alice.address), 5n, 5n));
    await concludeFinal(params, [f.ethHolder], [[2n, 8n]]);
    expect(await held(f.ethHolder, params, alice)).toBe(5n);
    expect(await held(f.ethHolder, params, bob)).toBe(0n);
    // bob's zero balance is settled too
    await chain.send(await withdrawSpec(f.ethHolder, params, bob, 0n, fresh("bob")));
    await chain.send(await withdrawSpec(f.ethHolder, params, alice, 5n, fresh("alice")));
  });

  it("deposits to the channel ID count towards the outcome and are then zeroed; surplus stays", async () => {
    const params = freshParams();
    const id = channelId(params);
    await chain.send(depositSpec(f.ethHolder, id, 5n, 5n));
    await chain.send(depositSpec(f.ethHolder, fundingId(id, alice.address), 3n, 3n));
    await chain.send(depositSpec(f.ethHolder, fundingId(id, bob.address), 4n, 4n, bob));
    await concludeFinal(params, [f.ethHolder], [[1n, 9n]]);
    expect(await held(f.ethHolder, params, alice)).toBe(1n);
    expect(await held(f.ethHolder, params, bob)).toBe(9n);
    expect(await read(f.ethHolder, "holdings", id)).toBe(0n);
  });

  it("pays contract receivers whose receive() needs more than 2300 gas", async () => {
    const params = freshParams();
    await chain.send(depositSpec(f.ethHolder, fundingId(channelId(params), alice.address), 7n, 7n));
    await concludeFinal(params, [f.ethHolder], [[7n, 0n]]);
    const receiver = await chain.deploy(contractReceiverAbi as Abi, contractReceiverBytecode);
    await chain.send(await withdrawSpec(f.ethHolder, params, alice, 7n, receiver));
    const get = (functionName: "received" | "calls") =>
      chain.publicClient.readContract({ address: receiver, abi: contractReceiverAbi, functionName });
    expect(await get("received")).toBe(7n);
    expect(await get("calls")).toBe(1n);
  });

  it("blocks re-entrant withdrawals and reverts if the receiver rejects the payment", async () => {
    const params = freshParams();
    await chain.send(depositSpec(f.ethHolder, fundingId(channelId(params), alice.address), 10n, 10n));
    await concludeFinal(params, [f.ethHolder], [[10n, 0n]]);
    const attacker = await chain.deploy(reentrantReceiverAbi as Abi, reentrantReceiverBytecode, [
      f.ethHolder,
    ]);
    const spec = await withdrawSpec(f.ethHolder, params, alice, 4n, attacker);
    await chain.send({ address: attacker, abi: reentrantReceiverAbi, functionName: "arm", args: spec.args });
    await chain.send(spec);
    const get = (functionName: "received" | "reentryFailed") =>
      chain.publicClient.readContract({ address: attacker, abi: reentrantReceiverAbi, functionName });
    expect(await get("reentryFailed")).toBe(true);
    expect(await get("received")).toBe(4n);
    expect(await held(f.ethHolder, params, alice)).toBe(6n);

    const rejecting = await chain.deploy(rejectingReceiverAbi as Abi, rejectingReceiverBytecode);
    expect(await chain.revertReason(await withdrawSpec(f.ethHolder, params, alice, 1n, rejecting))).toBe(
      "ETH transfer failed",
    );
    expect(await held(f.ethHolder, params, alice)).toBe(6n);
  });
});

describe("AssetHolderERC20", () => {
  async function tokenHolder(tokenAbi: Abi, bytecode: Hex, args: readonly unknown[]) {
    const token = await chain.deploy(tokenAbi, bytecode, args);
    const holder = await chain.deploy(assetHolderErc20Abi as Abi, assetHolderErc20Bytecode, [
      f.adjudicator,
      token,
    ]);
    return { token, holder };
  }

  it("exposes token() and adjudicator()", async () => {
    const r = (functionName: "token" | "adjudicator") =>
      chain.publicClient.readContract({ address: f.erc20Holder, abi: assetHolderErc20Abi, functionName });
    expect(await r("token")).toBe(f.token);
    expect(await r("adjudicator")).toBe(f.adjudicator);
  });

  it("deposit pulls tokens with transferFrom; rejects ETH and missing allowance; withdraw transfers", async () => {
    const params = freshParams();
    const fid = fundingId(channelId(params), alice.address);
    expect(await chain.revertReason(depositSpec(f.erc20Holder, fid, 10n, 1n))).toBe(
      "message value must be 0 for token deposit",
    );
    expect(await chain.revertReason(depositSpec(f.erc20Holder, fid, 10n, 0n))).toBe("transferFrom failed");
    await chain.send({
      address: f.token,
      abi: perunTokenAbi,
      functionName: "increaseAllowance",
      args: [f.erc20Holder, 10n],
      from: alice,
    });
    await chain.send(depositSpec(f.erc20Holder, fid, 10n, 0n));
    const tokenBalance = (a: Address) =>
      chain.publicClient.readContract({
        address: f.token,
        abi: perunTokenAbi,
        functionName: "balanceOf",
        args: [a],
      });
    expect(await tokenBalance(f.erc20Holder)).toBe(10n);
    await concludeFinal(params, [f.erc20Holder], [[4n, 6n]]);
    // alice's deposit covers the whole outcome, so it is applied although bob deposited nothing
    const receiver = fresh("tok");
    expect(await chain.revertReason(await withdrawSpec(f.erc20Holder, params, alice, 5n, receiver))).toBe(
      "insufficient funds",
    );
    await chain.send(await withdrawSpec(f.erc20Holder, params, alice, 4n, receiver));
    expect(await tokenBalance(receiver)).toBe(4n);
    expect(await tokenBalance(f.erc20Holder)).toBe(6n);
    expect(await held(f.erc20Holder, params, bob)).toBe(6n);
  });

  it("works with tokens that return nothing (USDT-style)", async () => {
    const { token, holder } = await tokenHolder(noReturnTokenAbi as Abi, noReturnTokenBytecode, [
      alice.address,
      1000n,
    ]);
    const params = freshParams();
    await chain.send({
      address: token,
      abi: noReturnTokenAbi,
      functionName: "approve",
      args: [holder, 100n],
      from: alice,
    });
    await chain.send(depositSpec(holder, fundingId(channelId(params), alice.address), 100n, 0n));
    // a failing transferFrom (no allowance left) still reverts
    expect(
      await chain.revertReason(depositSpec(holder, fundingId(channelId(params), alice.address), 1n, 0n)),
    ).toBe("transferFrom failed");
    await concludeFinal(params, [holder], [[100n, 0n]]);
    const receiver = fresh("usdt");
    await chain.send(await withdrawSpec(holder, params, alice, 100n, receiver));
    const bal = (a: Address) =>
      chain.publicClient.readContract({
        address: token,
        abi: noReturnTokenAbi,
        functionName: "balanceOf",
        args: [a],
      });
    expect(await bal(receiver)).toBe(100n);
    expect(await bal(alice.address)).toBe(900n);
  });

  it("reverts when the token returns false", async () => {
    const refusing = await tokenHolder(falseTokenAbi as Abi, falseTokenBytecode, [false]);
    const params = freshParams();
    const fid = fundingId(channelId(params), alice.address);
    expect(await chain.revertReason(depositSpec(refusing.holder, fid, 1n, 0n))).toBe("transferFrom failed");
    const payoutFails = await tokenHolder(falseTokenAbi as Abi, falseTokenBytecode, [true]);
    await chain.send(depositSpec(payoutFails.holder, fid, 5n, 0n));
    await concludeFinal(params, [payoutFails.holder], [[5n, 0n]]);
    expect(
      await chain.revertReason(await withdrawSpec(payoutFails.holder, params, alice, 5n, fresh("x"))),
    ).toBe("transfer failed");
  });
});
