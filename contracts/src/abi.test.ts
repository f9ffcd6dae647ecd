// ABI compatibility with perun-eth-contracts 73b45de (spec-eth §2.1, §3.1, §4).
import { type AbiEvent, type AbiFunction, toEventSelector, toFunctionSelector } from "viem";
import { describe, expect, it } from "vitest";
import {
  adjudicatorAbi,
  appAbi,
  assetHolderAbi,
  assetHolderErc20Abi,
  assetHolderEthAbi,
  perunTokenAbi,
  testTokenAbi,
  trivialAppAbi,
} from "./index.js";

const PARAMS = "(uint256,uint256,address[],address,bool,bool)";
const STATE = "(bytes32,uint64,(address[],uint256[][],(bytes32,uint256[],uint16[])[]),bytes,bool)";
const SIGNED = `(${PARAMS},${STATE},bytes[])`;

/** spec-eth §3.1: selector → canonical signature. */
const ADJUDICATOR_SELECTORS: Record<string, string> = {
  e30194b7: `register(${SIGNED},${SIGNED}[])`,
  "02357657": `progress(${PARAMS},${STATE},${STATE},uint256,bytes)`,
  "97f5a097": `conclude(${PARAMS},${STATE},${STATE}[])`,
  "66e7b564": `concludeFinal(${PARAMS},${STATE},bytes[])`,
  "6f68e70e": `channelID(${PARAMS})`,
  "1fb910dd": `hashState(${STATE})`,
  "11be1997": "disputes(bytes32)",
};
const ASSET_HOLDER_SELECTORS: Record<string, string> = {
  "1de26e16": "deposit(bytes32,uint256)",
  "4ed4283c": "withdraw((bytes32,address,address,uint256),bytes)",
  fc79a66d: "setOutcome(bytes32,address[],uint256[])",
  ae9ee18c: "holdings(bytes32)",
  d945af1d: "settled(bytes32)",
  "53c2ed8e": "adjudicator()",
};
const APP_SELECTORS: Record<string, string> = {
  "0d1feb4f": `validTransition(${PARAMS},${STATE},${STATE},uint256)`,
};

/** spec-eth §4. */
const TOPICS: Record<string, string> = {
  "ChannelUpdate(bytes32,uint64,uint8,uint64)":
    "0x895ef5a5fc3efd313a300b006d6ce97ff0670dfe04f6eea90417edf924fa786b",
  "Deposited(bytes32,uint256)": "0xcd2fe07293de5928c5df9505b65a8d6506f8668dfe81af09090920687edc48a9",
  "Withdrawn(bytes32,uint256,address)": "0xd0b6e7d0170f56c62f87de6a8a47a0ccf41c86ffb5084d399d8eb62e823f2a81",
  "OutcomeSet(bytes32)": "0xef898d6cd3395b6dfe67a3c1923e5c726c1b154e979fb0a25a9c41d0093168b8",
};

const functions = (abi: readonly unknown[]) =>
  (abi as readonly { type: string }[]).filter((x): x is AbiFunction => x.type === "function");
const events = (abi: readonly unknown[]) =>
  (abi as readonly { type: string }[]).filter((x): x is AbiEvent => x.type === "event");
const selectors = (abi: readonly unknown[]) =>
  Object.fromEntries(functions(abi).map((f) => [toFunctionSelector(f).slice(2), f.name]));

function expectSelectors(abi: readonly unknown[], expected: Record<string, string>): void {
  const actual = selectors(abi);
  for (const [selector, signature] of Object.entries(expected)) {
    // the spec's signature hashes to the spec's selector …
    expect(toFunctionSelector(signature).slice(2), signature).toBe(selector);
    // … and our ABI has a function with exactly that selector
    expect(actual[selector], signature).toBe(signature.slice(0, signature.indexOf("(")));
  }
}

describe("function selectors (spec-eth §3.1)", () => {
  it("Adjudicator", () => {
    expectSelectors(adjudicatorAbi, ADJUDICATOR_SELECTORS);
    // nothing else is exposed
    expect(Object.keys(selectors(adjudicatorAbi)).sort()).toEqual(Object.keys(ADJUDICATOR_SELECTORS).sort());
  });

  it("asset holders", () => {
    for (const abi of [assetHolderAbi, assetHolderEthAbi, assetHolderErc20Abi]) {
      expectSelectors(abi, ASSET_HOLDER_SELECTORS);
    }
    expectSelectors(assetHolderErc20Abi, { fc0c546a: "token()" });
    expect(Object.keys(selectors(assetHolderEthAbi)).sort()).toEqual(
      Object.keys(ASSET_HOLDER_SELECTORS).sort(),
    );
  });

  it("App and TrivialApp", () => {
    expectSelectors(appAbi, APP_SELECTORS);
    expectSelectors(trivialAppAbi, APP_SELECTORS);
    const vt = functions(trivialAppAbi).find((f) => f.name === "validTransition");
    expect(vt?.stateMutability).toBe("pure");
  });

  it("test token has the ERC20 surface plus increaseAllowance", () => {
    expect(testTokenAbi).toBe(perunTokenAbi);
    expectSelectors(perunTokenAbi, {
      a9059cbb: "transfer(address,uint256)",
      "23b872dd": "transferFrom(address,address,uint256)",
      "095ea7b3": "approve(address,uint256)",
      "39509351": "increaseAllowance(address,uint256)",
      a457c2d7: "decreaseAllowance(address,uint256)",
      "70a08231": "balanceOf(address)",
      dd62ed3e: "allowance(address,address)",
    });
  });
});

describe("events (spec-eth §4)", () => {
  it("topics and indexing", () => {
    const all = [...events(adjudicatorAbi), ...events(assetHolderEthAbi)];
    for (const [signature, topic] of Object.entries(TOPICS)) {
      expect(toEventSelector(signature), signature).toBe(topic);
      const ev = all.find((e) => toEventSelector(e) === topic);
      expect(ev, signature).toBeDefined();
      // exactly the first input is indexed
      expect(ev?.inputs.map((i) => i.indexed ?? false)).toEqual(ev?.inputs.map((_, k) => k === 0));
    }
    expect(events(adjudicatorAbi).map((e) => e.name)).toEqual(["ChannelUpdate"]);
    expect(
      events(assetHolderErc20Abi)
        .map((e) => e.name)
        .sort(),
    ).toEqual(["Deposited", "OutcomeSet", "Withdrawn"]);
  });
});

describe("struct layout (spec-eth §2.1)", () => {
  it("field names and order of Params, State, Allocation, SubAlloc, SignedState", () => {
    const register = functions(adjudicatorAbi).find((f) => f.name === "register");
    const signed = register?.inputs[0] as unknown as Component;
    expect(names(signed)).toEqual(["params", "state", "sigs"]);
    const [params, state] = signed.components ?? [];
    expect(names(params)).toEqual([
      "challengeDuration",
      "nonce",
      "participants",
      "app",
      "ledgerChannel",
      "virtualChannel",
    ]);
    expect(names(state)).toEqual(["channelID", "version", "outcome", "appData", "isFinal"]);
    const outcome = state?.components?.[2];
    expect(names(outcome)).toEqual(["assets", "balances", "locked"]);
    expect(names(outcome?.components?.[2])).toEqual(["ID", "balances", "indexMap"]);
  });

  it("disputes getter tuple", () => {
    const disputes = functions(adjudicatorAbi).find((f) => f.name === "disputes");
    expect(disputes?.outputs.map((o) => `${o.name}:${o.type}`)).toEqual([
      "timeout:uint64",
      "challengeDuration:uint64",
      "version:uint64",
      "hasApp:bool",
      "phase:uint8",
      "stateHash:bytes32",
    ]);
  });

  it("withdrawal authorization", () => {
    const withdraw = functions(assetHolderEthAbi).find((f) => f.name === "withdraw");
    expect(names(withdraw?.inputs[0] as unknown as Component)).toEqual([
      "channelID",
      "participant",
      "receiver",
      "amount",
    ]);
  });
});

interface Component {
  name?: string;
  components?: readonly Component[];
}
const names = (c: Component | undefined) => c?.components?.map((x) => x.name);
