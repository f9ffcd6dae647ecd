import { inspect } from "node:util";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { toHex, ValidationError } from "@perun-ts/core";
import { hexToBytes } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { ANVIL_DEFAULT_MNEMONIC } from "./anvil.js";
import { EthPrivateKeyAccount, ViemAccountAdapter } from "./eth-account.js";
import { EthAddress } from "./eth-address.js";
import { bip44Path, EthWallet, UnknownAccountError } from "./eth-wallet.js";

// anvil's well-known default accounts 0, 1 and 9 (m/44'/60'/0'/0/i of the test mnemonic).
const ANVIL = {
  0: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  1: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  9: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
};

describe("EthWallet", () => {
  it("derives BIP-44 accounts m/44'/60'/0'/0/i (not go-perun's string-concatenation quirk)", () => {
    const w = EthWallet.fromMnemonic(ANVIL_DEFAULT_MNEMONIC, { count: 10 });
    const as = w.accounts();
    expect(as[0]?.address.equals(EthAddress.fromHex(ANVIL[0]))).toBe(true);
    expect(as[1]?.address.equals(EthAddress.fromHex(ANVIL[1]))).toBe(true);
    // index 8 and 9 exist (go-perun's "…/08" path would fail to parse)
    expect(as[9]?.address.equals(EthAddress.fromHex(ANVIL[9]))).toBe(true);
    expect(bip44Path(8)).toBe("m/44'/60'/0'/0/8");
    expect(as[8]?.address.hex).toBe(
      mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 8 }).address.toLowerCase(),
    );
  });

  it("rejects an invalid mnemonic and invalid keys with ValidationError", () => {
    expect(() => EthWallet.fromMnemonic("not a mnemonic")).toThrow(ValidationError);
    expect(() => EthPrivateKeyAccount.fromSecretKey(new Uint8Array(32))).toThrow(ValidationError);
    expect(() => EthPrivateKeyAccount.fromSecretKey("0x1234")).toThrow(ValidationError);
  });

  it("unlocking an unknown address fails with UnknownAccountError", async () => {
    await expect(new EthWallet().unlock(EthPrivateKeyAccount.random().address)).rejects.toBeInstanceOf(
      UnknownAccountError,
    );
  });

  it("never reveals keys through toString, JSON or inspect", () => {
    const keyHex = `0x${"ab".repeat(31)}01`;
    const w = new EthWallet();
    const a = w.importSecretKey(keyHex);
    const v = w.addViemAccount(privateKeyToAccount(`0x${"cd".repeat(31)}02`));
    const surfaces = [
      String(a),
      JSON.stringify(a),
      inspect(a, { depth: 10, showHidden: true }),
      String(w),
      JSON.stringify(w),
      inspect(w, { depth: 10, showHidden: true }),
      String(v),
      JSON.stringify(v),
      inspect(v, { depth: 10 }),
    ];
    for (const s of surfaces) {
      expect(s).not.toContain("ab".repeat(31));
      expect(s).not.toContain("cd".repeat(31));
    }
    expect(String(a)).toContain(a.address.hex);
  });

  it("the viem adapter signs exactly like the raw-noble account", async () => {
    const key = `0x${"11".repeat(32)}` as const;
    const raw = EthPrivateKeyAccount.fromSecretKey(key);
    const adapted = new ViemAccountAdapter(privateKeyToAccount(key));
    expect(adapted.address.equals(raw.address)).toBe(true);
    const data = new TextEncoder().encode("perun");
    expect(toHex(await adapted.signData(data))).toBe(toHex(await raw.signData(data)));
    const hash = keccak_256(data);
    expect(toHex(await adapted.signHash(hash))).toBe(toHex(await raw.signHash(hash)));
    const viaViem = hexToBytes(await privateKeyToAccount(key).signMessage({ message: { raw: hash } }));
    expect(toHex(await raw.signHash(hash))).toBe(toHex(viaViem));
    expect([27, 28]).toContain((await raw.signHash(hash))[64]);
  });
});
