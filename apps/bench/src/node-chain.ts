import { SimAsset, SimChannelBackend, SimWallet } from "@perun-ts/backend-sim";
import {
  type Account,
  type Adjudicator,
  type Asset,
  bytesEqual,
  type ChannelBackend,
  type Funder,
  type Wallet,
} from "@perun-ts/core";
import { keccak256 } from "@perun-ts/secp256k1";
import type { SignatureVerifier } from "@perun-ts/wire";
import { type DepositRecord, ReplicatedSimLedger } from "./replicated-ledger.js";
import { benchSecp256k1 } from "./signer.js";
import type { WorkerInit } from "./worker-protocol.js";

/** Enough sim-ledger funds for any number of channels a benchmark opens. */
const SIM_LEDGER_FUNDS = 10n ** 30n;

/** Everything chain-specific a bench node is built from. */
export interface NodeChain {
  readonly backend: ChannelBackend;
  readonly wallet: Wallet;
  /** Wire identity (NetBus handshakes). */
  readonly wire: Account;
  /** The channel participant (signs states, pays deposits). */
  readonly participant: Account;
  readonly asset: Asset;
  readonly funder: Funder;
  readonly adjudicator: Adjudicator;
  readonly verifyData: SignatureVerifier;
  /** The secp256k1 implementation that signs and verifies states. */
  readonly signer: string;
  /** Replays another process's deposit (sim ledger only). */
  readonly applyDeposit?: (d: DepositRecord) => void;
}

/** The sim backend on the configured signer, with a deposit-replicated `SimLedger`. */
export function simNodeChain(init: WorkerInit, sendDeposit: (d: DepositRecord) => void): NodeChain {
  const secp256k1 = benchSecp256k1(init.signer);
  const backend = new SimChannelBackend({ secp256k1 });
  const wallet = SimWallet.fromSeed(init.seed, { secp256k1 });
  const wire = wallet.newAccount();
  const participant = wallet.newAccount();
  const asset = new SimAsset(1n);
  const ledger = new ReplicatedSimLedger({ backend, send: sendDeposit });
  ledger.mint(participant.address, asset, SIM_LEDGER_FUNDS);
  return {
    backend,
    wallet,
    wire,
    participant,
    asset,
    funder: ledger.funder(),
    adjudicator: ledger.adjudicator(),
    verifyData: (signer, data, sig) => backend.verifyData(signer, data, sig),
    signer: secp256k1.name,
    applyDeposit: (d) => ledger.applyRemote(d),
  };
}

/** Where a node finds the Perun contracts on an Ethereum chain (anvil in the benchmark). */
export interface EthTarget {
  readonly rpcUrl: string;
  readonly adjudicator: string;
  readonly assetHolder: string;
  /** Index of the node's first anvil account (wire); the next one is the participant. */
  readonly accountIndex: number;
}

/**
 * The Ethereum backend on anvil: anvil's funded accounts, ETH deposits, one confirmation.
 * backend-eth (and viem) is imported only here, so that sim nodes do not carry it in their heap.
 */
export async function ethNodeChain(target: EthTarget): Promise<NodeChain> {
  const {
    ANVIL_DEFAULT_MNEMONIC,
    deriveAccount,
    EthAddress,
    EthAdjudicator,
    EthAsset,
    EthChain,
    EthChannelBackend,
    EthDepositor,
    EthFunder,
    EthWallet,
    eip191Digest,
    recoverSigner,
  } = await import("@perun-ts/backend-eth");
  const backend = new EthChannelBackend();
  const wallet = new EthWallet();
  const wire = wallet.addAccount(deriveAccount(ANVIL_DEFAULT_MNEMONIC, target.accountIndex));
  const participant = wallet.addAccount(deriveAccount(ANVIL_DEFAULT_MNEMONIC, target.accountIndex + 1));
  const chain = new EthChain({ client: target.rpcUrl, confirmations: 1, pollingIntervalMs: 20 });
  const asset = new EthAsset(target.assetHolder);
  return {
    backend,
    wallet,
    wire,
    participant,
    asset,
    funder: new EthFunder({ chain, wallet, depositors: [{ asset, depositor: new EthDepositor() }] }),
    adjudicator: new EthAdjudicator({ chain, adjudicator: EthAddress.fromHex(target.adjudicator) }),
    // EthAccount.signData signs EIP-191(keccak256(data)); backend-eth has no data verifier yet.
    verifyData: (signer, data, sig) =>
      bytesEqual(recoverSigner(eip191Digest(keccak256(data)), sig), signer.bytes()),
    signer: "noble (backend-eth)",
  };
}
