import type {
  Account,
  Address,
  Adjudicator,
  AppRegistry,
  Asset,
  ChannelBackend,
  Funder,
  Wallet,
} from "@perun-ts/core";
import type { Bus } from "@perun-ts/wire";

/** One ledger (chain) shared by the parties of a scenario, with one asset and controllable time. */
export interface ScenarioLedger {
  /** The asset every scenario channel uses. */
  readonly asset: Asset;
  /** A `Funder` for one party (deposits from the participant's own ledger address). */
  funder(): Funder;
  /** An `Adjudicator` for one party (withdraws to the participant's own ledger address). */
  adjudicator(): Adjudicator;
  /** Gives `address` `amount` of the asset on the ledger. */
  mint(address: Address, amount: bigint): Promise<void>;
  /** `address`'s ledger balance of the asset (outside channels). */
  balanceOf(address: Address): Promise<bigint>;
  /** Moves ledger time forward; dispute and funding timeouts elapse without sleeping. */
  advanceTime(seconds: bigint): Promise<void>;
  /** Releases the ledger's resources. */
  close(): Promise<void>;
}

/** Connects the parties of one scenario. */
export interface ScenarioNetwork {
  /** A bus on which `identity.address` receives and from which it sends. */
  busFor(identity: Account): Promise<Bus>;
  /** Closes every bus it handed out. */
  close(): Promise<void>;
}

/**
 * What a backend provides to run the client scenarios: its channel backend, wallets, a ledger
 * factory and a network factory. `@perun-ts/testing` ships one for the sim backend
 * (`simScenarioSetup`); the Ethereum backend provides its own and reruns the same scenarios.
 */
export interface ScenarioSetup {
  /** Shown in test names. */
  readonly name: string;
  readonly backend: ChannelBackend;
  /** Challenge duration (ledger seconds) of scenario channels. */
  readonly challengeDuration: bigint;
  /** A wallet with a way to create fresh accounts in it. */
  newWallet(): { readonly wallet: Wallet; newAccount(): Promise<Account> };
  newLedger(): Promise<ScenarioLedger>;
  /** A network whose envelopes decode apps with `apps`. */
  newNetwork(apps: AppRegistry): Promise<ScenarioNetwork>;
  /** A fresh address usable as an app definition. */
  newAppDef(): Promise<Address>;
}
