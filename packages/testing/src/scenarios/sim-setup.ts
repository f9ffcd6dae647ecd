import {
  ManualClock,
  SimAccount,
  SimAsset,
  SimChannelBackend,
  SimLedger,
  SimWallet,
} from "@perun-ts/backend-sim";
import type { Account, AppRegistry } from "@perun-ts/core";
import { AddressBook, type Bus, EnvelopeCodec, LocalBus, NetBus } from "@perun-ts/wire";
import type { ScenarioLedger, ScenarioNetwork, ScenarioSetup } from "./setup.js";

/** Which bus the sim scenarios run on. */
export type SimNetworkKind = "local" | "net";

/** Builds a network of the given kind; `net` is supplied by the caller (see `simScenarioSetup`). */
export type NetworkFactory = (apps: AppRegistry, backend: SimChannelBackend) => Promise<ScenarioNetwork>;

/** A LocalBus network that round-trips every envelope through the wire codec. */
export function serializingLocalNetwork(
  apps: AppRegistry,
  backend: SimChannelBackend,
): Promise<ScenarioNetwork> {
  const bus: Bus = new LocalBus({ codec: new EnvelopeCodec({ backend, apps }) });
  return Promise.resolve({
    busFor: async (_identity: Account) => bus,
    close: () => bus.close(),
  });
}

/** One NetBus per party over loopback TCP, sharing an address book; authenticated handshakes. */
export function tcpNetwork(apps: AppRegistry, backend: SimChannelBackend): Promise<ScenarioNetwork> {
  const book = new AddressBook();
  const buses: NetBus[] = [];
  return Promise.resolve({
    busFor: async (identity: Account) => {
      const bus = new NetBus({
        identity,
        verifySignature: (signer, data, sig) => backend.verifyData(signer, data, sig),
        codec: new EnvelopeCodec({ backend, apps }),
        addressBook: book,
      });
      buses.push(bus);
      book.set(identity.address, await bus.listen({ host: "127.0.0.1", port: 0 }));
      return bus;
    },
    close: async () => {
      await Promise.all(buses.map((b) => b.close()));
    },
  });
}

/**
 * The scenario setup of the sim backend: `SimChannelBackend`, `SimWallet`s, a `SimLedger` on a
 * manual clock, and the network built by `network` (a serializing LocalBus by default).
 */
export function simScenarioSetup(
  opts: { readonly name?: string; readonly network?: NetworkFactory } = {},
): ScenarioSetup {
  const backend = new SimChannelBackend();
  const network = opts.network ?? serializingLocalNetwork;
  return {
    name: opts.name ?? "sim over serializing LocalBus",
    backend,
    challengeDuration: 60n,
    newWallet() {
      const wallet = new SimWallet();
      return { wallet, newAccount: async () => wallet.newAccount() };
    },
    async newLedger(): Promise<ScenarioLedger> {
      const clock = new ManualClock(1_000n);
      const ledger = new SimLedger({ backend, clock });
      const asset = new SimAsset(1n);
      return {
        asset,
        funder: () => ledger.funder(),
        adjudicator: () => ledger.adjudicator(),
        mint: async (address, amount) => ledger.mint(address, asset, amount),
        balanceOf: async (address) => ledger.balanceOf(address, asset),
        advanceTime: async (seconds) => clock.advance(seconds),
        close: async () => {},
      };
    },
    newNetwork: (apps) => network(apps, backend),
    newAppDef: async () => SimAccount.random().address,
  };
}
