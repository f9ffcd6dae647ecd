// A deterministic, dependency-light channel backend for core's own tests (core cannot depend on
// backend-sim). Not cryptographically meaningful: a "signature" is a keyed SHA-256 of a canonical
// text rendering of the state. Real backends are tested with the @perun-ts/testing suites.
import { sha256 } from "@noble/hashes/sha2.js";
import { allocationSum } from "./allocation.js";
import type { Asset } from "./asset.js";
import { bytesEqual, compareBytes, concatBytes, toHex } from "./bytes.js";
import type { ChannelBackend } from "./channel-backend.js";
import { DecodeError, SignatureError } from "./errors.js";
import type { Account, Address, Signature } from "./identity.js";
import type { ParamsInit } from "./params.js";
import type { State } from "./state.js";

export class FakeAddress implements Address {
  constructor(readonly raw: Uint8Array) {}
  bytes(): Uint8Array {
    return this.raw;
  }
  equals(o: Address): boolean {
    return bytesEqual(this.raw, o.bytes());
  }
  compare(o: Address): number {
    return compareBytes(this.raw, o.bytes());
  }
  toString(): string {
    return `fake:${toHex(this.raw)}`;
  }
}

export class FakeAsset implements Asset {
  constructor(readonly n: number) {}
  bytes(): Uint8Array {
    return new Uint8Array([this.n & 0xff]);
  }
  equals(o: Asset): boolean {
    return bytesEqual(this.bytes(), o.bytes());
  }
  toString(): string {
    return `asset${this.n}`;
  }
}

function render(s: State): Uint8Array {
  const a = s.allocation;
  const text = JSON.stringify([
    toHex(s.id),
    s.version.toString(),
    s.app.def ? toHex(s.app.def.bytes()) : null,
    a.assets.map((x) => toHex(x.bytes())),
    a.balances.map((r) => r.map(String)),
    a.locked.map((l) => [toHex(l.id), l.balances.map(String), l.indexMap]),
    allocationSum(a).map(String),
    toHex(s.data),
    s.isFinal,
  ]);
  return new TextEncoder().encode(text);
}

/** Signature = sha256(address ‖ rendering) ‖ 0x01 (33 bytes). */
export class FakeBackend implements ChannelBackend {
  readonly signatureLength = 33;

  calcId(p: ParamsInit): Uint8Array {
    const text = JSON.stringify([
      p.challengeDuration.toString(),
      p.parts.map((x) => toHex(x.bytes())),
      p.app.def ? toHex(p.app.def.bytes()) : null,
      p.nonce.toString(),
      p.ledgerChannel,
      p.virtualChannel,
    ]);
    return sha256(new TextEncoder().encode(text));
  }

  async sign(account: Account, state: State): Promise<Signature> {
    return account.signData(render(state));
  }

  async verify(signer: Address, state: State, sig: Signature): Promise<boolean> {
    if (sig.length !== this.signatureLength || sig[32] !== 1)
      throw new SignatureError("malformed fake signature");
    return bytesEqual(sig, fakeSign(signer, render(state)));
  }

  decodeAddress(b: Uint8Array): Address {
    if (b.length !== 20) throw new DecodeError(`fake address must be 20 bytes, got ${b.length}`);
    return new FakeAddress(b.slice());
  }

  decodeAsset(b: Uint8Array): Asset {
    if (b.length !== 1) throw new DecodeError(`fake asset must be 1 byte, got ${b.length}`);
    return new FakeAsset(b[0] as number);
  }
}

function fakeSign(addr: Address, data: Uint8Array): Uint8Array {
  return concatBytes(sha256(concatBytes(addr.bytes(), data)), new Uint8Array([1]));
}

export function fakeAccount(seed: number): Account {
  const raw = new Uint8Array(20).fill(seed & 0xff);
  raw[0] = 0xaa;
  const address = new FakeAddress(raw);
  return { address, signData: async (data) => fakeSign(address, data) };
}
