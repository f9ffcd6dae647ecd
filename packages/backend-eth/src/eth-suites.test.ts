// backend-eth proves its channel backend and wallet with the generic suites of @perun-ts/testing.
import { channelBackendSuite, walletSuite } from "@perun-ts/testing";
import fc from "fast-check";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ANVIL_DEFAULT_MNEMONIC } from "./anvil.js";
import { EthPrivateKeyAccount } from "./eth-account.js";
import { EthAddress } from "./eth-address.js";
import { EthAsset } from "./eth-asset.js";
import { EthChannelBackend } from "./eth-channel-backend.js";
import { EthWallet } from "./eth-wallet.js";
import { testSigners } from "./signers.test-helper.js";

const backend = new EthChannelBackend();
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => EthAddress.fromBytes(b));
const asset = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => EthAsset.fromBytes(b));

for (const [name, secp256k1] of testSigners) {
  channelBackendSuite({
    name: `EthChannelBackend (${name} signer)`,
    backend: new EthChannelBackend({ secp256k1 }),
    newAccount: () => EthPrivateKeyAccount.random({ secp256k1 }),
    address,
    asset,
    parallelSignatures: 64,
    // the on-chain State has no app field: the app is bound through the channel id (params)
    fieldsBoundById: ["app"],
  });
}

const hdWallet = EthWallet.fromMnemonic(ANVIL_DEFAULT_MNEMONIC, { count: 2 });
walletSuite({
  name: "EthWallet (mnemonic)",
  wallet: hdWallet,
  backend,
  addressInWallet: () => (hdWallet.accounts()[1] as { address: EthAddress }).address,
  unknownAddress: EthPrivateKeyAccount.random().address,
  address,
  asset,
  usageCount: (a) => hdWallet.usageCount(a),
});

const viemWallet = new EthWallet();
const viemHeld = viemWallet.addViemAccount(privateKeyToAccount(generatePrivateKey()));
walletSuite({
  name: "EthWallet (viem LocalAccount adapter)",
  wallet: viemWallet,
  backend,
  addressInWallet: () => viemHeld.address,
  unknownAddress: EthPrivateKeyAccount.random().address,
  address,
  asset,
  usageCount: (a) => viemWallet.usageCount(a),
});
