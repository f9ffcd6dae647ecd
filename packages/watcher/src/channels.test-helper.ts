// Test fixtures: channel trees with real sim signatures (SimChannelBackend + SimWallet).

import { type SimAccount, SimAsset, SimChannelBackend, SimWallet } from "@perun-ts/backend-sim";
import {
  type Allocation,
  type App,
  cloneState,
  makeInitialState,
  noApp,
  Params,
  type SignedState,
  type State,
  type SubAlloc,
  transfer,
  withSubAlloc,
} from "@perun-ts/core";

export const backend = new SimChannelBackend();
export const ASSET = new SimAsset(1n);

/** Two participants with deterministic keys. */
export function participants(seed = "watcher-tests"): SimAccount[] {
  const wallet = SimWallet.fromSeed(seed);
  return [wallet.newAccount(), wallet.newAccount()];
}

export async function signAll(
  accounts: readonly SimAccount[],
  params: Params,
  state: State,
): Promise<SignedState> {
  const sigs = await Promise.all(accounts.map((a) => backend.sign(a, state)));
  return { params, state, sigs };
}

export function makeParams(
  accounts: readonly SimAccount[],
  nonce: bigint,
  ledger: boolean,
  app: App = noApp,
): Params {
  return Params.create(
    {
      challengeDuration: 60n,
      parts: accounts.map((a) => a.address),
      app,
      nonce,
      ledgerChannel: ledger,
      virtualChannel: false,
    },
    backend,
  );
}

/** A channel of the test tree with its current (latest) signed state. */
export interface TestChannel {
  readonly params: Params;
  current: SignedState;
  /** Every signed version so far, by version number. */
  readonly history: SignedState[];
}

/** Builds channel trees and updates with both participants' signatures. */
export class ChannelFactory {
  #nonce = 1n;
  constructor(readonly accounts: readonly SimAccount[]) {}

  async ledger(balances: readonly bigint[] = [100n, 100n], app: App = noApp): Promise<TestChannel> {
    const params = makeParams(this.accounts, this.#nonce++, true, app);
    const alloc: Allocation = { assets: [ASSET], balances: [[...balances]], locked: [] };
    const signed = await signAll(this.accounts, params, makeInitialState(params, alloc));
    return { params, current: signed, history: [signed] };
  }

  /** Opens a child of `parent` funded with `balances` (a parent update locks them). */
  async child(parent: TestChannel, balances: readonly bigint[]): Promise<TestChannel> {
    const params = makeParams(this.accounts, this.#nonce++, false);
    const alloc: Allocation = { assets: [ASSET], balances: [[...balances]], locked: [] };
    const signed = await signAll(this.accounts, params, makeInitialState(params, alloc));
    const sub: SubAlloc = { id: params.id, balances: [balances.reduce((a, b) => a + b, 0n)], indexMap: [] };
    await this.update(parent, (a) => withSubAlloc(a, sub, [[...balances]]));
    return { params, current: signed, history: [signed] };
  }

  /** Signs the next version of `ch` with `change` applied to its allocation. */
  async update(ch: TestChannel, change: (a: Allocation) => Allocation = (a) => a): Promise<SignedState> {
    const prev = cloneState(ch.current.state);
    const next: State = { ...prev, version: prev.version + 1n, allocation: change(prev.allocation) };
    const signed = await signAll(this.accounts, ch.params, next);
    ch.current = signed;
    ch.history.push(signed);
    return signed;
  }

  /** `ch`'s next state signed by participant `actor` only (an on-chain progression). */
  async progression(ch: TestChannel, actor: number, change: (a: Allocation) => Allocation) {
    const prev = cloneState(ch.current.state);
    const state: State = { ...prev, version: prev.version + 1n, allocation: change(prev.allocation) };
    const sig = await backend.sign(this.accounts[actor] as SimAccount, state);
    return { state, sig };
  }

  /** A payment of `amount` from participant `from` to the other one. */
  pay(ch: TestChannel, from: 0 | 1, amount: bigint): Promise<SignedState> {
    return this.update(ch, (a) => transfer(a, from, 1 - from, [amount]));
  }
}
