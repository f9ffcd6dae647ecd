import type { Secp256k1 } from "@perun-ts/backend-sim";
import {
  type Address,
  allocationSum,
  channelIdEquals,
  PerunError,
  Phase,
  phaseName,
  type State,
  type Transaction,
} from "@perun-ts/core";
import { MessageType } from "@perun-ts/wire";
import fc from "fast-check";
import { AdversaryWorld, WORLD_CHALLENGE, WORLD_MINT } from "./adversary-world.js";
import { ATTACKS, type AttackKind, moved, rng, runAttack, settleBackground } from "./attacks.js";
import type { RejectionMonitor } from "./rejection-monitor.js";

/** Ways the adversary interferes with an honest payment in flight. */
export const INTERFERENCES = ["forgedAcc", "forgedRej", "racingUpdate", "replayAcc"] as const;

/** One step of a generated run. */
export type Command =
  | { readonly kind: "honestPay"; readonly amount: bigint }
  | { readonly kind: "adversaryPay"; readonly amount: bigint }
  | { readonly kind: "honestSync" }
  | { readonly kind: "adversarySync" }
  | { readonly kind: "attack"; readonly attack: AttackKind; readonly seed: number; readonly amount: bigint }
  | {
      readonly kind: "interfere";
      readonly how: (typeof INTERFERENCES)[number];
      readonly seed: number;
      readonly amount: bigint;
    };

/** How a run ends. */
export type Ending = "cooperative" | "dispute" | "staleRegistration";

/** A generated run: who is who, the commands, how it ends. */
export interface RunPlan {
  readonly honestIdx: 0 | 1;
  readonly balances: readonly [bigint, bigint];
  readonly commands: readonly Command[];
  readonly ending: Ending;
}

/** What happened in one run (summed up over all runs by the test). */
export interface RunStats {
  readonly attacks: Map<string, number>;
  readonly honestOps: { ok: number; failed: number };
  readonly settledBy: "cooperative" | "dispute";
  readonly warnings: readonly string[];
  /** Steps that took longer than a second (a timeout the honest party had to sit out). */
  readonly slow: readonly string[];
}

const amountArb = fc.bigInt({ min: 0n, max: 40n });

/** fast-check arbitrary of one command. */
export const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: amountArb.map((amount) => ({ kind: "honestPay" as const, amount })) },
  { weight: 3, arbitrary: amountArb.map((amount) => ({ kind: "adversaryPay" as const, amount })) },
  { weight: 1, arbitrary: fc.constant({ kind: "honestSync" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "adversarySync" as const }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("attack" as const),
      attack: fc.constantFrom(...ATTACKS),
      seed: fc.nat(),
      amount: amountArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("interfere" as const),
      how: fc.constantFrom(...INTERFERENCES),
      seed: fc.nat(),
      amount: amountArb,
    }),
  },
);

/** fast-check arbitrary of a whole run of at most `maxCommands` steps. */
export function runPlanArb(maxCommands: number): fc.Arbitrary<RunPlan> {
  return fc.record({
    honestIdx: fc.constantFrom(0 as const, 1 as const),
    balances: fc.tuple(fc.bigInt({ min: 0n, max: 100n }), fc.bigInt({ min: 0n, max: 100n })),
    commands: fc.array(commandArb, { minLength: 1, maxLength: maxCommands }),
    ending: fc.constantFrom<Ending>("cooperative", "dispute", "staleRegistration"),
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fails with "hang" if `p` does not settle within `ms` of real time. */
async function watchdog<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (hang)`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** An honest operation may fail, but only with a typed error. */
function expectTypedFailure(e: unknown, what: string): void {
  if (!(e instanceof PerunError)) {
    throw new Error(
      `${what} failed with an untyped error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    );
  }
}

/**
 * Runs `plan` against a fresh world and checks the invariants after every step and the payout at
 * the end. Throws (with the step) on the first violation.
 */
export async function runAdversaryPlan(
  plan: RunPlan,
  env: { readonly monitor: RejectionMonitor; readonly secp256k1?: Secp256k1 },
): Promise<RunStats> {
  const w = await AdversaryWorld.create(
    {
      honestIdx: plan.honestIdx,
      proposer: plan.honestIdx === 0 ? "honest" : "adversary",
      balances: plan.balances,
      ...(env.secp256k1 ? { secp256k1: env.secp256k1 } : {}),
    },
    env.monitor,
  );
  const attacks = new Map<string, number>();
  const honestOps = { ok: 0, failed: 0 };
  const slow: string[] = [];
  try {
    const total = allocationSum(w.honest.channel.state.allocation)[0] as bigint;
    await checkInvariants(w, total, "after opening");
    for (const [i, cmd] of plan.commands.entries()) {
      const label = `step ${i} (${describe(cmd)})`;
      const name =
        cmd.kind === "attack" ? cmd.attack : cmd.kind === "interfere" ? `interfere:${cmd.how}` : cmd.kind;
      attacks.set(name, (attacks.get(name) ?? 0) + 1);
      const t0 = Date.now();
      const ok = await watchdog(runCommand(w, cmd), 20_000, label).catch((e: unknown) => {
        throw new Error(`${label}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      });
      if (ok === true) honestOps.ok++;
      else if (ok === false) honestOps.failed++;
      await checkInvariants(w, total, `after ${label}`);
      const ms = Date.now() - t0;
      if (ms > 1_000) slow.push(`${label}: ${ms} ms`);
    }
    const settledBy = await watchdog(settle(w, plan.ending), 30_000, "settlement");
    await w.monitor.check("during settlement");
    return { attacks, honestOps, settledBy, warnings: [...w.honest.log.lines], slow };
  } finally {
    await w.close();
  }
}

function describe(cmd: Command): string {
  switch (cmd.kind) {
    case "attack":
      return `attack ${cmd.attack} seed ${cmd.seed} amount ${cmd.amount}`;
    case "interfere":
      return `interfere ${cmd.how} seed ${cmd.seed} amount ${cmd.amount}`;
    case "honestPay":
    case "adversaryPay":
      return `${cmd.kind} ${cmd.amount}`;
    default:
      return cmd.kind;
  }
}

/** Runs one command; returns true/false for an honest operation that succeeded/failed, else undefined. */
async function runCommand(w: AdversaryWorld, cmd: Command): Promise<boolean | undefined> {
  switch (cmd.kind) {
    case "honestPay":
      return honestPay(w, cmd.amount);
    case "adversaryPay":
      try {
        await w.adversary.channel.update(
          (s) => ({ ...s, allocation: moved(s.allocation, w.advIdx, w.opts.honestIdx, cmd.amount) }),
          {
            signal: AbortSignal.timeout(5_000),
          },
        );
        return true;
      } catch (e) {
        expectTypedFailure(e, "the adversary's cooperative payment");
        return false;
      }
    case "honestSync":
      try {
        await w.honest.client.sync(w.honest.channel, { timeoutMs: 300 });
        return true;
      } catch (e) {
        expectTypedFailure(e, "the honest sync");
        return false;
      }
    case "adversarySync":
      try {
        await w.adversary.client.sync(w.adversary.channel, { timeoutMs: 300 });
      } catch (e) {
        expectTypedFailure(e, "the adversary's sync");
      }
      return undefined;
    case "attack":
      await runAttack(w, cmd.attack, cmd.seed, cmd.amount);
      return undefined;
    case "interfere":
      return interfere(w, cmd.how, cmd.seed, cmd.amount);
  }
}

async function honestPay(w: AdversaryWorld, amount: bigint): Promise<boolean> {
  const h = w.opts.honestIdx;
  try {
    await w.honest.channel.update(
      (s) => {
        const next: State = { ...s, allocation: moved(s.allocation, h, h ^ 1, amount) };
        w.honest.consent.consent({ ...next, id: s.id, version: s.version + 1n });
        return next;
      },
      { signal: AbortSignal.timeout(5_000) },
    );
    return true;
  } catch (e) {
    expectTypedFailure(e, "the honest payment");
    return false;
  }
}

async function interfere(
  w: AdversaryWorld,
  how: (typeof INTERFERENCES)[number],
  seed: number,
  amount: bigint,
): Promise<boolean> {
  const r = rng(seed);
  const h = w.opts.honestIdx;
  const a = w.advIdx;
  const cur = w.honest.channel.state;
  const version = cur.version + 1n;
  const signal = AbortSignal.timeout(5_000);
  const sent = w.adversary.bus.next(
    (env) => env.message.type === MessageType.ChannelUpdate && env.message.state.version === version,
    signal,
  );
  sent.catch(() => {});
  if (how === "replayAcc") {
    const ok = await honestPay(w, amount);
    const acc = [...w.transcript]
      .reverse()
      .find(
        (env) =>
          env.message.type === MessageType.ChannelUpdateAcc && env.sender.equals(w.adversary.wire.address),
      );
    if (acc) await w.inject(acc.message);
    return ok;
  }
  const paying = honestPay(w, amount);
  if (how === "racingUpdate") {
    // A valid update of the same version, sent while the honest one is in flight.
    const s: State = { ...cur, version, allocation: moved(cur.allocation, a, h, amount) };
    const sig = await w.backend.sign(w.adversary.participant, s);
    await w.inject({ type: MessageType.ChannelUpdate, state: s, actorIdx: a, sig });
    return paying;
  }
  // The honest party may not send at all (e.g. the channel is final): then there is nothing to forge against.
  const first = await Promise.race([
    sent.then(() => "sent" as const),
    paying.then(() => "done" as const),
  ]).catch(() => "done" as const);
  if (first === "done") return paying;
  if (how === "forgedAcc") {
    const sig = new Uint8Array(w.backend.signatureLength);
    for (let i = 0; i < sig.length; i++) sig[i] = Math.floor(r() * 256);
    await w.inject({ type: MessageType.ChannelUpdateAcc, channelId: cur.id, version, sig });
  } else {
    await w.inject({ type: MessageType.ChannelUpdateRej, channelId: cur.id, version, reason: "forged" });
  }
  return paying;
}

/**
 * The invariants after every step: the honest current state is fully signed by both participants
 * (signatures verified), the honest signature on it was made by the honest party (so it consented),
 * the sum and the asset are preserved and nothing is locked, nothing was signed without consent,
 * no unhandled rejection, and the honest client still answers (an update for an unknown channel
 * gets a rejection).
 */
async function checkInvariants(w: AdversaryWorld, total: bigint, where: string): Promise<void> {
  await settleBackground(w);
  await w.monitor.check(where);
  const ch = w.honest.channel;
  const tx: Transaction = ch.current;
  const state = tx.state;
  if (!state) throw new Error(`${where}: the honest channel has no current state`);
  for (const i of [0, 1]) {
    const sig = tx.sigs[i];
    if (!sig || !(await w.backend.verify(ch.params.parts[i] as Address, state, sig))) {
      throw new Error(
        `${where}: signature ${i} on the honest current state (version ${state.version}) is missing or invalid`,
      );
    }
  }
  if (!w.honest.consent.producedSignature(tx.sigs[w.opts.honestIdx])) {
    throw new Error(`${where}: the honest party's signature on its current state was not made by it`);
  }
  if (w.honest.consent.violations.length > 0) {
    throw new Error(`${where}: ${w.honest.consent.violations.join("; ")}`);
  }
  const alloc = state.allocation;
  if (alloc.assets.length !== 1 || !alloc.assets[0]?.equals(w.asset) || alloc.locked.length !== 0) {
    throw new Error(`${where}: the asset or locked funds of the honest channel changed`);
  }
  if (allocationSum(alloc)[0] !== total) throw new Error(`${where}: the channel sum changed`);
  if (ch.phase !== Phase.Acting && ch.phase !== Phase.Final) {
    throw new Error(`${where}: the honest channel is in phase ${phaseName(ch.phase)}`);
  }
  // Responsiveness: a ping-style round trip through the honest client's request loop.
  await runAttack(w, "unknownChannel", 1, 0n);
}

/**
 * Ends the run: cooperatively if both can agree on a final state, else by a dispute (optionally
 * after the adversary registered a stale state). The honest payout must be its balance in a state
 * it signed with at least the version it held when settling started.
 */
async function settle(w: AdversaryWorld, ending: Ending): Promise<"cooperative" | "dispute"> {
  const h = w.honest;
  const ch = h.channel;
  const id = ch.id;
  const floorVersion = ch.state.version;
  const candidates = (): bigint[] =>
    h.consent.signedStates
      .filter((s) => channelIdEquals(s.id, id) && s.version >= floorVersion)
      .map((s) => w.honestBalance(s));
  let mode: "cooperative" | "dispute" = "dispute";
  if (ending === "cooperative" && ch.phase === Phase.Acting) {
    await h.client
      .sync(ch, { timeoutMs: 300 })
      .catch((e: unknown) => expectTypedFailure(e, "pre-settlement sync"));
    try {
      await ch.update(
        (s) => {
          h.consent.consent({ ...s, version: s.version + 1n, isFinal: true });
          return { ...s, isFinal: true };
        },
        { signal: AbortSignal.timeout(5_000) },
      );
    } catch (e) {
      expectTypedFailure(e, "the final update");
    }
  }
  if (ch.phase === Phase.Final) mode = "cooperative";
  else if (ending === "staleRegistration") {
    const stale = w.history.find((tx) => (tx.state as State).version < ch.state.version);
    if (stale) {
      await w.adversary.adjudicator.register(
        { params: ch.params, account: w.adversary.participant, tx: stale, idx: w.advIdx, secondary: false },
        [],
        {},
      );
      const deadline = Date.now() + 5_000;
      while ((w.ledger.dispute(id)?.version ?? -1n) < floorVersion && Date.now() < deadline) await sleep(2);
      if ((w.ledger.dispute(id)?.version ?? -1n) < floorVersion) {
        throw new Error("the honest watcher did not refute a stale registration within 5 s");
      }
    }
  }
  let done = false;
  const settling = ch.settle({ signal: AbortSignal.timeout(25_000) }).finally(() => {
    done = true;
  });
  settling.catch(() => {});
  const started = Date.now();
  while (!done) {
    await sleep(2);
    const d = w.ledger.dispute(id);
    // Let time pass only once no stale registration is pending (the watcher refutes within the window).
    if (d && d.phase !== "concluded" && (d.version >= floorVersion || Date.now() - started > 5_000)) {
      w.clock.advance(WORLD_CHALLENGE);
    }
  }
  await settling;
  // The adversary takes its share too; whatever it does must not change the honest payout.
  const payout = w.honestPayout();
  await w.adversary.channel
    .settle({ signal: AbortSignal.timeout(5_000) })
    .catch((e: unknown) => expectTypedFailure(e, "the adversary's settlement"));
  await w.adversary.adjudicator
    .withdraw(
      {
        params: ch.params,
        account: w.adversary.participant,
        tx: w.adversary.channel.current,
        idx: w.advIdx,
        secondary: false,
      },
      new Map(),
      {},
    )
    .catch(() => {}); // a second withdrawal may fail; it must not pay anything twice (checked below)
  const payoutAfter = w.honestPayout();
  const allowed = candidates();
  if (payout !== payoutAfter)
    throw new Error(`the adversary's withdrawal changed the honest payout (${payout} -> ${payoutAfter})`);
  if (!allowed.includes(payout)) {
    throw new Error(
      `honest payout ${payout} is not its balance in any state it signed at version >= ${floorVersion} (allowed: ${allowed.join(", ")})`,
    );
  }
  const advPaid =
    w.ledger.balanceOf(w.adversary.participant.address, w.asset) -
    (WORLD_MINT - (w.opts.balances[w.advIdx] ?? 0n));
  const total = w.opts.balances[0] + w.opts.balances[1];
  if (payout + advPaid > total) throw new Error(`the ledger paid out ${payout + advPaid} of ${total}`);
  return mode;
}
