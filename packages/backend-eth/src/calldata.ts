import { adjudicatorAbi } from "@perun-ts/contracts";
import { type Address, type App, channelIdEquals, noApp, type State, type SubAlloc } from "@perun-ts/core";
import { decodeFunctionData, type Hex, hexToBytes } from "viem";
import type { EthParams, EthState } from "./encoding.js";
import { ChainDataError } from "./errors.js";
import { EthAddress } from "./eth-address.js";
import { EthAsset } from "./eth-asset.js";

/** Resolves the `App` of an on-chain app address (never called for the zero address = no app). */
export type EthAppResolver = (def: Address) => App;

/**
 * The default resolver: an app that only carries its definition address and accepts everything. The
 * chain already checked the transition (`validTransition` of the app contract); resolve real apps
 * with an `AppRegistry` when the state is used further.
 */
export const opaqueAppResolver: EthAppResolver = (def) => ({
  def,
  validInit: () => undefined,
  validTransition: () => undefined,
});

/** The core state of an on-chain state. An identity index map of the parent's size decodes as `[]`. */
export function fromEthState(s: EthState, appOf: () => App): State {
  const n = s.outcome.balances[0]?.length ?? 0;
  const locked: SubAlloc[] = s.outcome.locked.map((l) => {
    const map = l.indexMap.map(Number);
    const identity = map.length === n && map.every((x, i) => x === i);
    return { id: hexToBytes(l.ID), balances: [...l.balances], indexMap: identity ? [] : map };
  });
  return {
    id: hexToBytes(s.channelID),
    version: s.version,
    app: appOf(),
    allocation: {
      assets: s.outcome.assets.map((a) => new EthAsset(EthAddress.fromHex(a))),
      balances: s.outcome.balances.map((row) => [...row]),
      locked,
    },
    data: hexToBytes(s.appData),
    isFinal: s.isFinal,
  };
}

function appOfParams(p: EthParams, resolve: EthAppResolver): () => App {
  return () => {
    const def = EthAddress.fromHex(p.app);
    return def.isZero() ? noApp : resolve(def);
  };
}

/** What a `register` or `progress` transaction put on chain for channel `id`. */
export type DecodedUpdate =
  | { readonly kind: "register"; readonly state: State; readonly sigs: Uint8Array[] }
  | { readonly kind: "progress"; readonly state: State; readonly actorIdx: number };

/**
 * Rebuilds the state of channel `id` from the calldata of the transaction that emitted its
 * `ChannelUpdate`. Throws `ChainDataError` if the calldata is not a direct Adjudicator call
 * carrying that channel (e.g. a call through a multisig or another contract).
 */
export function decodeUpdateCalldata(input: Hex, id: Uint8Array, resolve: EthAppResolver): DecodedUpdate {
  let decoded: ReturnType<typeof decodeFunctionData<typeof adjudicatorAbi>>;
  try {
    decoded = decodeFunctionData({ abi: adjudicatorAbi, data: input });
  } catch (cause) {
    throw new ChainDataError("calldata is not an Adjudicator call", { cause });
  }
  if (decoded.functionName === "register") {
    const [root, subs] = decoded.args;
    for (const ss of [root, ...subs]) {
      if (channelIdEquals(hexToBytes(ss.state.channelID), id)) {
        return {
          kind: "register",
          state: fromEthState(ss.state, appOfParams(ss.params, resolve)),
          sigs: ss.sigs.map((s) => hexToBytes(s)),
        };
      }
    }
    throw new ChainDataError("register calldata does not contain the channel");
  }
  if (decoded.functionName === "progress") {
    const [params, , state, actorIdx] = decoded.args;
    if (!channelIdEquals(hexToBytes(state.channelID), id)) {
      throw new ChainDataError("progress calldata is for another channel");
    }
    return {
      kind: "progress",
      state: fromEthState(state, appOfParams(params, resolve)),
      actorIdx: Number(actorIdx),
    };
  }
  throw new ChainDataError(`unexpected Adjudicator call ${decoded.functionName}`);
}

/** One frame of a `debug_traceTransaction` call trace (`callTracer`): a call and its sub-calls. */
export interface CallFrame {
  readonly type?: string;
  readonly to?: string;
  readonly input?: string;
  readonly error?: string;
  readonly calls?: readonly CallFrame[];
}

/**
 * The inputs of every successful call to `adjudicator` inside a call trace, in execution order
 * (depth first). Reverted frames (and everything below them) are skipped: their effects, events
 * included, were undone.
 */
export function adjudicatorCallInputs(trace: CallFrame, adjudicator: EthAddress): Hex[] {
  const out: Hex[] = [];
  const walk = (f: CallFrame): void => {
    if (f.error !== undefined) return;
    const to = typeof f.to === "string" ? f.to.toLowerCase() : "";
    // DELEGATECALL/STATICCALL run no Adjudicator state change under the Adjudicator's address
    const isCall = f.type === undefined || f.type === "CALL";
    if (isCall && to === adjudicator.hex && typeof f.input === "string" && /^0x[0-9a-fA-F]*$/.test(f.input)) {
      out.push(f.input as Hex);
    }
    for (const c of Array.isArray(f.calls) ? f.calls : []) walk(c);
  };
  walk(trace);
  return out;
}
