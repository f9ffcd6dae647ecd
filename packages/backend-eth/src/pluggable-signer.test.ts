// The pluggable secp256k1 implementation: it is used where chosen, errors map to SignatureError,
// and `verify` recovers exactly once per call.
import { noApp, Params, SignatureError, type State, toHex } from "@perun-ts/core";
import { nobleSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";
import { describe, expect, it } from "vitest";
import { ANVIL_DEFAULT_MNEMONIC } from "./anvil.js";
import { EthPrivateKeyAccount } from "./eth-account.js";
import { EthAsset } from "./eth-asset.js";
import { EthChannelBackend } from "./eth-channel-backend.js";
import { EthWallet } from "./eth-wallet.js";
import { testSigners } from "./signers.test-helper.js";

/** Wraps an implementation and counts its calls. */
function counting(inner: Secp256k1) {
  const calls = { sign: 0, recover: 0, publicKey: 0 };
  const impl: Secp256k1 = {
    name: `counting-${inner.name}`,
    sign: (d, k) => {
      calls.sign++;
      return inner.sign(d, k);
    },
    recover: (d, s) => {
      calls.recover++;
      return inner.recover(d, s);
    },
    publicKey: (k) => {
      calls.publicKey++;
      return inner.publicKey(k);
    },
  };
  return { impl, calls };
}

function fixture(backend: EthChannelBackend, a: EthPrivateKeyAccount, b: EthPrivateKeyAccount) {
  const params = Params.create(
    {
      challengeDuration: 60n,
      nonce: 1n,
      parts: [a.address, b.address],
      app: noApp,
      ledgerChannel: true,
      virtualChannel: false,
    },
    backend,
  );
  const state: State = {
    id: params.id,
    version: 3n,
    app: noApp,
    allocation: { assets: [new EthAsset(`0x${"22".repeat(20)}`)], balances: [[5n, 7n]], locked: [] },
    data: new Uint8Array(),
    isFinal: false,
  };
  return { params, state };
}

describe.each(testSigners)("pluggable secp256k1 (%s)", (_name, inner) => {
  it("accounts, wallets and the backend use the chosen implementation; one recovery per verify", async () => {
    const { impl, calls } = counting(inner);
    const wallet = EthWallet.fromMnemonic(ANVIL_DEFAULT_MNEMONIC, { count: 2, secp256k1: impl });
    const [a, b] = wallet.accounts() as EthPrivateKeyAccount[];
    expect(calls.publicKey).toBe(2); // the addresses were derived with it
    const backend = new EthChannelBackend({ secp256k1: impl });
    const { state } = fixture(backend, a as EthPrivateKeyAccount, b as EthPrivateKeyAccount);
    const sig = await backend.sign(a as EthPrivateKeyAccount, state);
    expect(calls.sign).toBe(1);
    expect([27, 28]).toContain(sig[64]);
    expect(await backend.verify((a as EthPrivateKeyAccount).address, state, sig)).toBe(true);
    expect(await backend.verify((b as EthPrivateKeyAccount).address, state, sig)).toBe(false);
    // the same (state, signature) is never recovered twice, whoever asks
    expect(calls.recover).toBe(1);
    const other = await backend.sign(b as EthPrivateKeyAccount, state);
    expect(await backend.verify((b as EthPrivateKeyAccount).address, state, other)).toBe(true);
    expect(await backend.verify((b as EthPrivateKeyAccount).address, { ...state, version: 4n }, other)).toBe(
      false,
    );
    expect(calls.recover).toBe(3);
    // imported and fresh accounts of the wallet sign with it too
    const imported = wallet.importSecretKey(`0x${"11".repeat(32)}`);
    await imported.signData(new Uint8Array([1]));
    const fresh = new EthWallet({ secp256k1: impl }).newAccount();
    await fresh.signData(new Uint8Array([2]));
    expect(calls.sign).toBe(4);
    // same bytes as noble
    const ref = EthPrivateKeyAccount.fromSecretKey(`0x${"11".repeat(32)}`);
    expect(toHex(await imported.signData(new Uint8Array([9])))).toBe(
      toHex(await ref.signData(new Uint8Array([9]))),
    );
  });

  it("maps malformed signatures to SignatureError with the implementation's reason", async () => {
    const backend = new EthChannelBackend({ secp256k1: inner });
    const a = EthPrivateKeyAccount.random({ secp256k1: inner });
    const b = EthPrivateKeyAccount.random({ secp256k1: inner });
    const { state } = fixture(backend, a, b);
    const good = await backend.sign(a, state);
    const withV = (v: number) => Uint8Array.from(good, (x, i) => (i === 64 ? v : x));
    for (const v of [0, 1, 26, 29]) {
      await expect(backend.verify(a.address, state, withV(v))).rejects.toThrow(SignatureError);
    }
    const highS = good.slice();
    highS.fill(0xff, 32, 64);
    const err = await backend.verify(a.address, state, highS).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SignatureError);
    expect((err as SignatureError).details.reason).toBe("malformed-signature");
    // r = 5 is the x coordinate of no curve point → unrecoverable
    const offCurve = good.slice();
    offCurve.fill(0, 0, 32);
    offCurve[31] = 5;
    const err2 = await backend.verify(a.address, state, offCurve).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err2).toBeInstanceOf(SignatureError);
    expect((err2 as SignatureError).details.reason).toBe("unrecoverable-signature");
    await expect(backend.verify(a.address, state, good.subarray(0, 64))).rejects.toThrow(SignatureError);
  });
});

it("the recovery memo is bounded and can be disabled", async () => {
  const { impl, calls } = counting(nobleSecp256k1);
  const a = EthPrivateKeyAccount.random();
  const b = EthPrivateKeyAccount.random();
  const small = new EthChannelBackend({ secp256k1: impl, recoveryCacheSize: 2 });
  const { state } = fixture(small, a, b);
  const states = [1n, 2n, 3n].map((v) => ({ ...state, version: v }));
  const sigs = await Promise.all(states.map((s) => small.sign(a, s)));
  for (const [i, s] of states.entries())
    expect(await small.verify(a.address, s, sigs[i] as Uint8Array)).toBe(true);
  expect(calls.recover).toBe(3);
  // the oldest entry was evicted, the newest two are still memoized
  expect(await small.verify(a.address, states[2] as State, sigs[2] as Uint8Array)).toBe(true);
  expect(calls.recover).toBe(3);
  expect(await small.verify(a.address, states[0] as State, sigs[0] as Uint8Array)).toBe(true);
  expect(calls.recover).toBe(4);
  const none = new EthChannelBackend({ secp256k1: impl, recoveryCacheSize: 0 });
  await none.verify(a.address, states[0] as State, sigs[0] as Uint8Array);
  await none.verify(a.address, states[0] as State, sigs[0] as Uint8Array);
  expect(calls.recover).toBe(6);
});

it("defaults to noble", () => {
  expect(new EthChannelBackend().secp256k1).toBe(nobleSecp256k1);
  expect(EthPrivateKeyAccount.random().secp256k1).toBe(nobleSecp256k1);
});
