import {
  EthAddress,
  EthAdjudicator,
  EthAsset,
  EthChain,
  EthChannelBackend,
  EthDepositor,
  EthFunder,
  EthWallet,
} from "@perun-ts/backend-eth";
import { AppRegistry, fromHex } from "@perun-ts/core";
import type { NodeChain } from "./node-chain.js";

/** Connects a node to an Ethereum chain with the Perun contracts at the given addresses. */
export async function connectEthChain(opts: {
  readonly key: Uint8Array;
  readonly rpcUrl: string;
  readonly adjudicator: string;
  readonly assetHolder: string;
}): Promise<NodeChain> {
  const backend = new EthChannelBackend();
  const wallet = new EthWallet();
  const account = wallet.importSecretKey(opts.key);
  // One confirmation fits a local dev chain; a public chain wants more (EthChain's default is 12).
  const chain = new EthChain({ client: opts.rpcUrl, confirmations: 1, pollingIntervalMs: 50 });
  await chain.chainId(); // fails early with ChainNotReachableError
  const asset = new EthAsset(opts.assetHolder);
  return {
    backend,
    wallet,
    account,
    asset,
    apps: new AppRegistry(),
    verifyData: (signer, data, sig) => backend.verifyData(signer, data, sig),
    funder: new EthFunder({ chain, wallet, depositors: [{ asset, depositor: new EthDepositor() }] }),
    adjudicator: new EthAdjudicator({ chain, adjudicator: EthAddress.fromHex(opts.adjudicator) }),
    balanceOf: (a) => chain.client.getBalance({ address: EthAddress.fromBytes(a.bytes()).hex }),
    parseAddress: (hex) => backend.decodeAddress(fromHex(hex)),
    description: `Ethereum at ${opts.rpcUrl} (adjudicator ${opts.adjudicator})`,
    close: async () => {}, // an HTTP client holds no connection to close
  };
}
