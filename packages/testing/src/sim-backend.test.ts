// backend-sim proves itself with the generic suites (it cannot depend on @perun-ts/testing itself).
import { SimAccount, SimChannelBackend, SimWallet } from "@perun-ts/backend-sim";
import { simArbitraries } from "./arbitraries/backend.js";
import { channelBackendSuite } from "./channel-backend-suite.js";
import { walletSuite } from "./wallet-suite.js";

const backend = new SimChannelBackend();
const types = simArbitraries(backend);

channelBackendSuite({
  name: "SimChannelBackend",
  backend,
  newAccount: () => SimAccount.random(),
  address: types.address,
  asset: types.asset,
});

const wallet = SimWallet.fromSeed("wallet-suite");
const held = wallet.newAccount();

walletSuite({
  name: "SimWallet",
  wallet,
  backend,
  addressInWallet: () => held.address,
  unknownAddress: SimAccount.random().address,
  address: types.address,
  asset: types.asset,
  usageCount: (a) => wallet.usageCount(a),
});
