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
import type { SignatureVerifier } from "@perun-ts/wire";

/**
 * What a node needs from its chain backend (sim or eth): the crypto, the node's account, the
 * chain's asset, funder and adjudicator, and balance reads for display.
 */
export interface NodeChain {
  readonly backend: ChannelBackend;
  readonly wallet: Wallet;
  /** The node's account: wire identity and on-chain participant. */
  readonly account: Account;
  /** The asset channels are funded with (ETH, or the sim ledger's asset). */
  readonly asset: Asset;
  readonly apps: AppRegistry;
  readonly verifyData: SignatureVerifier;
  readonly funder: Funder;
  readonly adjudicator: Adjudicator;
  /** On-chain balance outside channels. */
  balanceOf(a: Address): Promise<bigint>;
  /** Parses a configured `0x…` address. */
  parseAddress(hex: string): Address;
  /** Where the chain is, for display ("sim ledger at 127.0.0.1:6000"). */
  readonly description: string;
  close(): Promise<void>;
}
