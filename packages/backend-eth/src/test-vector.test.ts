// The reference vector of spec-eth §2.4 (checked there against the original Adjudicator bytecode).

import { keccak_256 } from "@noble/hashes/sha3.js";
import { bigintToFixedBytes, noApp, Params, type State, toHex } from "@perun-ts/core";
import { hexToBytes, recoverMessageAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import {
  bytesToHex0x,
  encodeParams,
  encodeState,
  encodeWithdrawalAuth,
  fundingIdOf,
  hashState,
} from "./encoding.js";
import { EthPrivateKeyAccount } from "./eth-account.js";
import { EthAddress } from "./eth-address.js";
import { EthAsset } from "./eth-asset.js";
import { EthChannelBackend } from "./eth-channel-backend.js";
import { eip191Digest } from "./signature.js";
import { testSigners } from "./signers.test-helper.js";

const hex = (b: Uint8Array) => `0x${toHex(b)}`;
const key = (n: bigint) => bigintToFixedBytes(n, 32);

describe.each(testSigners)("spec-eth §2.4 test vector (%s signer)", (_name, secp256k1) => {
  const backend = new EthChannelBackend({ secp256k1 });
  const alice = EthPrivateKeyAccount.fromSecretKey(key(0x1002n), { secp256k1 });
  const bob = EthPrivateKeyAccount.fromSecretKey(key(0x1003n), { secp256k1 });
  const params = Params.create(
    {
      challengeDuration: 3600n,
      nonce: 42n,
      parts: [alice.address, bob.address],
      app: noApp,
      ledgerChannel: true,
      virtualChannel: false,
    },
    backend,
  );
  const state: State = {
    id: params.id,
    version: 7n,
    app: noApp,
    allocation: {
      assets: [new EthAsset("0x1111111111111111111111111111111111111111")],
      balances: [[10n ** 18n, 2n * 10n ** 18n]],
      locked: [],
    },
    data: new Uint8Array(),
    isFinal: true,
  };

  it("signs and verifies with the chosen implementation", () => {
    expect(alice.secp256k1.name).toBe(secp256k1.name);
    expect(backend.secp256k1.name).toBe(secp256k1.name);
  });

  it("derives the addresses of the throw-away keys", () => {
    expect(alice.address.equals(EthAddress.fromHex("0x9B11740EA6d46b9176B1eBB69a1672BE9c2c63d8"))).toBe(true);
    expect(bob.address.equals(EthAddress.fromHex("0x49328BE73C2EDB094E13Ac5F7D1cfb6dBBA47D15"))).toBe(true);
  });

  it("channel id, encodings, state hash and digest", () => {
    expect(encodeParams(params).length).toBe(320);
    expect(hex(params.id)).toBe("0xafacac82b05c76b728c486b6f241f35fda2ab3e142ee61aedbd3e606e8f01bde");
    expect(encodeState(state).length).toBe(576);
    expect(hex(hashState(state))).toBe("0xacec4bf100df797f0d7ed26a0f87f6b5b2df1f6a42ebc9e910fd312efa4d9a5d");
    expect(hex(eip191Digest(hashState(state)))).toBe(
      "0xbe6eb5c9627581afb983c2cbf3772e1306018e6d0dcaa6763ee3d695a7c347f5",
    );
  });

  it("signatures of alice and bob, and their verification", async () => {
    const sa = await backend.sign(alice, state);
    const sb = await backend.sign(bob, state);
    expect(hex(sa)).toBe(
      "0x4c48e8581ae9c890b3e446a36a8cdfbfb123c63aed0179b543a82fe19de07fef6739ee991a3b6badd8432a87e2d588c87bf1055c2c1a3c74d360784ddf14d6ad1b",
    );
    expect(hex(sb)).toBe(
      "0x1230873e531bd3ccee7cae701ba65886bddcc357ca9753c52f54089af69b49b21a612863bf3f8bbf39df85e1fd5a6a551694b8ec8af64536412adda9870b4f8f1c",
    );
    expect(await backend.verify(alice.address, state, sa)).toBe(true);
    expect(await backend.verify(bob.address, state, sa)).toBe(false);
    expect(await backend.verify(bob.address, state, sb)).toBe(true);
  });

  it("funding id and withdrawal authorization", async () => {
    expect(hex(fundingIdOf(params.id, alice.address))).toBe(
      "0x45e4a190bff45c8e1ef60d876df1939448c77c7e8ab3745701a291164c55ded2",
    );
    const auth = encodeWithdrawalAuth({
      channelID: bytesToHex0x(params.id),
      participant: alice.address.hex,
      receiver: "0x000000000000000000000000000000000000a11c",
      amount: 10n ** 18n,
    });
    expect(auth.length).toBe(128);
    expect(hex(keccak_256(auth))).toBe("0xeff3124dd0f5d43f544838d35815077c8aef8765dcdda5c04cf74194aa346d8c");
    expect(hex(await alice.signData(auth))).toBe(
      "0x6718196c03d9b8ab39f2200a3ab44654904310687e54b74516bb91f0777558710bae2bd3901b2dcde71b8e0d7d5a8e417ea68d279b653d708ee9b0402f5f5f391b",
    );
  });

  it("raw noble signing equals viem's signMessage, and viem recovers our signer", async () => {
    const viemAlice = privateKeyToAccount(bytesToHex0x(key(0x1002n)));
    const hash = hashState(state);
    const viemSig = await viemAlice.signMessage({ message: { raw: hash } });
    expect(hex(await backend.sign(alice, state))).toBe(viemSig);
    const recovered = await recoverMessageAddress({ message: { raw: hash }, signature: viemSig });
    expect(EthAddress.fromHex(recovered).equals(alice.address)).toBe(true);
    expect(await backend.verify(alice.address, state, hexToBytes(viemSig))).toBe(true);
  });
});
