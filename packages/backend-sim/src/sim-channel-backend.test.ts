import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type Allocation,
  concatBytes,
  DecodeError,
  makeInitialState,
  noApp,
  Params,
  type ParamsInit,
  PaymentApp,
  SignatureError,
  type State,
  ValidationError,
} from "@perun-ts/core";
import { nobleSecp256k1, requireNativeSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";
import { describe, expect, it } from "vitest";
import { SimAccount } from "./sim-account.js";
import { SimAddress } from "./sim-address.js";
import { SimAsset } from "./sim-asset.js";
import { SIM_PARAMS_DOMAIN, SimChannelBackend, simParamsEncoding } from "./sim-channel-backend.js";

const backend = new SimChannelBackend();
const alice = SimAccount.fromSecretKey(new Uint8Array(32).fill(1));
const bob = SimAccount.fromSecretKey(new Uint8Array(32).fill(2));
const appDef = SimAddress.fromBytes(new Uint8Array(20).fill(0xab));

const init: ParamsInit = {
  challengeDuration: 60n,
  parts: [alice.address, bob.address],
  app: noApp,
  nonce: 0x0102n,
  ledgerChannel: true,
  virtualChannel: false,
};

function stateOf(params: Params): State {
  const allocation: Allocation = {
    assets: [new SimAsset(1n), new SimAsset(2n)],
    balances: [
      [10n, 20n],
      [3n, 4n],
    ],
    locked: [],
  };
  return { ...makeInitialState(params, allocation), version: 5n };
}

describe("SimChannelBackend.calcId", () => {
  it("is SHA-256 of the documented length-prefixed layout", () => {
    const u16 = (n: number) => new Uint8Array([n >> 8, n & 0xff]);
    const expected = concatBytes(
      SIM_PARAMS_DOMAIN,
      new Uint8Array([0, 0, 0, 0, 0, 0, 0, 60]),
      u16(2),
      u16(20),
      alice.address.bytes(),
      u16(20),
      bob.address.bytes(),
      new Uint8Array([2, 1, 2]),
      new Uint8Array([0]),
      new Uint8Array([1, 0]),
    );
    expect(simParamsEncoding(init)).toEqual(expected);
    expect(backend.calcId(init)).toEqual(sha256(expected));
    const withApp = simParamsEncoding({ ...init, app: new PaymentApp(appDef), nonce: 0n });
    expect(withApp.subarray(SIM_PARAMS_DOMAIN.length + 8 + 2 + 44)).toEqual(
      concatBytes(new Uint8Array([0, 1]), u16(20), appDef.bytes(), new Uint8Array([1, 0])),
    );
  });

  it("changes when any field changes", () => {
    const base = backend.calcId(init);
    const carol = SimAccount.fromSecretKey(new Uint8Array(32).fill(3)).address;
    const variants: ParamsInit[] = [
      { ...init, challengeDuration: 61n },
      { ...init, parts: [bob.address, alice.address] },
      { ...init, parts: [carol, bob.address] },
      { ...init, parts: [alice.address, bob.address, carol] },
      { ...init, nonce: 0x0103n },
      { ...init, nonce: 0x010200n },
      { ...init, app: new PaymentApp(appDef) },
      { ...init, ledgerChannel: false },
      { ...init, ledgerChannel: false, virtualChannel: true },
    ];
    const ids = variants.map((v) => Buffer.from(backend.calcId(v)).toString("hex"));
    expect(new Set([Buffer.from(base).toString("hex"), ...ids]).size).toBe(variants.length + 1);
    expect(Params.create(init, backend).id).toEqual(base);
  });

  it("rejects values that cannot be encoded", () => {
    expect(() => backend.calcId({ ...init, nonce: 1n << 256n })).toThrow(ValidationError);
    expect(() => backend.calcId({ ...init, challengeDuration: 1n << 64n })).toThrow(ValidationError);
    expect(() => backend.calcId({ ...init, nonce: -1n })).toThrow(ValidationError);
  });
});

// The same signature tests run with each secp256k1 implementation (accounts and backend alike).
const implementations: [string, Secp256k1][] = [
  ["noble", nobleSecp256k1],
  ["native", requireNativeSecp256k1()],
];

describe.each(implementations)("SimChannelBackend sign/verify with %s secp256k1", (_name, impl) => {
  const backend = new SimChannelBackend({ secp256k1: impl });
  const alice = SimAccount.fromSecretKey(new Uint8Array(32).fill(1), { secp256k1: impl });
  const bob = SimAccount.fromSecretKey(new Uint8Array(32).fill(2), { secp256k1: impl });
  const params = Params.create(init, backend);
  const state = stateOf(params);

  it("verifies the signer's signature and rejects other signers and other states", async () => {
    const sig = await backend.sign(alice, state);
    expect(sig.length).toBe(backend.signatureLength);
    expect(await backend.verify(alice.address, state, sig)).toBe(true);
    expect(await backend.verify(bob.address, state, sig)).toBe(false);
    expect(await backend.verify(alice.address, { ...state, version: 6n }, sig)).toBe(false);
    expect(await backend.verify(alice.address, { ...state, isFinal: true }, sig)).toBe(false);
    // a state-signature is not a signature of the bare encoding (domain separation)
    expect(backend.verifyData(alice.address, new Uint8Array(0), sig)).toBe(false);
  });

  it("throws SignatureError with a reason for malformed signatures", async () => {
    const sig = await backend.sign(alice, state);
    const n = secp256k1.Point.CURVE().n;
    const with32 = (at: number, v: bigint) => {
      const s = sig.slice();
      s.set(Buffer.from(v.toString(16).padStart(64, "0"), "hex"), at);
      return s;
    };
    const flippedV = sig.slice();
    flippedV[64] = 2;
    const cases: [Uint8Array, RegExp][] = [
      [sig.subarray(0, 64), /65 bytes, got 64/],
      [concatBytes(sig, new Uint8Array([0])), /65 bytes, got 66/],
      [new Uint8Array(0), /65 bytes, got 0/],
      [with32(0, 0n), /r is out of range/],
      [with32(0, n), /r is out of range/],
      [with32(32, 0n), /s is out of range/],
      [with32(32, n), /s is out of range/],
      [with32(32, n - 1n), /upper half/],
      [flippedV, /v must be 0 or 1/],
    ];
    for (const [bad, reason] of cases) {
      await expect(backend.verify(alice.address, state, bad)).rejects.toThrow(SignatureError);
      await expect(backend.verify(alice.address, state, bad)).rejects.toThrow(reason);
    }
    await expect(backend.verify(alice.address, state, "sig" as unknown as Uint8Array)).rejects.toThrow(
      SignatureError,
    );
  });

  it("returns false (not an error) for the other recovery id", async () => {
    const sig = await backend.sign(alice, state);
    const other = sig.slice();
    other[64] = (other[64] as number) ^ 1;
    expect(await backend.verify(alice.address, state, other)).toBe(false);
  });

  it("reports an r that is not on the curve as SignatureError", async () => {
    const sig = await backend.sign(alice, state);
    // find an x coordinate without a curve point: x^3 + 7 must be a non-residue
    let x = 5n;
    const bad = sig.slice();
    for (; ; x++) {
      bad.set(Buffer.from(x.toString(16).padStart(64, "0"), "hex"), 0);
      try {
        secp256k1.Point.fromHex(`02${x.toString(16).padStart(64, "0")}`);
      } catch {
        break;
      }
    }
    await expect(backend.verify(alice.address, state, bad)).rejects.toThrow(/does not recover/);
  });
});

describe("SimChannelBackend across secp256k1 implementations", () => {
  const native = requireNativeSecp256k1();
  const params = Params.create(init, backend);
  const state = stateOf(params);

  it("signs byte-identically and verifies each other's signatures", async () => {
    const nobleAlice = SimAccount.fromSecretKey(new Uint8Array(32).fill(1));
    const nativeAlice = SimAccount.fromSecretKey(new Uint8Array(32).fill(1), { secp256k1: native });
    expect(nativeAlice.address.equals(nobleAlice.address)).toBe(true);
    const nobleSig = await backend.sign(nobleAlice, state);
    const nativeSig = await backend.sign(nativeAlice, state);
    expect(nativeSig).toEqual(nobleSig);
    const nativeBackend = new SimChannelBackend({ secp256k1: native });
    expect(await nativeBackend.verify(nobleAlice.address, state, nobleSig)).toBe(true);
    expect(await backend.verify(nativeAlice.address, state, nativeSig)).toBe(true);
    expect(await nativeBackend.verify(bob.address, state, nobleSig)).toBe(false);
  });
});

describe("SimChannelBackend decoders", () => {
  it("round-trips addresses and assets and rejects garbage with DecodeError", () => {
    expect(backend.decodeAddress(alice.address.bytes()).equals(alice.address)).toBe(true);
    expect(backend.decodeAsset(new SimAsset(9n).bytes()).equals(new SimAsset(9n))).toBe(true);
    for (const n of [0, 1, 19, 21, 65])
      expect(() => backend.decodeAddress(new Uint8Array(n))).toThrow(DecodeError);
    for (const n of [0, 1, 7, 9, 20])
      expect(() => backend.decodeAsset(new Uint8Array(n))).toThrow(DecodeError);
  });

  it("decodes equal address bytes to one shared (immutable) address object", () => {
    const b = new SimChannelBackend();
    const bytes = bob.address.bytes();
    const first = b.decodeAddress(bytes);
    bytes.fill(0); // the decoded address keeps its own bytes
    const again = b.decodeAddress(bob.address.bytes());
    expect(again).toBe(first);
    expect(first.equals(bob.address)).toBe(true);
    expect(b.decodeAddress(alice.address.bytes())).not.toBe(first);
  });
});
