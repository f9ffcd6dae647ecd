// Shared fixtures for core's validity and state-machine tests: two fake participants, a channel
// with two assets and helpers to derive follow-up states. Test-only; not exported from the package.
import type { Allocation } from "./allocation.js";
import { type App, noApp } from "./app.js";
import type { ChannelBackend } from "./channel-backend.js";
import { FakeAddress, FakeAsset, FakeBackend, fakeAccount } from "./fake-backend.test-helper.js";
import type { Account, Address } from "./identity.js";
import { StateMachine } from "./machine.js";
import { Params } from "./params.js";
import type { State } from "./state.js";

export const backend = new FakeBackend();
export const alice: Account = fakeAccount(1);
export const bob: Account = fakeAccount(2);
export const carol: Account = fakeAccount(3);
export const assets = [new FakeAsset(1), new FakeAsset(2)];
export const appAddress = new FakeAddress(new Uint8Array(20).fill(0x77));

export function makeParams(opts: { app?: App; nonce?: bigint; parts?: Account[] } = {}): Params {
  return Params.create(
    {
      challengeDuration: 60n,
      parts: (opts.parts ?? [alice, bob]).map((a) => a.address),
      app: opts.app ?? noApp,
      nonce: opts.nonce ?? 1n,
      ledgerChannel: true,
      virtualChannel: false,
    },
    backend,
  );
}

export function makeAllocation(): Allocation {
  return {
    assets,
    balances: [
      [10n, 10n],
      [5n, 7n],
    ],
    locked: [],
  };
}

/** `s` with a bumped version and the given fields replaced. */
export function next(s: State, patch: Partial<State> = {}): State {
  return { ...s, version: s.version + 1n, ...patch };
}

/** `s`'s allocation with `amount` of asset 0 moved from participant `from` to `to`. */
export function pay(s: State, from: number, to: number, amount: bigint): Allocation {
  const balances = s.allocation.balances.map((row, i) =>
    row.map((v, j) => (i !== 0 ? v : j === from ? v - amount : j === to ? v + amount : v)),
  );
  return { ...s.allocation, balances };
}

/** A backend that counts sign/verify calls (to check "sign once", "verify once"). */
export class CountingBackend implements ChannelBackend {
  signs = 0;
  verifies = 0;
  readonly signatureLength = backend.signatureLength;
  calcId = backend.calcId.bind(backend);
  decodeAddress = backend.decodeAddress.bind(backend);
  decodeAsset = backend.decodeAsset.bind(backend);
  sign(account: Account, state: State) {
    this.signs++;
    return backend.sign(account, state);
  }
  verify(signer: Address, state: State, sig: Uint8Array) {
    this.verifies++;
    return backend.verify(signer, state, sig);
  }
}

/** Alice's and Bob's machines after the opening protocol, both in phase Acting at version 0. */
export async function openPair(
  params: Params = makeParams(),
  be: ChannelBackend = backend,
): Promise<[StateMachine, StateMachine]> {
  const a = new StateMachine(params, alice, 0, be);
  const b = new StateMachine(params, bob, 1, be);
  a.init(makeAllocation());
  b.init(makeAllocation());
  const [sa, sb] = [await a.sig(), await b.sig()];
  await a.addSig(1, sb);
  await b.addSig(0, sa);
  a.enableInit();
  b.enableInit();
  a.setFunded();
  b.setFunded();
  return [a, b];
}

/** One update proposed by `from` and accepted by `to` (the hot path of ARCHITECTURE.md §3). */
export async function exchange(from: StateMachine, to: StateMachine, state: State): Promise<void> {
  from.update(state, from.idx);
  const sig = await from.sig();
  await to.checkUpdate(state, from.idx, sig, from.idx);
  to.update(state, from.idx);
  await to.addSig(from.idx, sig);
  const back = await to.sig();
  await from.addSig(to.idx, back);
  if (state.isFinal) {
    to.enableFinal();
    from.enableFinal();
  } else {
    to.enableUpdate();
    from.enableUpdate();
  }
}
