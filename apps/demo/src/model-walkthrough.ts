// A walkthrough of the channel model on the simulated backend, with no network and no chain: two
// state machines (Alice's and Bob's copy of one channel) open, fund, exchange signed payments and
// agree on a final state. The client package automates exactly these steps over a bus.

import { SimAsset, SimChannelBackend, SimWallet } from "@perun-ts/backend-sim";
import {
  type Account,
  cloneState,
  encodeState,
  noApp,
  Params,
  Phase,
  phaseName,
  type State,
  StateMachine,
  transfer,
} from "@perun-ts/core";

export interface WalkthroughOptions {
  readonly payments?: number;
  readonly print?: (line: string) => void;
}

function describeState(s: State): string {
  const [a, b] = s.allocation.balances[0] ?? [];
  return `v${s.version}  Alice ${a}  Bob ${b}${s.isFinal ? "  (final)" : ""}  ${encodeState(s).length} bytes encoded`;
}

/** Runs the walkthrough and returns the final balances [Alice, Bob]. */
export async function runModelWalkthrough(opts: WalkthroughOptions = {}): Promise<readonly bigint[]> {
  const print = opts.print ?? console.log;
  const payments = opts.payments ?? 5;
  const backend = new SimChannelBackend();
  const wallet = new SimWallet();
  const alice = wallet.newAccount();
  const bob = wallet.newAccount();

  const params = Params.create(
    {
      challengeDuration: 60n,
      parts: [alice.address, bob.address],
      app: noApp,
      nonce: 0xc0ffeen,
      ledgerChannel: true,
      virtualChannel: false,
    },
    backend,
  );
  print(`channel ${params.id.length}-byte id 0x${Buffer.from(params.id).toString("hex")}`);
  print(`  Alice ${alice.address}`);
  print(`  Bob   ${bob.address}`);

  const machines = [alice, bob].map((acc: Account, idx) => new StateMachine(params, acc, idx, backend));
  const [ma, mb] = machines as [StateMachine, StateMachine];

  // Opening: both stage version 0, sign it and swap signatures.
  const initial = { assets: [new SimAsset(1n)], balances: [[100n, 100n]], locked: [] };
  for (const m of machines) m.init(initial);
  const [sa, sb] = [await ma.sig(), await mb.sig()];
  await ma.addSig(1, sb);
  await mb.addSig(0, sa);
  for (const m of machines) m.enableInit();
  print(`opened   ${describeState(ma.current.state as State)}   phase ${phaseName(ma.phase)}`);
  for (const m of machines) m.setFunded(); // the funder would deposit here
  print(`funded   phase ${phaseName(ma.phase)}`);

  // Payments: the payer proposes, the payee checks and countersigns.
  for (let i = 0; i < payments; i++) {
    const [payer, payee, from] = i % 2 === 0 ? [ma, mb, 0] : [mb, ma, 1];
    const cur = payer.current.state as State;
    const next: State = {
      ...cloneState(cur),
      version: cur.version + 1n,
      allocation: transfer(cur.allocation, from, 1 - from, [BigInt(i + 1)]),
    };
    payer.update(next, from);
    const sig = await payer.sig();
    await payee.checkUpdate(next, from, sig, from);
    payee.update(next, from);
    await payee.addSig(from, sig);
    await payer.addSig(1 - from, await payee.sig());
    payer.enableUpdate();
    payee.enableUpdate();
    print(`${from === 0 ? "Alice" : "Bob  "} pays ${i + 1}  ${describeState(payer.current.state as State)}`);
  }

  // A final state: no further updates; it could now be concluded on chain without a dispute.
  const last = ma.current.state as State;
  const final: State = { ...cloneState(last), version: last.version + 1n, isFinal: true };
  ma.update(final, 0);
  const fs = await ma.sig();
  mb.update(final, 0);
  await mb.addSig(0, fs);
  await ma.addSig(1, await mb.sig());
  ma.enableFinal();
  mb.enableFinal();
  print(`final    ${describeState(ma.current.state as State)}   phase ${phaseName(ma.phase)}`);
  if (ma.phase !== Phase.Final || mb.phase !== Phase.Final) throw new Error("machines did not reach Final");
  return (ma.current.state as State).allocation.balances[0] ?? [];
}
