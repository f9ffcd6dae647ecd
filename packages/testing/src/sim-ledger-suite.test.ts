// SimLedger proves itself with the generic Funder + Adjudicator conformance suite.
import { ManualClock, SimAsset, SimChannelBackend, SimLedger, SimWallet } from "@perun-ts/backend-sim";
import { type Address, type App, channelIdHex, type State, StateTransitionError } from "@perun-ts/core";
import { ledgerConformanceSuite } from "./ledger-suite.js";

/** An app that accepts every transition (the sim counterpart of the TrivialApp contract). */
function trivialApp(def: Address): App {
  return {
    def,
    validInit: () => undefined,
    validTransition: (_p, _from: State, to: State) => {
      if (to.data.length > 1024) throw new StateTransitionError(channelIdHex(to.id), "data too large");
    },
  };
}

const backend = new SimChannelBackend();

ledgerConformanceSuite({
  name: "SimLedger",
  async create() {
    const clock = new ManualClock(1_000_000n);
    const ledger = new SimLedger({ backend, clock, initialBalance: 1_000n });
    const wallet = SimWallet.fromSeed("sim-ledger-suite");
    const accounts = [wallet.newAccount(), wallet.newAccount(), wallet.newAccount()];
    const assets = [new SimAsset(1n), new SimAsset(2n)];
    return {
      backend,
      assets,
      parties: accounts.map((account) => ({
        account,
        funder: ledger.funder(),
        adjudicator: ledger.adjudicator(),
      })),
      app: trivialApp(wallet.newAccount().address),
      advanceTime: async (seconds) => clock.advance(seconds),
      balanceOf: async (party, asset) =>
        ledger.balanceOf((accounts[party] as (typeof accounts)[number]).address, assets[asset] as SimAsset),
      close: async () => {
        if (clock.pendingWaiters !== 0) throw new Error(`${clock.pendingWaiters} clock waiters leaked`);
      },
    };
  },
});
