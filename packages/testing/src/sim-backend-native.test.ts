// The generic backend and wallet suites again, with backend-sim on the native libsecp256k1 signer
// (accounts sign and the backend verifies through it). Fails if the native binding cannot load.
import { requireNativeSecp256k1, SimAccount, SimChannelBackend, SimWallet } from "@perun-ts/backend-sim";
import { simArbitraries } from "./arbitraries/backend.js";
import { channelBackendSuite } from "./channel-backend-suite.js";
import { walletSuite } from "./wallet-suite.js";

const secp256k1 = requireNativeSecp256k1();
const backend = new SimChannelBackend({ secp256k1 });
const types = simArbitraries(backend);

channelBackendSuite({
  name: "SimChannelBackend (native secp256k1)",
  backend,
  newAccount: () => SimAccount.random({ secp256k1 }),
  address: types.address,
  asset: types.asset,
});

const wallet = SimWallet.fromSeed("wallet-suite-native", { secp256k1 });
const held = wallet.newAccount();

walletSuite({
  name: "SimWallet (native secp256k1)",
  wallet,
  backend,
  addressInWallet: () => held.address,
  unknownAddress: SimAccount.random({ secp256k1 }).address,
  address: types.address,
  asset: types.asset,
  usageCount: (a) => wallet.usageCount(a),
});
