// Channel updates made through another contract (a forwarder, as a multisig or smart wallet would):
// their state comes from the node's call trace, else from locally known states, else the event is
// delivered marked state-unknown — never dropped.
import { createRequire } from "node:module";
import { adjudicatorAbi } from "@perun-ts/contracts";
import {
  type AdjudicatorEvent,
  type AdjudicatorSubscription,
  makeInitialState,
  noApp,
  Params,
  type SignedState,
  type State,
  stateEquals,
} from "@perun-ts/core";
import { createPublicClient, custom, encodeFunctionData, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EthAdjudicator } from "./adjudicator.js";
import { BlockTimeout } from "./block-timeout.js";
import { adjudicatorCallInputs } from "./calldata.js";
import { EthChain } from "./chain.js";
import { bytesToHex0x, toEthParams, toEthState } from "./encoding.js";
import type { EthAccount } from "./eth-account.js";
import { EthAddress } from "./eth-address.js";
import { EthChannelBackend } from "./eth-channel-backend.js";
import type { StateUnknown } from "./subscription.js";
import { startTestChain, type TestChain } from "./test-env.test-helper.js";

// A forwarder: calls `target` with `data` and bubbles a revert up.
const FORWARDER_SOURCE = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;
contract Forwarder {
  function forward(address target, bytes calldata data) external {
    (bool ok, bytes memory ret) = target.call(data);
    if (!ok) { assembly { revert(add(ret, 32), mload(ret)) } }
  }
}`;

const forwardAbi = [
  {
    type: "function",
    name: "forward",
    stateMutability: "nonpayable",
    inputs: [
      { name: "target", type: "address" },
      { name: "data", type: "bytes" },
    ],
    outputs: [],
  },
] as const;

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
}

/** Compiles the forwarder with solc-js from @perun-ts/contracts' dev dependencies. */
function compileForwarder(): Hex {
  // @perun-ts/contracts exports no package.json; resolve next to its linked folder
  const contractsDir = new URL("../node_modules/@perun-ts/contracts/", import.meta.url);
  const fromContracts = createRequire(new URL("package.json", contractsDir));
  const solc = fromContracts("solc") as { compile(input: string): string };
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: "Solidity",
        sources: { "Forwarder.sol": { content: FORWARDER_SOURCE } },
        settings: { outputSelection: { "*": { "*": ["evm.bytecode.object"] } } },
      }),
    ),
  ) as SolcOutput;
  const errors = (out.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  return `0x${out.contracts["Forwarder.sol"]?.Forwarder?.evm.bytecode.object}` as Hex;
}

const backend = new EthChannelBackend();
let env: TestChain;
let forwarder: EthAddress;
let nonce = 1000n;

beforeAll(async () => {
  env = await startTestChain();
  const deployer = env.accounts[0] as EthAccount;
  const receipt = await env.chain.send(
    deployer.txAccount,
    { data: compileForwarder() },
    { label: "deploy forwarder" },
  );
  forwarder = EthAddress.fromHex(receipt.contractAddress as string);
}, 60_000);
afterAll(async () => {
  await env?.stop();
});

const alice = () => env.accounts[1] as EthAccount;
const bob = () => env.accounts[2] as EthAccount;

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

async function signedAt(params: Params, version: bigint, bals: bigint[]): Promise<SignedState> {
  const s0 = makeInitialState(params, { assets: [env.deployment.ethAsset], balances: [bals], locked: [] });
  const state: State = { ...s0, version };
  return { params, state, sigs: [await backend.sign(alice(), state), await backend.sign(bob(), state)] };
}

/** Registers `s` by calling the forwarder (so the tx input is not an Adjudicator call). */
async function registerViaForwarder(s: SignedState): Promise<void> {
  const inner = encodeFunctionData({
    abi: adjudicatorAbi,
    functionName: "register",
    args: [
      {
        params: toEthParams(s.params),
        state: toEthState(s.state),
        sigs: s.sigs.map((x) => bytesToHex0x(x as Uint8Array)),
      },
      [],
    ],
  });
  await env.chain.send(
    alice().txAccount,
    {
      to: forwarder.hex,
      data: encodeFunctionData({
        abi: forwardAbi,
        functionName: "forward",
        args: [env.deployment.adjudicator.hex, inner],
      }),
    },
    { label: "forward register" },
  );
}

async function first(sub: AdjudicatorSubscription): Promise<AdjudicatorEvent> {
  const r = await sub[Symbol.asyncIterator]().next();
  if (r.done) throw new Error("subscription ended");
  return r.value;
}

describe("updates through another contract", () => {
  it("rebuilds the state from the node's call trace", async () => {
    const s = await signedAt(newChannel(), 4n, [3n, 9n]);
    await registerViaForwarder(s);
    const adj = new EthAdjudicator({ chain: env.chain, adjudicator: env.deployment.adjudicator });
    const sub = await adj.subscribe(s.state.id);
    try {
      const ev = await first(sub);
      expect(ev.type).toBe("registered");
      if (ev.type !== "registered") return;
      expect(ev.version).toBe(4n);
      expect(stateEquals(ev.state, s.state)).toBe(true);
      expect(ev.sigs.map(bytesToHex0x)).toEqual(s.sigs.map((x) => bytesToHex0x(x as Uint8Array)));
      expect((ev as Partial<StateUnknown>).stateUnknown).toBeUndefined();
    } finally {
      sub.close();
    }
  });

  it("without traces, uses a locally known state of the registered version (hash-checked)", async () => {
    const s = await signedAt(newChannel(), 6n, [1n, 2n]);
    const other = await signedAt(s.params, 6n, [2n, 1n]); // same version, different state
    await registerViaForwarder(s);
    const asked: bigint[] = [];
    const withKnown = (known: SignedState) =>
      new EthAdjudicator({
        chain: env.chain,
        adjudicator: env.deployment.adjudicator,
        traceCalls: false,
        knownStates: (_id, version) => {
          asked.push(version);
          return version === known.state.version
            ? { state: known.state, sigs: known.sigs as Uint8Array[] }
            : undefined;
        },
      });
    const sub = await withKnown(s).subscribe(s.state.id);
    try {
      const ev = await first(sub);
      expect(ev.type === "registered" && stateEquals(ev.state, s.state)).toBe(true);
      expect((ev as Partial<StateUnknown>).stateUnknown).toBeUndefined();
    } finally {
      sub.close();
    }
    expect(asked).toEqual([6n]);
    // a known state whose hash differs from the on-chain one is not passed off as the registered one
    const sub2 = await withKnown(other).subscribe(s.state.id);
    try {
      const ev = await first(sub2);
      expect(ev.type).toBe("registered");
      expect((ev as Partial<StateUnknown>).stateUnknown).toBe(true);
    } finally {
      sub2.close();
    }
  });

  it("with neither, delivers the event with version and timeout, marked state-unknown (new events too)", async () => {
    const s1 = await signedAt(newChannel(), 1n, [5n, 5n]);
    const adj = new EthAdjudicator({
      chain: env.chain,
      adjudicator: env.deployment.adjudicator,
      traceCalls: false,
    });
    const sub = await adj.subscribe(s1.state.id);
    try {
      await registerViaForwarder(s1);
      const ev = await first(sub);
      expect(ev.type).toBe("registered");
      expect(ev.version).toBe(1n);
      expect((ev as Partial<StateUnknown>).stateUnknown).toBe(true);
      const dispute = await adj.dispute(s1.state.id);
      expect(dispute.version).toBe(1n);
      // the timeout is the chain's: it has not elapsed yet and ends at the dispute record's timeout
      expect(await ev.timeout.isElapsed()).toBe(false);
      expect(ev.timeout instanceof BlockTimeout && ev.timeout.time).toBe(dispute.timeout);
      expect(ev.type === "registered" && ev.state.version).toBe(1n);
      expect(ev.type === "registered" && ev.sigs.length).toBe(0);
    } finally {
      sub.close();
    }
  });

  it("finds only successful Adjudicator CALLs in a trace", () => {
    const adj = EthAddress.fromHex(`0x${"ab".repeat(20)}`);
    const trace = {
      type: "CALL",
      to: `0x${"cd".repeat(20)}`,
      input: "0x01",
      calls: [
        { type: "CALL", to: `0x${"AB".repeat(20)}`, input: "0xaa" },
        { type: "CALL", to: `0x${"ab".repeat(20)}`, input: "0xbb", error: "execution reverted" },
        { type: "DELEGATECALL", to: `0x${"ab".repeat(20)}`, input: "0xcc" },
        {
          type: "CALL",
          to: `0x${"ee".repeat(20)}`,
          calls: [{ type: "CALL", to: `0x${"ab".repeat(20)}`, input: "0xdd" }],
        },
        { type: "CALL", to: `0x${"ab".repeat(20)}`, input: "not hex" },
      ],
    };
    expect(adjudicatorCallInputs(trace, adj)).toEqual(["0xaa", "0xdd"]);
  });

  it("a transaction the node fails to return is retried, then built without it — never skipped", async () => {
    /** A chain whose node answers eth_getTransactionByHash with an error the first `failures` times. */
    const flakyChain = (failures: number) => {
      const state = { failed: 0 };
      const client = createPublicClient({
        transport: custom(
          {
            async request({ method, params }: { method: string; params?: unknown }) {
              if (method === "eth_getTransactionByHash" && state.failed < failures) {
                state.failed++;
                throw new Error("transaction index not ready");
              }
              const res = await fetch(env.anvil.rpcUrl, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params ?? [] }),
              });
              const body = (await res.json()) as { result?: unknown; error?: { message: string } };
              if (body.error) throw new Error(body.error.message);
              return body.result;
            },
          },
          { retryCount: 0 },
        ),
      });
      return { chain: new EthChain({ client, confirmations: 1, pollingIntervalMs: 10 }), state };
    };
    const direct = new EthAdjudicator({ chain: env.chain, adjudicator: env.deployment.adjudicator });

    // transient: two failures, then the state is rebuilt from calldata
    const s1 = await signedAt(newChannel(), 2n, [4n, 4n]);
    const flaky = flakyChain(2);
    const sub = await new EthAdjudicator({
      chain: flaky.chain,
      adjudicator: env.deployment.adjudicator,
    }).subscribe(s1.state.id);
    try {
      await direct.register({ params: s1.params, account: alice(), tx: s1, idx: 0, secondary: false }, []);
      const ev = await first(sub);
      expect(flaky.state.failed).toBe(2);
      expect(ev.type === "registered" && stateEquals(ev.state, s1.state)).toBe(true);
      expect((ev as Partial<StateUnknown>).stateUnknown).toBeUndefined();
    } finally {
      sub.close();
    }

    // permanent: delivered state-unknown after the retries
    const s2 = await signedAt(newChannel(), 3n, [4n, 4n]);
    const broken = flakyChain(Number.MAX_SAFE_INTEGER);
    const sub2 = await new EthAdjudicator({
      chain: broken.chain,
      adjudicator: env.deployment.adjudicator,
    }).subscribe(s2.state.id);
    try {
      await direct.register({ params: s2.params, account: alice(), tx: s2, idx: 0, secondary: false }, []);
      const ev = await first(sub2);
      expect(ev.version).toBe(3n);
      expect((ev as Partial<StateUnknown>).stateUnknown).toBe(true);
      expect(broken.state.failed).toBeGreaterThanOrEqual(5);
    } finally {
      sub2.close();
    }
  });
});
