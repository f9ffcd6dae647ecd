import { SimAccount, SimAsset, SimChannelBackend } from "@perun-ts/backend-sim";
import { makeInitialState, noApp, Params, type State } from "@perun-ts/core";
import { keccak256, type Secp256k1 } from "@perun-ts/secp256k1";
import type { Row } from "./row.js";
import { measureRate, median, msSince } from "./stats.js";

/** Per-operation costs of the configured signer, the input of every floor. */
export interface CryptoCosts {
  readonly signer: string;
  /** Seconds per state signature through the channel backend (encode, hash, sign). */
  readonly signStateSec: number;
  /** Seconds per state verification through the channel backend (encode, hash, recover, compare). */
  readonly verifyStateSec: number;
}

/** A two-party, one-asset payment state, the shape every update benchmark signs. */
function sampleState(backend: SimChannelBackend, a: SimAccount, b: SimAccount): State {
  const params = Params.create(
    {
      challengeDuration: 60n,
      parts: [a.address, b.address],
      app: noApp,
      nonce: 0x1234_5678_9abc_def0n,
      ledgerChannel: true,
      virtualChannel: false,
    },
    backend,
  );
  const state = makeInitialState(params, {
    assets: [new SimAsset(1n)],
    balances: [[1_000_000_000n, 1_000_000_000n]],
    locked: [],
  });
  return { ...state, version: 42n };
}

async function asyncRate(op: () => Promise<unknown>, rounds: number, minMs: number): Promise<number> {
  const round = async (): Promise<number> => {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      for (let i = 0; i < 8; i++) await op();
      n += 8;
      elapsed = msSince(start);
    } while (elapsed < minMs);
    return (n * 1000) / elapsed;
  };
  await round();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) rates.push(await round());
  return median(rates);
}

/**
 * Measures the configured secp256k1 implementation in this process: raw sign/recover over a
 * 32-byte digest, and state sign/verify through `SimChannelBackend` (what an update really pays).
 */
export async function cryptoBench(
  secp256k1: Secp256k1,
  quick: boolean,
): Promise<{ rows: Row[]; costs: CryptoCosts }> {
  const rounds = quick ? 2 : 7;
  const minMs = quick ? 30 : 300;
  const enc = new TextEncoder();
  const secretKey = keccak256(enc.encode("perun-ts bench key"));
  const digest = keccak256(enc.encode("perun-ts bench digest"));
  const sig = secp256k1.sign(digest, secretKey);
  const rawSign = measureRate(() => secp256k1.sign(digest, secretKey), { rounds, minMs });
  const rawRecover = measureRate(() => secp256k1.recover(digest, sig), { rounds, minMs });

  const backend = new SimChannelBackend({ secp256k1 });
  const alice = SimAccount.fromSecretKey(secretKey, { secp256k1 });
  const bob = SimAccount.fromSecretKey(keccak256(enc.encode("perun-ts bench key 2")), { secp256k1 });
  const state = sampleState(backend, alice, bob);
  const stateSig = await backend.sign(alice, state);
  if (!(await backend.verify(alice.address, state, stateSig))) {
    throw new Error("crypto bench: a state signature does not verify");
  }
  const signState = await asyncRate(() => backend.sign(alice, state), rounds, minMs);
  const verifyState = await asyncRate(() => backend.verify(alice.address, state, stateSig), rounds, minMs);

  const b = "crypto";
  const note = `secp256k1: ${secp256k1.name}`;
  const rows: Row[] = [
    { benchmark: b, metric: "sign (32-byte digest)", value: rawSign.perSecond, unit: "ops/s", note },
    { benchmark: b, metric: "recover (32-byte digest)", value: rawRecover.perSecond, unit: "ops/s", note },
    { benchmark: b, metric: "sign state (encode+hash+sign)", value: signState, unit: "ops/s", note },
    { benchmark: b, metric: "verify state (encode+hash+recover)", value: verifyState, unit: "ops/s", note },
  ];
  return {
    rows,
    costs: { signer: secp256k1.name, signStateSec: 1 / signState, verifyStateSec: 1 / verifyState },
  };
}
