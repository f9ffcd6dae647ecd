import { SimAccount, SimAsset, SimChannelBackend } from "@perun-ts/backend-sim";
import {
  type Account,
  type Address,
  type Allocation,
  AppRegistry,
  type Asset,
  addressKey,
  type ChannelBackend,
  type ChannelId,
  type DecodeContext,
  noApp,
  Params,
  PaymentApp,
  type PersistedChannel,
  type PersistRestorer,
  PerunError,
  Phase,
  type State,
  StateMachine,
  toHex,
  transfer,
  UnknownChannelError,
} from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { persistedChannelDiff } from "./persisted-channel-diff.js";
import { describeError, outcome, type SuiteRunOptions, suiteSeed } from "./suite-support.js";

/** What {@link persistRestorerSuite} needs. */
export interface PersistRestorerSuiteSetup extends Omit<SuiteRunOptions, "numRuns"> {
  /** A fresh, empty persister; `ctx` holds the backend and apps it needs to decode what it stores. */
  create(ctx: DecodeContext): PersistRestorer | Promise<PersistRestorer>;
  /**
   * Optional: close `old` and open a new instance on the same storage. If given, the suite also
   * checks that everything survives a restart.
   */
  reopen?(old: PersistRestorer, ctx: DecodeContext): Promise<PersistRestorer>;
  /** Called after each test (after `close`), e.g. to delete a temporary directory. */
  destroy?(pr: PersistRestorer): void | Promise<void>;
  /** Peers besides the own participant; default 4. */
  readonly numPeers?: number;
  /** Channels per peer; default 16 (spec §6.5: 4 peers × 16 channels). */
  readonly channelsPerPeer?: number;
  /** The backend whose ids, addresses and signatures are persisted; default `SimChannelBackend`. */
  readonly backend?: ChannelBackend;
  /** Two distinct assets of `backend`; default `SimAsset` 0 and 1. */
  readonly assets?: readonly Asset[];
  /** Accounts of `backend`; default random `SimAccount`s. */
  newAccount?(): Account | Promise<Account>;
}

interface Plan {
  readonly params: Params;
  readonly idx: number;
  /** Accounts in participant order. */
  readonly accounts: readonly Account[];
  readonly parent: ChannelId | undefined;
}

/**
 * The persister conformance suite (go-perun spec §6.5): many random channels for several peers,
 * every second one with a parent, each driven concurrently through a realistic life cycle by
 * core's `StateMachine` (open, discarded update, update, final update, dispute phases) with the
 * Persister call the client makes after each operation. After every step `restoreChannel` must
 * return exactly the machine's data; `restorePeer` and `activePeers` are checked at checkpoints;
 * removal makes channels, then peers, disappear; calls for unknown channels reject.
 *
 * @example
 * ```ts
 * import { persistRestorerSuite } from "@perun-ts/testing";
 * persistRestorerSuite({ create: (ctx) => new MyPersister(ctx) });
 * ```
 */
export function persistRestorerSuite(setup: PersistRestorerSuiteSetup): void {
  const name = setup.name ?? "persist-restorer conformance";
  const backend = setup.backend ?? new SimChannelBackend();
  const newAccount = setup.newAccount ?? (() => SimAccount.random());
  const numPeers = setup.numPeers ?? 4;
  const perPeer = setup.channelsPerPeer ?? 16;
  const assets = setup.assets ?? [new SimAsset(0n), new SimAsset(1n)];

  describe(name, () => {
    const seed = suiteSeed(name, setup.seed);

    async function withPersister(
      f: (pr: PersistRestorer, ctx: DecodeContext, env: Env) => Promise<PersistRestorer | undefined>,
    ) {
      const env = await makeEnv(newAccount, numPeers);
      const ctx: DecodeContext = { backend, apps: env.apps };
      let pr = await setup.create(ctx);
      try {
        pr = (await f(pr, ctx, env)) ?? pr;
      } finally {
        await pr.close();
        await setup.destroy?.(pr);
      }
    }

    it("restores every channel exactly after every step of its life cycle", async () => {
      await withPersister(async (initial, ctx, env) => {
        let pr = initial;
        const rng = mulberry32(seed);
        const plans = planChannels(env, perPeer, rng, backend);
        const live = new Map<string, { plan: Plan; machine: StateMachine }>();

        // 1. open all channels concurrently
        await Promise.all(
          plans.map(async (plan) => {
            const m = new StateMachine(plan.params, plan.accounts[plan.idx] as Account, plan.idx, backend);
            live.set(toHex(plan.params.id), { plan, machine: m });
            await openChannel(pr, m, plan, backend, assets);
          }),
        );
        await checkAll(pr, live, "after opening");
        await checkPeers(pr, live, "after opening");

        // 2. updates, a discarded update, a final update and the dispute phases, concurrently
        await Promise.all(
          [...live.values()].map(({ plan, machine }) => runChannel(pr, machine, plan, backend)),
        );
        await checkAll(pr, live, "after the life cycle");
        await checkPeers(pr, live, "after the life cycle");

        if (setup.reopen) {
          pr = await setup.reopen(pr, ctx);
          await checkAll(pr, live, "after reopening");
          await checkPeers(pr, live, "after reopening");
        }

        // 3. withdraw and remove in random order: channels, then peers, disappear
        const order = [...live.keys()].sort(() => rng() - 0.5);
        for (const key of order) {
          const { machine } = live.get(key) as { machine: StateMachine };
          machine.setWithdrawn();
          await pr.channelRemoved(machine.id);
          live.delete(key);
          const r = await outcome(() => pr.restoreChannel(machine.id));
          expect(
            !r.ok && r.error instanceof UnknownChannelError,
            `removed channel ${key} still restorable`,
          ).toBe(true);
          await checkActivePeers(pr, live, `after removing ${key}`);
        }
        expect(await pr.activePeers()).toEqual([]);
        for (const peer of env.everyone) expect(await collect(pr.restorePeer(peer.address))).toEqual([]);
        return pr;
      });
    });

    it("rejects writes and restores for unknown channels", async () => {
      await withPersister(async (pr, _ctx, env) => {
        const plan = planChannels(env, 1, mulberry32(seed + 1), backend)[0] as Plan;
        const m = new StateMachine(plan.params, plan.accounts[plan.idx] as Account, plan.idx, backend);
        m.init(allocationFor(plan.params, assets));
        const src = m.source();
        const calls: [string, () => Promise<unknown>][] = [
          ["staged", () => pr.staged(src)],
          ["sigAdded", () => pr.sigAdded(src, 0)],
          ["enabled", () => pr.enabled(src)],
          ["phaseChanged", () => pr.phaseChanged(src)],
          ["channelRemoved", () => pr.channelRemoved(src.id)],
        ];
        for (const [what, call] of calls) {
          const r = await outcome(call);
          expect(r.ok, `${what} of an unknown channel resolved`).toBe(false);
          if (!r.ok) expect(r.error instanceof PerunError, `${what}: ${describeError(r.error)}`).toBe(true);
        }
        const r = await outcome(() => pr.restoreChannel(src.id));
        expect(
          !r.ok && r.error instanceof UnknownChannelError,
          r.ok ? "restored" : describeError(r.error),
        ).toBe(true);
        expect(await collect(pr.restorePeer(env.own.address))).toEqual([]);
        expect(await pr.activePeers()).toEqual([]);
      });
    });

    it("stores copies: later changes to the caller's or the restored objects do not leak in", async () => {
      await withPersister(async (pr, _ctx, env) => {
        const plan = planChannels(env, 1, mulberry32(seed + 2), backend)[0] as Plan;
        const m = new StateMachine(plan.params, plan.accounts[plan.idx] as Account, plan.idx, backend);
        const peers = plan.accounts.map((a) => a.address);
        await pr.channelCreated(m.source(), peers, plan.parent);
        m.init(allocationFor(plan.params, assets));
        const sigBytes = (await m.sig()).slice();
        // a caller-owned, mutable source
        const sigs: (Uint8Array | undefined)[] = [...m.staging.sigs];
        sigs[plan.idx] = sigBytes;
        const mine = { ...m.source(), staging: { state: m.staging.state, sigs } };
        await pr.staged(mine);
        await pr.sigAdded(mine, plan.idx);
        const expected: PersistedChannel = { ...m.source(), peers, parent: plan.parent };
        sigBytes.fill(0);
        sigs[plan.idx] = undefined;
        const restored = await pr.restoreChannel(m.id);
        expect(persistedChannelDiff(expected, restored)).toBeUndefined();
        (restored.staging.sigs[plan.idx] as Uint8Array).fill(9);
        (restored.staging.sigs as (Uint8Array | undefined)[])[plan.idx] = undefined;
        (restored.peers as Address[]).reverse();
        expect(persistedChannelDiff(expected, await pr.restoreChannel(m.id))).toBeUndefined();
      });
    });
  });
}

// ------------------------------------------------------------------------------------------
// environment and plans

interface Env {
  readonly own: Account;
  readonly peers: readonly Account[];
  readonly everyone: readonly Account[];
  readonly apps: AppRegistry;
  readonly payment: PaymentApp;
}

async function makeEnv(newAccount: () => Account | Promise<Account>, numPeers: number): Promise<Env> {
  const own = await newAccount();
  const peers: Account[] = [];
  for (let i = 0; i < numPeers; i++) peers.push(await newAccount());
  const appAccount = await newAccount();
  const payment = new PaymentApp(appAccount.address);
  return { own, peers, everyone: [own, ...peers], apps: new AppRegistry().register(payment), payment };
}

function planChannels(env: Env, perPeer: number, rng: () => number, backend: ChannelBackend): Plan[] {
  const plans: Plan[] = [];
  let k = 0;
  for (let round = 0; round < perPeer; round++) {
    for (const [p, peer] of env.peers.entries()) {
      // mostly two-party; every fourth channel has a third participant (the next peer)
      const others =
        k % 4 === 3 && env.peers.length > 1
          ? [peer, env.peers[(p + 1) % env.peers.length] as Account]
          : [peer];
      const idx = Math.floor(rng() * (others.length + 1));
      const accounts = [...others];
      accounts.splice(idx, 0, env.own);
      // every second channel is a sub-channel of the previous one
      const parent = k % 2 === 1 ? (plans[k - 1] as Plan).params.id : undefined;
      const params = Params.create(
        {
          challengeDuration: BigInt(1 + Math.floor(rng() * 1000)),
          parts: accounts.map((a) => a.address),
          app: k % 3 === 0 ? env.payment : noApp,
          nonce: BigInt(Math.floor(rng() * 2 ** 48)) * 65536n + BigInt(k),
          ledgerChannel: parent === undefined,
          virtualChannel: false,
        },
        backend,
      );
      plans.push({ params, idx, accounts, parent });
      k++;
    }
  }
  return plans;
}

function allocationFor(params: Params, assets: readonly Asset[]): Allocation {
  const n = params.parts.length;
  return {
    assets,
    balances: assets.map((_, a) => Array.from({ length: n }, (_, i) => BigInt(100 + 10 * i + a))),
    locked: [],
  };
}

// ------------------------------------------------------------------------------------------
// driving a channel through its life cycle, checking after every persister call

type Live = Map<string, { plan: Plan; machine: StateMachine }>;

function expectedOf(m: StateMachine, plan: Plan): PersistedChannel {
  return { ...m.source(), peers: plan.accounts.map((a) => a.address), parent: plan.parent };
}

async function checkOne(pr: PersistRestorer, m: StateMachine, plan: Plan, label: string): Promise<void> {
  const r = await outcome(() => pr.restoreChannel(m.id));
  if (!r.ok) throw new Error(`restoreChannel ${toHex(m.id)} ${label} failed: ${describeError(r.error)}`);
  const diff = persistedChannelDiff(expectedOf(m, plan), r.value);
  expect(diff, `channel ${toHex(m.id)} ${label}: ${diff}`).toBeUndefined();
}

async function step(
  pr: PersistRestorer,
  m: StateMachine,
  plan: Plan,
  label: string,
  persist: () => Promise<void>,
): Promise<void> {
  await persist();
  await checkOne(pr, m, plan, `after ${label}`);
}

async function collectSigs(
  pr: PersistRestorer,
  m: StateMachine,
  plan: Plan,
  backend: ChannelBackend,
  label: string,
) {
  await m.sig();
  await step(pr, m, plan, `${label}: own sigAdded`, () => pr.sigAdded(m.source(), plan.idx));
  for (const [j, acc] of plan.accounts.entries()) {
    if (j === plan.idx) continue;
    await m.addSig(j, await backend.sign(acc, m.staging.state as State));
    await step(pr, m, plan, `${label}: sigAdded(${j})`, () => pr.sigAdded(m.source(), j));
  }
}

async function openChannel(
  pr: PersistRestorer,
  m: StateMachine,
  plan: Plan,
  backend: ChannelBackend,
  assets: readonly Asset[],
): Promise<void> {
  const peers = plan.accounts.map((a) => a.address);
  await step(pr, m, plan, "channelCreated", () => pr.channelCreated(m.source(), peers, plan.parent));
  m.init(allocationFor(plan.params, assets));
  await step(pr, m, plan, "init", () => pr.staged(m.source()));
  await collectSigs(pr, m, plan, backend, "init");
  m.enableInit();
  await step(pr, m, plan, "enableInit", () => pr.enabled(m.source()));
  m.setFunded();
  await step(pr, m, plan, "setFunded", () => pr.phaseChanged(m.source()));
}

/** The own participant pays one unit of asset 0 to the next participant. */
function payment(m: StateMachine, isFinal: boolean): State {
  const cur = m.current.state as State;
  const n = m.params.parts.length;
  const amounts = cur.allocation.assets.map((_, i) => (i === 0 ? 1n : 0n));
  return {
    ...cur,
    version: cur.version + 1n,
    allocation: transfer(cur.allocation, m.idx, (m.idx + 1) % n, amounts),
    isFinal,
  };
}

async function runChannel(
  pr: PersistRestorer,
  m: StateMachine,
  plan: Plan,
  backend: ChannelBackend,
): Promise<void> {
  m.update(payment(m, false), m.idx);
  await step(pr, m, plan, "update (to discard)", () => pr.staged(m.source()));
  await m.sig();
  await step(pr, m, plan, "own sig of the discarded update", () => pr.sigAdded(m.source(), m.idx));
  m.discardUpdate();
  await step(pr, m, plan, "discardUpdate", () => pr.staged(m.source()));

  m.update(payment(m, false), m.idx);
  await step(pr, m, plan, "update", () => pr.staged(m.source()));
  await collectSigs(pr, m, plan, backend, "update");
  m.enableUpdate();
  await step(pr, m, plan, "enableUpdate", () => pr.enabled(m.source()));

  m.update(payment(m, true), m.idx);
  await step(pr, m, plan, "final update", () => pr.staged(m.source()));
  await collectSigs(pr, m, plan, backend, "final update");
  m.enableFinal();
  await step(pr, m, plan, "enableFinal", () => pr.enabled(m.source()));

  m.setRegistering();
  await step(pr, m, plan, "setRegistering", () => pr.phaseChanged(m.source()));
  m.setRegistered();
  await step(pr, m, plan, "setRegistered", () => pr.phaseChanged(m.source()));
  m.setWithdrawing();
  await step(pr, m, plan, "setWithdrawing", () => pr.phaseChanged(m.source()));
  expect(m.phase).toBe(Phase.Withdrawing);
}

async function checkAll(pr: PersistRestorer, live: Live, label: string): Promise<void> {
  for (const { plan, machine } of live.values()) await checkOne(pr, machine, plan, label);
}

function expectedPeers(live: Live): Map<string, { address: Address; channels: Set<string> }> {
  const peers = new Map<string, { address: Address; channels: Set<string> }>();
  for (const [key, { plan }] of live) {
    for (const a of plan.accounts) {
      const k = addressKey(a.address);
      const entry = peers.get(k) ?? { address: a.address, channels: new Set<string>() };
      entry.channels.add(key);
      peers.set(k, entry);
    }
  }
  return peers;
}

async function checkActivePeers(pr: PersistRestorer, live: Live, label: string): Promise<void> {
  const got = (await pr.activePeers()).map(addressKey);
  expect(new Set(got).size, `activePeers ${label} has duplicates`).toBe(got.length);
  expect([...got].sort(), `activePeers ${label}`).toEqual([...expectedPeers(live).keys()].sort());
}

async function checkPeers(pr: PersistRestorer, live: Live, label: string): Promise<void> {
  await checkActivePeers(pr, live, label);
  for (const { address, channels } of expectedPeers(live).values()) {
    const restored = await collect(pr.restorePeer(address));
    const ids = restored.map((c) => toHex(c.id));
    expect(new Set(ids).size, `restorePeer(${address.toString()}) ${label} has duplicates`).toBe(ids.length);
    expect([...ids].sort(), `restorePeer(${address.toString()}) ${label}`).toEqual([...channels].sort());
    for (const c of restored) {
      const { plan, machine } = live.get(toHex(c.id)) as { plan: Plan; machine: StateMachine };
      const diff = persistedChannelDiff(expectedOf(machine, plan), c);
      expect(
        diff,
        `restorePeer(${address.toString()}) ${label}, channel ${toHex(c.id)}: ${diff}`,
      ).toBeUndefined();
    }
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A small seeded PRNG (mulberry32) for the suite's random choices. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
