import { SimChannelBackend, SimWallet } from "@perun-ts/backend-sim";
import { AppRegistry, fromHex } from "@perun-ts/core";
import type { HostPort } from "../cli/host-port.js";
import { formatHostPort } from "../cli/host-port.js";
import { RemoteLedger } from "../ledger-rpc/remote-ledger.js";
import type { NodeChain } from "./node-chain.js";

/** Connects a node to the shared sim ledger server at `ledger` with secret key `key`. */
export async function connectSimChain(key: Uint8Array, ledger: HostPort): Promise<NodeChain> {
  const backend = new SimChannelBackend();
  const apps = new AppRegistry();
  const wallet = new SimWallet();
  const account = wallet.importSecretKey(key);
  const remote = await RemoteLedger.connect(ledger.host, ledger.port, { backend, apps }, (b) =>
    backend.decodeAsset(b),
  );
  return {
    backend,
    wallet,
    account,
    asset: remote.asset,
    apps,
    verifyData: (signer, data, sig) => backend.verifyData(signer, data, sig),
    funder: remote.funder(),
    adjudicator: remote.adjudicator(),
    balanceOf: (a) => remote.balanceOf(a),
    parseAddress: (hex) => backend.decodeAddress(fromHex(hex)),
    description: `sim ledger at ${formatHostPort(ledger)}`,
    close: async () => remote.close(),
  };
}
