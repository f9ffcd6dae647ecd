// Event subscriptions across restarts and reorgs, and the typed transaction errors, on anvil.
import { assetHolderAbi } from "@perun-ts/contracts";
import {
  type AdjudicatorEvent,
  type AdjudicatorSubscription,
  ChainNotReachableError,
  makeInitialState,
  noApp,
  Params,
  type SignedState,
  type State,
  silentLogger,
  stateEquals,
  TxTimedOutError,
} from "@perun-ts/core";
import { createPublicClient, encodeFunctionData, webSocket } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EthAdjudicator } from "./adjudicator.js";
import { startAnvil } from "./anvil.js";
import { EthChain } from "./chain.js";
import { bytesToHex0x } from "./encoding.js";
import { TxFailedError } from "./errors.js";
import type { EthAccount } from "./eth-account.js";
import { EthChannelBackend } from "./eth-channel-backend.js";
import { startTestChain, type TestChain } from "./test-env.test-helper.js";

const backend = new EthChannelBackend();
let env: TestChain;
let nonce = 1n;

beforeAll(async () => {
  env = await startTestChain();
});
afterAll(async () => {
  await env?.stop();
});

const alice = () => env.accounts[1] as EthAccount;
const bob = () => env.accounts[2] as EthAccount;

async function signedAt(params: Params, version: bigint, bals: bigint[]): Promise<SignedState> {
  const s0 = makeInitialState(params, { assets: [env.deployment.ethAsset], balances: [bals], locked: [] });
  const state: State = { ...s0, version };
  return { params, state, sigs: [await backend.sign(alice(), state), await backend.sign(bob(), state)] };
}

function newChannel(): Params {
  return Params.create(
    {
      challengeDuration: 100n,
      parts: [alice().address, bob().address],
      app: noApp,
      nonce: nonce++,
      ledgerChannel: true,
      virtualChannel: false,
    },
    backend,
  );
}

const reqOf = (s: SignedState, idx = 0) => ({
  params: s.params,
  account: idx === 0 ? alice() : bob(),
  tx: { state: s.state, sigs: s.sigs },
  idx,
  secondary: false,
});

async function first(sub: AdjudicatorSubscription): Promise<AdjudicatorEvent> {
  const r = await sub[Symbol.asyncIterator]().next();
  if (r.done) throw new Error("subscription ended");
  return r.value;
}

describe("subscriptions", () => {
  it("a restarted backend finds an event older than any fixed look-back window, with its state", async () => {
    const params = newChannel();
    const s3 = await signedAt(params, 3n, [5n, 6n]);
    await new EthAdjudicator({ chain: env.chain, adjudicator: env.deployment.adjudicator }).register(
      reqOf(s3),
      [],
    );
    await env.testClient.mine({ blocks: 300 });
    // a new process: new chain view and adjudicator, scanning from the start block
    const chain = new EthChain({ client: env.anvil.rpcUrl, confirmations: 1, pollingIntervalMs: 10 });
    const sub = await new EthAdjudicator({ chain, adjudicator: env.deployment.adjudicator }).subscribe(
      params.id,
    );
    const ev = await first(sub);
    sub.close();
    expect(ev.type).toBe("registered");
    expect(ev.version).toBe(3n);
    if (ev.type !== "registered") return;
    expect(stateEquals(ev.state, s3.state)).toBe(true);
    expect(ev.sigs.map(bytesToHex0x)).toEqual(s3.sigs.map(bytesToHex0x));
    expect(await ev.timeout.isElapsed()).toBe(false);
  });

  it("an event removed by a reorg within the confirmation depth is never delivered", async () => {
    const params = newChannel();
    const deep = new EthChain({ client: env.anvil.rpcUrl, confirmations: 3, pollingIntervalMs: 10 });
    const sub = await new EthAdjudicator({ chain: deep, adjudicator: env.deployment.adjudicator }).subscribe(
      params.id,
    );
    const snapshot = await env.testClient.snapshot();
    const sender = new EthAdjudicator({ chain: env.chain, adjudicator: env.deployment.adjudicator });
    const orphan = await signedAt(params, 1n, [1n, 2n]);
    await sender.register(reqOf(orphan), []); // mined in block N, 1 confirmation
    await env.testClient.mine({ blocks: 1 }); // 2 confirmations: still pending for the subscription
    await env.testClient.revert({ id: snapshot }); // the block with the registration is gone
    // nonces restart after the revert: send from a fresh chain view
    const fresh = new EthAdjudicator({
      chain: new EthChain({ client: env.anvil.rpcUrl, confirmations: 1, pollingIntervalMs: 10 }),
      adjudicator: env.deployment.adjudicator,
    });
    const canonical = await signedAt(params, 2n, [2n, 1n]);
    await fresh.register(reqOf(canonical, 1), []);
    await env.testClient.mine({ blocks: 3 });
    const ev = await first(sub);
    sub.close();
    expect([ev.type, ev.version]).toEqual(["registered", 2n]);
  });

  it("close ends the polling loop and the iteration", async () => {
    const sub = await new EthAdjudicator({
      chain: env.chain,
      adjudicator: env.deployment.adjudicator,
    }).subscribe(newChannel().id);
    const pending = sub[Symbol.asyncIterator]().next();
    sub.close();
    expect((await pending).done).toBe(true);
  });
});

describe("transaction errors", () => {
  const badDeposit = () =>
    encodeFunctionData({
      abi: assetHolderAbi,
      functionName: "deposit",
      args: [bytesToHex0x(new Uint8Array(32).fill(1)), 5n],
    });

  it("a reverting simulation is a TxFailedError with the revert reason", async () => {
    const err = await env.chain
      .send(
        alice().txAccount,
        { to: env.deployment.ethAsset.hex, data: badDeposit(), value: 4n },
        { label: "deposit" },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxFailedError);
    expect((err as TxFailedError).reason).toBe("wrong amount of ETH for deposit");
  });

  it("a transaction reverted on chain is a TxFailedError with the replayed reason", async () => {
    const err = await env.chain
      .send(
        alice().txAccount,
        { to: env.deployment.ethAsset.hex, data: badDeposit(), value: 4n, gas: 100_000n },
        { label: "deposit" },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxFailedError);
    expect((err as TxFailedError).reason).toBe("wrong amount of ETH for deposit");
    expect((err as TxFailedError).details.txHash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("a transaction that is not mined in time is a TxTimedOutError", async () => {
    const chain = new EthChain({
      client: env.anvil.rpcUrl,
      confirmations: 1,
      pollingIntervalMs: 10,
      txTimeoutMs: 150,
    });
    await env.testClient.setAutomine(false);
    try {
      const err = await chain
        .send(alice().txAccount, { to: bob().address.hex, data: "0x", value: 1n }, { label: "transfer" })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TxTimedOutError);
    } finally {
      await env.testClient.setAutomine(true);
      await env.testClient.mine({ blocks: 1 });
    }
  });

  it("an unreachable node is a ChainNotReachableError", async () => {
    const dead = await startAnvil();
    await dead.stop();
    const chain = new EthChain({ client: dead.rpcUrl, confirmations: 1, pollingIntervalMs: 10 });
    await expect(chain.head()).rejects.toBeInstanceOf(ChainNotReachableError);
    const adj = new EthAdjudicator({ chain, adjudicator: env.deployment.adjudicator });
    await expect(adj.register(reqOf(await signedAt(newChannel(), 1n, [1n, 1n])), [])).rejects.toBeInstanceOf(
      ChainNotReachableError,
    );
  });
});

describe("transports and deep reorgs", () => {
  it("works over a WebSocket transport", async () => {
    const client = createPublicClient({ transport: webSocket(env.anvil.wsUrl), cacheTime: 0 });
    const chain = new EthChain({ client, confirmations: 1, pollingIntervalMs: 10 });
    try {
      const adj = new EthAdjudicator({ chain, adjudicator: env.deployment.adjudicator });
      const params = newChannel();
      const sub = await adj.subscribe(params.id);
      await adj.register(reqOf(await signedAt(params, 4n, [1n, 1n])), []);
      const ev = await first(sub);
      sub.close();
      expect([ev.type, ev.version]).toEqual(["registered", 4n]);
    } finally {
      await (client.transport as { getRpcClient?: () => Promise<{ close(): void }> })
        .getRpcClient?.()
        .then((c) => c.close());
    }
  });

  it("a reorg deeper than the confirmation depth is detected and rescanned", async () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (msg: string) => warnings.push(msg), child: () => logger };
    const params = newChannel();
    const watchChain = new EthChain({ client: env.anvil.rpcUrl, confirmations: 1, pollingIntervalMs: 10 });
    const sub = await new EthAdjudicator({
      chain: watchChain,
      adjudicator: env.deployment.adjudicator,
      logger,
    }).subscribe(params.id);
    const snapshot = await env.testClient.snapshot();
    const sender = () =>
      new EthAdjudicator({
        chain: new EthChain({ client: env.anvil.rpcUrl, confirmations: 1, pollingIntervalMs: 10 }),
        adjudicator: env.deployment.adjudicator,
      });
    await sender().register(reqOf(await signedAt(params, 1n, [1n, 2n])), []);
    const delivered = await first(sub); // confirmed at depth 1, then reorged away
    expect(delivered.version).toBe(1n);
    await env.testClient.revert({ id: snapshot });
    await env.testClient.mine({ blocks: 2 });
    await sender().register(reqOf(await signedAt(params, 2n, [2n, 1n]), 1), []);
    const next = await first(sub);
    sub.close();
    expect([next.type, next.version]).toEqual(["registered", 2n]);
    expect(warnings.some((w) => w.includes("reorg"))).toBe(true);
  });
});
