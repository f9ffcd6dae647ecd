import { SimAccount } from "@perun-ts/backend-sim";
import { ledgerChannelProposal } from "@perun-ts/client";
import {
  type Address,
  type Allocation,
  cloneState,
  Phase,
  type Signature,
  type State,
  stateEquals,
  type Transaction,
} from "@perun-ts/core";
import { type Envelope, type Message, MessageType } from "@perun-ts/wire";
import type { AdversaryWorld } from "./adversary-world.js";

/** Every raw-message attack the adversary knows. */
export const ATTACKS = [
  "gift",
  "finalGift",
  "theft",
  "foreignSig",
  "garbageSig",
  "reusedHonestSig",
  "actorSpoof",
  "skipVersion",
  "oldVersion",
  "inflate",
  "deflate",
  "changeAsset",
  "addAsset",
  "lockFunds",
  "changeApp",
  "changeData",
  "unknownChannel",
  "replay",
  "spuriousAcc",
  "spuriousRej",
  "duplicateProposal",
  "strayProposalAcc",
  "forgedSyncNewer",
  "forgedSyncReusedSig",
  "forgedSyncMissingSig",
  "forgedSyncOpening",
  "staleSync",
  "sybilUpdate",
  "ping",
] as const;

/** The name of one attack. */
export type AttackKind = (typeof ATTACKS)[number];

/** What an attack expects the honest party to do. */
type Expectation =
  /** Reject with ChannelUpdateRej (state unchanged). */
  | "reject"
  /** Answer with ChannelUpdateAcc or ChannelUpdateRej (the state may advance). */
  | "answer"
  /** Nothing visible; the state must not change. */
  | "ignore"
  /** A sync it must refuse: the state must not change. */
  | "refuse-sync"
  /** No specific reaction (a replayed sync or proposal); the invariants decide. */
  | "any";

/** A small deterministic PRNG (mulberry32) for the details of one attack. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pickFrom<T>(r: () => number, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(r() * items.length)];
}

function randomBytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** `a` with up to `amount` of the first asset moved from participant `from` to `to` (at most what `from` has). */
export function moved(a: Allocation, from: number, to: number, amount: bigint): Allocation {
  const row = [...(a.balances[0] ?? [])];
  const have = row[from] ?? 0n;
  const amt = amount > have ? have : amount;
  row[from] = have - amt;
  row[to] = (row[to] ?? 0n) + amt;
  return { assets: a.assets, balances: [row], locked: a.locked };
}

/** The result of one attack, for statistics. */
export interface AttackResult {
  /** The honest party's answer type, if one was expected and came. */
  readonly answer?: "acc" | "rej" | "proposal-rej";
}

/**
 * Runs attack `kind` against the honest party of `w` (details drawn from `seed`, amounts up to
 * `amount`) and checks the honest party's immediate reaction: hostile updates are rejected (never
 * silently dropped), forged syncs and stray answers change nothing.
 */
export async function runAttack(
  w: AdversaryWorld,
  kind: AttackKind,
  seed: number,
  amount: bigint,
): Promise<AttackResult> {
  const r = rng(seed);
  const h = w.opts.honestIdx;
  const a = w.advIdx;
  const cur = w.honest.channel.state;
  const before = w.honest.channel.current;
  const phaseBefore = w.honest.channel.phase;
  const known = [before, ...w.history];
  const advSign = (s: State) => w.backend.sign(w.adversary.participant, s);
  const next = (alloc: Allocation, extra: Partial<State> = {}): State => ({
    ...cloneState(cur),
    version: cur.version + 1n,
    allocation: alloc,
    ...extra,
  });
  const update = (state: State, sig: Signature, actorIdx = a): Message => ({
    type: MessageType.ChannelUpdate,
    state,
    actorIdx,
    sig,
  });
  const sigs = (tx: Transaction) => tx.sigs.map((s) => s?.slice());

  let message: Message;
  let expect: Expectation;
  let sender = w.adversary.wire.address;
  let repeat = 1;
  switch (kind) {
    case "gift": {
      const s = next(moved(cur.allocation, a, h, amount));
      message = update(s, await advSign(s));
      expect = "answer";
      break;
    }
    case "finalGift": {
      const s = next(moved(cur.allocation, a, h, amount), { isFinal: true });
      message = update(s, await advSign(s));
      expect = "answer";
      break;
    }
    case "theft": {
      const s = next(moved(cur.allocation, h, a, amount === 0n ? 1n : amount));
      message = update(s, await advSign(s));
      expect = w.honestBalance(cur) === 0n ? "answer" : "reject";
      break;
    }
    case "foreignSig": {
      const s = next(moved(cur.allocation, h, a, amount));
      message = update(s, await w.backend.sign(SimAccount.random(), s));
      expect = "reject";
      break;
    }
    case "garbageSig": {
      const s = next(moved(cur.allocation, h, a, amount));
      message = update(s, randomBytes(r, w.backend.signatureLength));
      expect = "reject";
      break;
    }
    case "reusedHonestSig": {
      // The honest party's genuine signature on an earlier state, offered as the actor's.
      const old = pickFrom(r, w.history) ?? before;
      const s = next(moved(cur.allocation, h, a, amount));
      message = update(s, (old.sigs[h] as Signature).slice(), r() < 0.5 ? h : a);
      expect = "reject";
      break;
    }
    case "actorSpoof": {
      // Claims the honest party proposed its own loss.
      const s = next(moved(cur.allocation, h, a, amount));
      message = update(s, await advSign(s), h);
      expect = "reject";
      break;
    }
    case "skipVersion": {
      const s = {
        ...next(moved(cur.allocation, a, h, amount)),
        version: cur.version + 2n + BigInt(Math.floor(r() * 5)),
      };
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "oldVersion": {
      const v = BigInt(Math.floor(r() * Number(cur.version + 1n)));
      const s = { ...next(moved(cur.allocation, a, h, amount)), version: v };
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "inflate": {
      const row = [...(cur.allocation.balances[0] ?? [])];
      row[a] = (row[a] ?? 0n) + 1n + amount;
      const s = next({ ...cur.allocation, balances: [row] });
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "deflate": {
      const row = [...(cur.allocation.balances[0] ?? [])];
      const take = (row[h] ?? 0n) > 0n ? h : a;
      if ((row[take] ?? 0n) === 0n)
        row[a] = 1n; // nothing to take: inflate instead
      else row[take] = (row[take] as bigint) - 1n;
      const s = next({ ...cur.allocation, balances: [row] });
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "changeAsset": {
      const s = next({ ...cur.allocation, assets: [w.otherAsset] });
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "addAsset": {
      const s = next({
        assets: [w.asset, w.otherAsset],
        balances: [[...(cur.allocation.balances[0] ?? [])], h === 0 ? [5n, 0n] : [0n, 5n]],
        locked: [],
      });
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "lockFunds": {
      const row = [...(cur.allocation.balances[0] ?? [])];
      const lock = (row[h] ?? 0n) > 0n ? 1n : 0n;
      row[h] = (row[h] ?? 0n) - lock;
      const s = next({
        assets: cur.allocation.assets,
        balances: [row],
        locked: [{ id: randomBytes(r, 32), balances: [lock], indexMap: [] }],
      });
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "changeApp": {
      const s = next(cur.allocation, { app: w.paymentApp });
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "changeData": {
      const s = next(cur.allocation, { data: randomBytes(r, 4) });
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "unknownChannel": {
      const s = { ...next(cur.allocation), id: randomBytes(r, 32) };
      message = update(s, await advSign(s));
      expect = "reject";
      break;
    }
    case "replay": {
      const env: Envelope | undefined = pickFrom(r, w.transcript);
      if (!env) return {};
      message = env.message;
      expect = message.type === MessageType.ChannelUpdate ? "answer" : "any";
      break;
    }
    case "spuriousAcc": {
      const s = next(moved(cur.allocation, h, a, amount));
      message = {
        type: MessageType.ChannelUpdateAcc,
        channelId: cur.id,
        version: s.version,
        sig: await advSign(s),
      };
      expect = "ignore";
      break;
    }
    case "spuriousRej": {
      message = {
        type: MessageType.ChannelUpdateRej,
        channelId: cur.id,
        version: cur.version + BigInt(Math.floor(r() * 3)),
        reason: "no",
      };
      expect = "ignore";
      break;
    }
    case "duplicateProposal": {
      message = ledgerChannelProposal({
        challengeDuration: 60n,
        participant: w.adversary.participant.address,
        initBals: { assets: [w.asset], balances: [[amount, amount]], locked: [] },
        peers: [w.adversary.wire.address, w.honest.wire.address],
      });
      repeat = 2;
      expect = "ignore";
      break;
    }
    case "strayProposalAcc": {
      message = {
        type: MessageType.LedgerChannelProposalAcc,
        proposalId: randomBytes(r, 32),
        nonceShare: randomBytes(r, 32),
        participant: w.adversary.participant.address,
      };
      expect = "ignore";
      break;
    }
    case "forgedSyncNewer":
    case "forgedSyncReusedSig":
    case "forgedSyncMissingSig": {
      const s = next(moved(cur.allocation, h, a, amount === 0n ? 1n : amount));
      const own = await advSign(s);
      const forged =
        kind === "forgedSyncNewer"
          ? randomBytes(r, w.backend.signatureLength)
          : kind === "forgedSyncReusedSig"
            ? ((pickFrom(r, w.history) ?? before).sigs[h] as Signature).slice()
            : undefined;
      const txSigs: (Signature | undefined)[] = [];
      txSigs[a] = own;
      txSigs[h] = forged;
      message = {
        type: MessageType.ChannelSync,
        phase: r() < 0.5 ? Phase.Acting : Phase.Signing,
        currentTx: { state: s, sigs: [txSigs[0], txSigs[1]] },
        reply: r() < 0.5,
      };
      // A reused honest signature can be genuine for `s` (the same state was signed before, e.g.
      // an update the adversary enabled and the honest party discarded): then it is no forgery.
      const genuine =
        forged !== undefined &&
        (await w.backend.verify(w.honest.channel.params.parts[h] as Address, s, forged).catch(() => false));
      expect = genuine ? "any" : "refuse-sync";
      break;
    }
    case "forgedSyncOpening": {
      const s = { ...cloneState(cur), version: 0n, allocation: moved(cur.allocation, h, a, amount) };
      const txSigs: (Signature | undefined)[] = [];
      txSigs[a] = await advSign(s);
      txSigs[h] = undefined;
      message = {
        type: MessageType.ChannelSync,
        phase: Phase.InitSigning,
        currentTx: { state: s, sigs: [txSigs[0], txSigs[1]] },
        reply: r() < 0.5,
      };
      expect = "ignore";
      break;
    }
    case "staleSync": {
      // An old fully signed state; one newer than the honest current one (signed by the honest party
      // but never completed on its side) may legitimately be adopted.
      const old = pickFrom(r, w.history) ?? before;
      message = {
        type: MessageType.ChannelSync,
        phase: Phase.Acting,
        currentTx: { state: old.state, sigs: sigs(old) },
        reply: r() < 0.5,
      };
      expect = (old.state as State).version <= cur.version ? "ignore" : "any";
      break;
    }
    case "sybilUpdate": {
      // A valid gift signed by the adversary's participant key, but sent by a third identity.
      const s = next(moved(cur.allocation, a, h, amount));
      message = update(s, await advSign(s));
      sender = w.sybil.wire.address;
      expect = "ignore";
      break;
    }
    case "ping":
      message = { type: MessageType.Ping, created: BigInt(Date.now()) * 1_000_000n };
      expect = "ignore";
      break;
  }

  const signal = AbortSignal.timeout(5_000);
  const channelMsg = message.type === MessageType.ChannelUpdate ? message : undefined;
  const answer =
    channelMsg && (expect === "reject" || expect === "answer")
      ? w.adversary.bus.next(
          (env) =>
            (env.message.type === MessageType.ChannelUpdateAcc ||
              env.message.type === MessageType.ChannelUpdateRej) &&
            env.message.version === channelMsg.state.version &&
            bytesEq(env.message.channelId, channelMsg.state.id),
          signal,
        )
      : undefined;
  const proposalRejs =
    kind === "duplicateProposal"
      ? Promise.all(
          [0, 1].map((i) =>
            w.adversary.bus.next(
              (env) =>
                env.message.type === MessageType.ChannelProposalRej &&
                message.type === MessageType.LedgerChannelProposal &&
                bytesEq(env.message.proposalId, message.proposalId) &&
                i >= 0,
              signal,
            ),
          ),
        )
      : undefined;
  // Registered before the answer promise rejects, so a timeout is never unhandled.
  answer?.catch(() => {});
  proposalRejs?.catch(() => {});
  const syncErrorsBefore = w.honest.syncErrors.length;
  for (let i = 0; i < repeat; i++) await w.inject(message, sender);

  let result: AttackResult = {};
  if (answer) {
    let env: Envelope;
    try {
      env = await answer;
    } catch {
      throw new Error(`attack ${kind}: no answer to a hostile update within 5 s (a silent drop)`);
    }
    const type = env.message.type === MessageType.ChannelUpdateAcc ? "acc" : "rej";
    if (expect === "reject" && type !== "rej") {
      throw new Error(`attack ${kind}: the honest party accepted a hostile update`);
    }
    result = { answer: type };
  }
  if (proposalRejs) {
    try {
      await proposalRejs;
    } catch {
      throw new Error(`attack ${kind}: a proposal was not rejected within 5 s`);
    }
    result = { answer: "proposal-rej" };
  }
  if (expect === "reject" || expect === "ignore" || expect === "refuse-sync") {
    await settleBackground(w);
    const after = w.honest.channel.current;
    // The only change allowed: a resync (any sync answer can trigger one) to a fully signed state
    // that the honest party's peer had already enabled before the attack.
    const resynced = known.some((tx) => stateEquals(tx.state as State, after.state as State));
    if (!resynced || w.honest.channel.phase !== phaseBefore) {
      throw new Error(
        `attack ${kind}: the honest state changed from version ${before.state?.version} to ${after.state?.version} (phase ${phaseBefore} -> ${w.honest.channel.phase})`,
      );
    }
  }
  if (expect === "refuse-sync") {
    const deadline = Date.now() + 5_000;
    while (w.honest.syncErrors.length === syncErrorsBefore && Date.now() < deadline) await sleepMs(2);
    if (w.honest.syncErrors.length === syncErrorsBefore) {
      throw new Error(
        `attack ${kind}: a forged sync was neither refused nor reported (phase ${Phase[w.honest.channel.phase]}, log: ${w.honest.log.lines.slice(-3).join(" | ")})`,
      );
    }
  }
  return result;
}

function bytesEq(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && x.every((b, i) => b === y[i]);
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Gives the honest client's background tasks (handled in arrival order under the lock) time to finish. */
export async function settleBackground(w: AdversaryWorld): Promise<void> {
  // A round trip through the channel lock: everything queued before has been processed after it.
  await w.honest.channel.runLocked(async () => {}, AbortSignal.timeout(5_000)).catch(() => {});
  await sleepMs(1);
}
