// Adjudicator rules, revert reasons, events and the dispute timeline (spec-eth §3.2, §3.4, §4).
import { type Address, type Hex, parseEventLogs, type TransactionReceipt, zeroAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adjudicatorAbi } from "./generated/Adjudicator.js";
import { assetHolderEthAbi } from "./generated/AssetHolderETH.js";
import { rejectingAppAbi, rejectingAppBytecode } from "./generated/test/RejectingApp.js";
import type { TestChain } from "./test-support/chain.js";
import {
  alice,
  bob,
  carol,
  channelId,
  type Fixture,
  fundingId,
  hashState,
  makeParams,
  makeState,
  type Params,
  type SignedState,
  type State,
  setupFixture,
  signAll,
  signState,
} from "./test-support/perun.js";

const E18 = 10n ** 18n;
const D = 3600n;
let f: Fixture;
let chain: TestChain;
let nonceCounter = 1n;

beforeAll(async () => {
  f = await setupFixture();
  chain = f.chain;
});
afterAll(async () => {
  await chain?.stop();
});

const freshParams = (o: Partial<Params> = {}) => makeParams({ nonce: nonceCounter++, ...o });
const ethOutcome = (a: bigint, b: bigint) => ({ assets: [f.ethHolder], balances: [[a, b]], locked: [] });

async function signed(params: Params, state: State, signers = [alice, bob]): Promise<SignedState> {
  return { params, state, sigs: await signAll(signers, state) };
}

const registerSpec = (channel: SignedState, subs: SignedState[] = []) =>
  ({
    address: f.adjudicator,
    abi: adjudicatorAbi,
    functionName: "register",
    args: [channel, subs],
  }) as const;

/** Sends `register` with the next block at `at` (if given). */
async function register(channel: SignedState, subs: SignedState[] = [], at?: bigint) {
  if (at !== undefined) await chain.setNextTimestamp(at);
  return chain.send(registerSpec(channel, subs));
}

async function registerReason(channel: SignedState, subs: SignedState[] = [], at?: bigint) {
  if (at !== undefined) await chain.setNextTimestamp(at);
  return chain.revertReason(registerSpec(channel, subs));
}

const updates = (r: TransactionReceipt) =>
  parseEventLogs({ abi: adjudicatorAbi, logs: r.logs, eventName: "ChannelUpdate" }).map((e) => e.args);

async function dispute(id: Hex) {
  const [timeout, challengeDuration, version, hasApp, phase, stateHash] =
    await chain.publicClient.readContract({
      address: f.adjudicator,
      abi: adjudicatorAbi,
      functionName: "disputes",
      args: [id],
    });
  return { timeout, challengeDuration, version, hasApp, phase, stateHash };
}

const holdings = (id: Hex, who: Address) =>
  chain.publicClient.readContract({
    address: f.ethHolder,
    abi: assetHolderEthAbi,
    functionName: "holdings",
    args: [fundingId(id, who)],
  });

async function deposit(params: Params, amounts: readonly bigint[]) {
  const id = channelId(params);
  for (const [i, who] of [alice, bob].entries()) {
    const amount = amounts[i] ?? 0n;
    if (amount === 0n) continue;
    await chain.send({
      address: f.ethHolder,
      abi: assetHolderEthAbi,
      functionName: "deposit",
      args: [fundingId(id, who.address), amount],
      value: amount,
      from: who,
    });
  }
}

async function nextTime(delta = 10n): Promise<bigint> {
  return (await chain.timestamp()) + delta;
}

const concludeSpec = (params: Params, state: State, subs: State[] = []) =>
  ({
    address: f.adjudicator,
    abi: adjudicatorAbi,
    functionName: "conclude",
    args: [params, state, subs],
  }) as const;

const concludeFinalSpec = (params: Params, state: State, sigs: readonly Hex[]) =>
  ({
    address: f.adjudicator,
    abi: adjudicatorAbi,
    functionName: "concludeFinal",
    args: [params, state, sigs],
  }) as const;

describe("register", () => {
  it("stores the dispute and emits ChannelUpdate(phase 0, timeout = now + challengeDuration)", async () => {
    const params = freshParams();
    const state = makeState(params, { version: 3n, outcome: ethOutcome(1n, 2n) });
    const t = await nextTime();
    const r = await register(await signed(params, state), [], t);
    expect(updates(r)).toEqual([{ channelID: channelId(params), version: 3n, phase: 0, timeout: t + D }]);
    expect(await dispute(channelId(params))).toEqual({
      timeout: t + D,
      challengeDuration: D,
      version: 3n,
      hasApp: false,
      phase: 0,
      stateHash: hashState(state),
    });
  });

  it("checks ledger flag, params, signature count and signers", async () => {
    const params = freshParams();
    const state = makeState(params, { outcome: ethOutcome(1n, 1n) });
    const ok = await signed(params, state);
    const notLedger = freshParams({ ledgerChannel: false });
    expect(await registerReason(await signed(notLedger, makeState(notLedger)))).toBe("not ledger");
    expect(await registerReason({ ...ok, state: { ...state, channelID: channelId(freshParams()) } })).toBe(
      "invalid params",
    );
    expect(await registerReason({ ...ok, sigs: ok.sigs.slice(0, 1) })).toBe("signatures length mismatch");
    expect(await registerReason({ ...ok, sigs: [ok.sigs[1] as Hex, ok.sigs[0] as Hex] })).toBe(
      "invalid signature",
    );
    expect(await registerReason(await signed(params, state, [alice, carol]))).toBe("invalid signature");
  });

  it("enforces the signature format (length, low s, v ∈ {27, 28}, EIP-191 prefix)", async () => {
    const params = freshParams();
    const state = makeState(params, { outcome: ethOutcome(1n, 1n) });
    const [sa, sb] = (await signAll([alice, bob], state)) as [Hex, Hex];
    const withSig = (s: Hex) => ({ params, state, sigs: [s, sb] });
    expect(await registerReason(withSig(sa.slice(0, 130) as Hex))).toBe("ECDSA: invalid signature length");
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${sa.slice(66, 130)}`);
    const v = Number.parseInt(sa.slice(130), 16);
    const highS = `${sa.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}`;
    expect(await registerReason(withSig(highS as Hex))).toBe("ECDSA: invalid signature 's' value");
    const v01 = `${sa.slice(0, 130)}${(v - 27).toString(16).padStart(2, "0")}`;
    expect(await registerReason(withSig(v01 as Hex))).toBe("ECDSA: invalid signature 'v' value");
    const zeroR = `0x${"00".repeat(32)}${sa.slice(66)}`;
    expect(await registerReason(withSig(zeroR as Hex))).toBe("ECDSA: invalid signature");
    const unprefixed = await alice.sign({ hash: hashState(state) });
    expect(await registerReason(withSig(unprefixed))).toBe("invalid signature");
  });

  it("refutation: newer version keeps the timeout, final state sets it to now; rejects old versions and late refutations", async () => {
    const params = freshParams();
    const id = channelId(params);
    const s = (version: bigint, isFinal = false) =>
      makeState(params, { version, isFinal, outcome: ethOutcome(version, 1n) });
    const t0 = await nextTime();
    await register(await signed(params, s(5n)), [], t0);
    // same state again: silently skipped (no event)
    const same = await register(await signed(params, s(5n)));
    expect(updates(same)).toEqual([]);
    expect(await registerReason(await signed(params, s(4n)))).toBe("invalid version");
    const r = await register(await signed(params, s(6n)), [], t0 + 100n);
    expect(updates(r)).toEqual([{ channelID: id, version: 6n, phase: 0, timeout: t0 + D }]);
    const rf = await register(await signed(params, s(7n, true)), [], t0 + 200n);
    expect(updates(rf)).toEqual([{ channelID: id, version: 7n, phase: 0, timeout: t0 + 200n }]);
    expect(await registerReason(await signed(params, s(8n)), [], t0 + 200n + 1n)).toBe(
      "refutation timeout passed",
    );
  });

  it("refutation exactly at the timeout is too late", async () => {
    const params = freshParams();
    const t0 = await nextTime();
    await register(
      await signed(params, makeState(params, { version: 1n, outcome: ethOutcome(1n, 1n) })),
      [],
      t0,
    );
    const newer = makeState(params, { version: 2n, outcome: ethOutcome(1n, 1n) });
    await register(await signed(params, newer), [], t0 + D - 1n);
    const newest = makeState(params, { version: 3n, outcome: ethOutcome(1n, 1n) });
    expect(await registerReason(await signed(params, newest), [], t0 + D)).toBe("refutation timeout passed");
  });

  it("virtual channels can have neither an app nor locked funds", async () => {
    const withApp = freshParams({ virtualChannel: true, app: f.app });
    expect(
      await registerReason(await signed(withApp, makeState(withApp, { outcome: ethOutcome(1n, 1n) }))),
    ).toBe("cannot have app");
    const p = freshParams({ virtualChannel: true });
    const sub = freshParams({ ledgerChannel: false });
    const locked = makeState(p, {
      outcome: { ...ethOutcome(1n, 1n), locked: [{ ID: channelId(sub), balances: [0n], indexMap: [0, 1] }] },
    });
    expect(await registerReason(await signed(p, locked))).toBe("cannot have locked funds");
  });

  it("reverts with 'overflow' if now + challengeDuration exceeds 64 bits", async () => {
    const params = freshParams({ challengeDuration: 2n ** 64n - 1n });
    expect(
      await registerReason(await signed(params, makeState(params, { outcome: ethOutcome(1n, 1n) }))),
    ).toBe("overflow");
  });

  it("sub-channels: DFS pre-order, id/asset/balance consistency, short arrays revert with a reason", async () => {
    const root = freshParams();
    const a = freshParams({ ledgerChannel: false });
    const a1 = freshParams({ ledgerChannel: false });
    const b = freshParams({ ledgerChannel: false });
    const a1State = makeState(a1, { version: 1n, outcome: ethOutcome(1n, 2n) });
    const aState = makeState(a, {
      version: 2n,
      outcome: { ...ethOutcome(10n, 20n), locked: [{ ID: channelId(a1), balances: [3n], indexMap: [1, 0] }] },
    });
    const bState = makeState(b, { version: 3n, outcome: ethOutcome(5n, 0n) });
    const rootState = (lockedA = 33n) =>
      makeState(root, {
        version: 4n,
        outcome: {
          ...ethOutcome(100n, 200n),
          locked: [
            { ID: channelId(a), balances: [lockedA], indexMap: [0, 1] },
            { ID: channelId(b), balances: [5n], indexMap: [1, 0] },
          ],
        },
      });
    const subs = [await signed(a, aState), await signed(a1, a1State), await signed(b, bState)];
    const rootSigned = await signed(root, rootState());

    expect(await registerReason(rootSigned, subs.slice(0, 2))).toBe("subChannels: too short");
    expect(await registerReason(rootSigned, [])).toBe("subChannels: too short");
    expect(await registerReason(rootSigned, [subs[0], subs[2], subs[1]] as SignedState[])).toBe(
      "invalid sub-channel id",
    );
    expect(await registerReason(await signed(root, rootState(34n)), subs)).toBe("uint256[]: unequal item");
    const otherAsset = makeState(b, {
      version: 3n,
      outcome: { ...ethOutcome(5n, 0n), assets: [f.erc20Holder] },
    });
    expect(
      await registerReason(rootSigned, [subs[0], subs[1], await signed(b, otherAsset)] as SignedState[]),
    ).toBe("address[]: unequal item");
    const twoAssets = makeState(b, {
      version: 3n,
      outcome: {
        assets: [f.ethHolder, f.erc20Holder],
        balances: [
          [5n, 0n],
          [0n, 0n],
        ],
        locked: [],
      },
    });
    expect(
      await registerReason(rootSigned, [subs[0], subs[1], await signed(b, twoAssets)] as SignedState[]),
    ).toBe("address[]: unequal length");

    const r = await register(rootSigned, subs);
    expect(updates(r).map((u) => [u.channelID, u.version, u.phase])).toEqual([
      [channelId(root), 4n, 0],
      [channelId(a), 2n, 0],
      [channelId(a1), 1n, 0],
      [channelId(b), 3n, 0],
    ]);

    // conclude: subStates must follow the same order; too short is a revert with a reason
    await chain.setNextTimestamp((await dispute(channelId(root))).timeout);
    expect(await chain.revertReason(concludeSpec(root, rootState(), [aState, a1State]))).toBe(
      "subStates: too short",
    );
    expect(await chain.revertReason(concludeSpec(root, rootState(), [aState, bState, a1State]))).toBe(
      "invalid sub-channel id",
    );
  });
});

describe("progress", () => {
  async function appChannel(app: Address = f.app) {
    const params = freshParams({ app, challengeDuration: 100n });
    const s1 = makeState(params, { version: 1n, outcome: ethOutcome(5n, 5n), appData: "0x01" });
    const t0 = await nextTime();
    await register(await signed(params, s1), [], t0);
    return { params, s1, t0 };
  }
  const progressSpec = (params: Params, from: State, to: State, idx: bigint, sig: Hex) =>
    ({
      address: f.adjudicator,
      abi: adjudicatorAbi,
      functionName: "progress",
      args: [params, from, to, idx, sig],
    }) as const;
  const next = (from: State, o: Partial<State> = {}): State => ({
    ...from,
    version: from.version + 1n,
    ...o,
  });

  it("follows the timeline: DISPUTE until timeout, then FORCEEXEC windows of challengeDuration", async () => {
    const { params, s1, t0 } = await appChannel();
    const s2 = next(s1, { outcome: ethOutcome(4n, 6n) });
    const sig2 = await signState(alice, s2);
    await chain.setNextTimestamp(t0 + 99n);
    expect(await chain.revertReason(progressSpec(params, s1, s2, 0n, sig2))).toBe("timeout not passed");
    await chain.setNextTimestamp(t0 + 100n); // now == timeout suffices
    const r = await chain.send(progressSpec(params, s1, s2, 0n, sig2));
    expect(updates(r)).toEqual([{ channelID: channelId(params), version: 2n, phase: 1, timeout: t0 + 200n }]);
    const s3 = next(s2, { outcome: ethOutcome(3n, 7n) });
    await chain.setNextTimestamp(t0 + 150n);
    await chain.send(progressSpec(params, s2, s3, 1n, await signState(bob, s3)));
    expect((await dispute(channelId(params))).timeout).toBe(t0 + 250n);
    const s4 = next(s3);
    await chain.setNextTimestamp(t0 + 250n);
    expect(await chain.revertReason(progressSpec(params, s3, s4, 0n, await signState(alice, s4)))).toBe(
      "timeout passed",
    );
    // refutation is over once in FORCEEXEC
    expect(await registerReason(await signed(params, s4))).toBe("incorrect phase");
  });

  it("checks app, actor, params, old state, signature and transition rules", async () => {
    const { params, s1, t0 } = await appChannel();
    await chain.setNextTimestamp(t0 + 100n);
    await chain.testClient.mine({ blocks: 1 });
    const s2 = next(s1, { outcome: ethOutcome(4n, 6n) });
    const sig = await signState(alice, s2);
    const reason = (p: Params, from: State, to: State, idx: bigint, s: Hex) =>
      chain.revertReason(progressSpec(p, from, to, idx, s));
    const noApp = { ...params, app: zeroAddress };
    expect(await reason(noApp, s1, s2, 0n, sig)).toBe("must have app");
    expect(await reason(params, s1, s2, 2n, sig)).toBe("actorIdx out of range");
    expect(await reason({ ...params, nonce: 1n }, s1, s2, 0n, sig)).toBe("invalid params");
    expect(await reason(params, { ...s1, appData: "0x02" }, s2, 0n, sig)).toBe("wrong old state");
    expect(await reason(params, s1, s2, 1n, sig)).toBe("invalid signature");
    const skip = next(s1, { version: 3n });
    expect(await reason(params, s1, skip, 0n, await signState(alice, skip))).toBe(
      "version must increment by one",
    );
    const more = next(s1, { outcome: ethOutcome(5n, 6n) });
    expect(await reason(params, s1, more, 0n, await signState(alice, more))).toBe("sum of balances changed");
    const asset = next(s1, { outcome: { ...ethOutcome(5n, 5n), assets: [f.erc20Holder] } });
    expect(await reason(params, s1, asset, 0n, await signState(alice, asset))).toBe(
      "address[]: unequal item",
    );
    const rows = next(s1, { outcome: { ...ethOutcome(5n, 5n), balances: [[10n]] } });
    expect(await reason(params, s1, rows, 0n, await signState(alice, rows))).toBe("balances length mismatch");
    const sub = freshParams({ ledgerChannel: false });
    const locked = next(s1, {
      outcome: { ...ethOutcome(5n, 5n), locked: [{ ID: channelId(sub), balances: [0n], indexMap: [0, 1] }] },
    });
    expect(await reason(params, s1, locked, 0n, await signState(alice, locked))).toBe("locked funds changed");
  });

  it("rejects unregistered channels and transitions the app refuses", async () => {
    const unregistered = freshParams({ app: f.app });
    const u1 = makeState(unregistered, { version: 1n });
    const u2 = next(u1);
    expect(await chain.revertReason(progressSpec(unregistered, u1, u2, 0n, await signState(alice, u2)))).toBe(
      "not registered",
    );
    const rejecting = await chain.deploy(rejectingAppAbi, rejectingAppBytecode);
    const { params, s1, t0 } = await appChannel(rejecting);
    await chain.setNextTimestamp(t0 + 100n);
    const s2 = next(s1);
    expect(await chain.revertReason(progressSpec(params, s1, s2, 0n, await signState(alice, s2)))).toBe(
      "transition rejected",
    );
  });

  it("progress into a final state sets timeout = now; conclude is then possible at once; then 'invalid phase'", async () => {
    const { params, s1, t0 } = await appChannel();
    await deposit(params, [5n, 5n]);
    const fin = next(s1, { isFinal: true, outcome: ethOutcome(2n, 8n) });
    await chain.setNextTimestamp(t0 + 120n);
    const r = await chain.send(progressSpec(params, s1, fin, 1n, await signState(bob, fin)));
    expect(updates(r)).toEqual([{ channelID: channelId(params), version: 2n, phase: 1, timeout: t0 + 120n }]);
    const after = next(fin, { isFinal: false });
    expect(
      await chain.revertReason(progressSpec(params, fin, after, 0n, await signState(alice, after))),
    ).toBe("timeout passed");
    await chain.setNextTimestamp(t0 + 120n + 1n);
    await chain.send(concludeSpec(params, fin));
    expect(
      await chain.revertReason(progressSpec(params, fin, after, 0n, await signState(alice, after))),
    ).toBe("invalid phase");
    expect(await holdings(channelId(params), bob.address)).toBe(8n);
  });
});

describe("conclude", () => {
  it("after the timeout: emits CONCLUDED once for the root, pushes the outcome, then refuses a second time", async () => {
    const params = freshParams();
    const id = channelId(params);
    await deposit(params, [E18, E18]);
    const state = makeState(params, { version: 2n, outcome: ethOutcome(E18 / 2n, (E18 * 3n) / 2n) });
    const t0 = await nextTime();
    await register(await signed(params, state), [], t0);
    await chain.setNextTimestamp(t0 + D - 1n);
    expect(await chain.revertReason(concludeSpec(params, state))).toBe("timeout not passed yet");
    expect(await chain.revertReason(concludeSpec({ ...params, ledgerChannel: false }, state))).toBe(
      "not ledger",
    );
    expect(await chain.revertReason(concludeSpec(params, { ...state, version: 3n }))).toBe(
      "invalid channel state",
    );
    await chain.setNextTimestamp(t0 + D); // now == timeout suffices
    const r = await chain.send(concludeSpec(params, state));
    expect(updates(r)).toEqual([{ channelID: id, version: 2n, phase: 2, timeout: t0 + D }]);
    const outcomeSet = parseEventLogs({ abi: assetHolderEthAbi, logs: r.logs, eventName: "OutcomeSet" });
    expect(outcomeSet.map((e) => e.args.channelID)).toEqual([id]);
    expect(await holdings(id, alice.address)).toBe(E18 / 2n);
    expect(await holdings(id, bob.address)).toBe((E18 * 3n) / 2n);
    expect((await dispute(id)).phase).toBe(2);
    expect(await chain.revertReason(concludeSpec(params, state))).toBe("channel already concluded");
    // re-registering the concluded state is a silent no-op; a newer one is refused
    expect(updates(await register(await signed(params, state)))).toEqual([]);
    const newer = makeState(params, { version: 3n, outcome: ethOutcome(E18, E18) });
    expect(await registerReason(await signed(params, newer))).toBe("incorrect phase");
  });

  it("app channel without progress needs timeout + challengeDuration, which is stored", async () => {
    const params = freshParams({ app: f.app, challengeDuration: 50n });
    const state = makeState(params, { version: 1n, outcome: ethOutcome(0n, 0n) });
    const t0 = await nextTime();
    await register(await signed(params, state), [], t0);
    await chain.setNextTimestamp(t0 + 99n);
    expect(await chain.revertReason(concludeSpec(params, state))).toBe("timeout not passed yet");
    await chain.setNextTimestamp(t0 + 100n);
    const r = await chain.send(concludeSpec(params, state));
    expect(updates(r)).toEqual([{ channelID: channelId(params), version: 1n, phase: 2, timeout: t0 + 100n }]);
    expect(await dispute(channelId(params))).toMatchObject({ timeout: t0 + 100n, phase: 2, hasApp: true });
  });

  it("adds sub-channel outcomes through their index maps and concludes them (DFS pre-order)", async () => {
    const root = freshParams();
    const sub = freshParams({ ledgerChannel: false });
    const subsub = freshParams({ ledgerChannel: false });
    await deposit(root, [100n, 100n]);
    const ssState = makeState(subsub, { version: 1n, outcome: ethOutcome(4n, 6n) });
    const subState = makeState(sub, {
      version: 2n,
      outcome: {
        ...ethOutcome(30n, 10n),
        locked: [{ ID: channelId(subsub), balances: [10n], indexMap: [1, 0] }],
      },
    });
    const rootState = makeState(root, {
      version: 3n,
      outcome: {
        ...ethOutcome(90n, 60n),
        locked: [{ ID: channelId(sub), balances: [50n], indexMap: [1, 0] }],
      },
    });
    const t0 = await nextTime();
    await register(
      await signed(root, rootState),
      [await signed(sub, subState), await signed(subsub, ssState)],
      t0,
    );
    await chain.setNextTimestamp(t0 + D);
    const r = await chain.send(concludeSpec(root, rootState, [subState, ssState]));
    expect(updates(r).map((u) => [u.channelID, u.version, u.phase, u.timeout])).toEqual([
      [channelId(root), 3n, 2, t0 + D],
      [channelId(sub), 2n, 2, t0 + D],
      [channelId(subsub), 1n, 2, t0 + D],
    ]);
    // subsub (4, 6) → sub participants (6, 4) + sub's own (30, 10) = (36, 14) → root swapped: (14, 36)
    expect(await holdings(channelId(root), alice.address)).toBe(90n + 14n);
    expect(await holdings(channelId(root), bob.address)).toBe(60n + 36n);
    expect((await dispute(channelId(sub))).phase).toBe(2);
    expect((await dispute(channelId(subsub))).phase).toBe(2);
  });
});

describe("concludeFinal", () => {
  it("checks its preconditions", async () => {
    const params = freshParams();
    const fin = makeState(params, { version: 1n, isFinal: true, outcome: ethOutcome(0n, 0n) });
    const sigs = await signAll([alice, bob], fin);
    const reason = (p: Params, s: State, g: readonly Hex[]) => chain.revertReason(concludeFinalSpec(p, s, g));
    expect(await reason({ ...params, ledgerChannel: false }, fin, sigs)).toBe("not ledger");
    const notFinal = { ...fin, isFinal: false };
    expect(await reason(params, notFinal, await signAll([alice, bob], notFinal))).toBe("state not final");
    const sub = freshParams({ ledgerChannel: false });
    const locked = {
      ...fin,
      outcome: { ...fin.outcome, locked: [{ ID: channelId(sub), balances: [0n], indexMap: [0, 1] }] },
    };
    expect(await reason(params, locked, await signAll([alice, bob], locked))).toBe(
      "cannot have sub-channels",
    );
    expect(await reason({ ...params, nonce: 0n }, fin, sigs)).toBe("invalid params");
    expect(await reason(params, fin, sigs.slice(1))).toBe("signatures length mismatch");
    expect(await reason(params, fin, [sigs[0] as Hex, sigs[0] as Hex])).toBe("invalid signature");
  });

  it("overrides a running dispute (even with a lower version), not a conclusion", async () => {
    const params = freshParams();
    const id = channelId(params);
    await deposit(params, [10n, 10n]);
    await register(await signed(params, makeState(params, { version: 9n, outcome: ethOutcome(20n, 0n) })));
    const fin = makeState(params, { version: 5n, isFinal: true, outcome: ethOutcome(3n, 17n) });
    const sigs = await signAll([alice, bob], fin);
    const t = await nextTime();
    await chain.setNextTimestamp(t);
    const r = await chain.send(concludeFinalSpec(params, fin, sigs));
    expect(updates(r)).toEqual([{ channelID: id, version: 5n, phase: 2, timeout: t }]);
    expect(await dispute(id)).toEqual({
      timeout: t,
      challengeDuration: D,
      version: 5n,
      hasApp: false,
      phase: 2,
      stateHash: hashState(fin),
    });
    expect(await holdings(id, alice.address)).toBe(3n);
    expect(await holdings(id, bob.address)).toBe(17n);
    expect(await chain.revertReason(concludeFinalSpec(params, fin, sigs))).toBe("channel already concluded");
    expect(await chain.revertReason(concludeSpec(params, fin))).toBe("channel already concluded");
  });

  it("pushes one outcome per asset and reverts if an asset is listed twice", async () => {
    const params = freshParams();
    await deposit(params, [10n, 0n]);
    const dup = makeState(params, {
      version: 1n,
      isFinal: true,
      outcome: {
        assets: [f.ethHolder, f.ethHolder],
        balances: [
          [5n, 5n],
          [5n, 5n],
        ],
        locked: [],
      },
    });
    expect(await chain.revertReason(concludeFinalSpec(params, dup, await signAll([alice, bob], dup)))).toBe(
      "trying to set already settled channel",
    );
  });
});
