import {
  AbortError,
  type Account,
  type AdjudicatorEvent,
  type App,
  channelIdHex,
  FundingTimeoutError,
  MAX_UINT64,
  makeInitialState,
  noApp,
  Params,
  type State,
  StateTransitionError,
  type SubAlloc,
  ValidationError,
} from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { SimAsset } from "./sim-asset.js";
import { SimChannelBackend } from "./sim-channel-backend.js";
import { ManualClock } from "./sim-clock.js";
import { SimLedger } from "./sim-ledger.js";
import { LedgerRuleError } from "./sim-ledger-errors.js";
import { SimWallet } from "./sim-wallet.js";

const backend = new SimChannelBackend();
const wallet = SimWallet.fromSeed("sim-ledger-test");
const alice = wallet.newAccount();
const bob = wallet.newAccount();
const carol = wallet.newAccount();
const assetA = new SimAsset(7n);
const assetB = new SimAsset(8n);
const D = 60n;

/** An app that only allows transitions keeping participant 0's balance of asset 0 ≥ 10. */
const strictApp: App = {
  def: wallet.newAccount().address,
  validInit: () => undefined,
  validTransition: (_p, _from, to: State) => {
    if ((to.allocation.balances[0]?.[0] ?? 0n) < 10n) {
      throw new StateTransitionError(channelIdHex(to.id), "participant 0 keeps at least 10");
    }
  },
};

let nonce = 0n;

function setup() {
  const clock = new ManualClock(1_000n);
  const ledger = new SimLedger({ backend, clock, initialBalance: 1_000n });
  return { clock, ledger };
}

function mkParams(
  opts: { app?: App; ledger?: boolean; virtual?: boolean; parts?: Account[]; d?: bigint } = {},
): Params {
  nonce += 1n;
  return Params.create(
    {
      challengeDuration: opts.d ?? D,
      parts: (opts.parts ?? [alice, bob]).map((a) => a.address),
      app: opts.app ?? noApp,
      nonce,
      ledgerChannel: opts.ledger ?? true,
      virtualChannel: opts.virtual ?? false,
    },
    backend,
  );
}

function mkState(
  p: Params,
  balances: bigint[][],
  opts: { version?: bigint; isFinal?: boolean; locked?: SubAlloc[] } = {},
): State {
  const s = makeInitialState(p, { assets: [assetA, assetB].slice(0, balances.length), balances, locked: [] });
  return {
    ...s,
    version: opts.version ?? 0n,
    isFinal: opts.isFinal ?? false,
    allocation: { ...s.allocation, locked: opts.locked ?? [] },
  };
}

async function sigsOf(s: State, who: Account[] = [alice, bob]): Promise<Uint8Array[]> {
  return Promise.all(who.map((a) => backend.sign(a, s)));
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure");
}

async function expectRule(p: Promise<unknown> | (() => unknown), reason: string, operation?: string) {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(LedgerRuleError);
  expect((e as LedgerRuleError).reason).toBe(reason);
  expect((e as LedgerRuleError).details.reason).toBe(reason);
  if (operation) expect((e as LedgerRuleError).operation).toBe(operation);
}

/** Funds `state`'s balances from each participant's own balance. */
function fundDirect(ledger: SimLedger, p: Params, s: State): void {
  s.allocation.assets.forEach((asset, a) => {
    p.parts.forEach((part, i) => {
      const v = s.allocation.balances[a]?.[i] ?? 0n;
      if (v > 0n) ledger.deposit(asset, ledger.fundingId(p.id, part), v, part);
    });
  });
}

const flush = () => new Promise((r) => setImmediate(r));

describe("SimLedger asset holders", () => {
  it("books deposits per asset and funding id and debits the depositor", () => {
    const { ledger } = setup();
    const p = mkParams();
    const fid = ledger.fundingId(p.id, alice.address);
    ledger.deposit(assetA, fid, 30n, alice.address);
    ledger.deposit(assetA, fid, 5n, bob.address);
    expect(ledger.holdings(assetA, fid)).toBe(35n);
    expect(ledger.holdings(assetB, fid)).toBe(0n);
    expect(ledger.balanceOf(alice.address, assetA)).toBe(970n);
    expect(ledger.balanceOf(bob.address, assetA)).toBe(995n);
    ledger.mint(carol.address, assetB, 5n);
    expect(ledger.balanceOf(carol.address, assetB)).toBe(1_005n);
  });

  it("rejects deposits beyond the balance and negative amounts", async () => {
    const { ledger } = setup();
    const fid = ledger.fundingId(mkParams().id, alice.address);
    await expectRule(
      () => ledger.deposit(assetA, fid, 1_001n, alice.address),
      "insufficient balance",
      "deposit",
    );
    expect(() => ledger.deposit(assetA, fid, -1n, alice.address)).toThrow(ValidationError);
    expect(ledger.holdings(assetA, fid)).toBe(0n);
    expect(ledger.balanceOf(alice.address, assetA)).toBe(1_000n);
  });

  it("withdraw: not settled, wrong caller, insufficient funds (double withdraw)", async () => {
    const { ledger } = setup();
    const p = mkParams();
    const fin = mkState(p, [[10n, 20n]], { version: 1n, isFinal: true });
    fundDirect(ledger, p, fin);
    const w = {
      asset: assetA,
      channelId: p.id,
      participant: alice.address,
      receiver: carol.address,
      amount: 10n,
    };
    await expectRule(() => ledger.withdraw(w, alice.address), "channel not settled", "withdraw");
    await ledger.concludeFinal(p, fin, await sigsOf(fin));
    expect(ledger.settled(assetA, p.id)).toBe(true);
    await expectRule(() => ledger.withdraw(w, bob.address), "signature verification failed");
    await expectRule(() => ledger.withdraw({ ...w, amount: 11n }, alice.address), "insufficient funds");
    ledger.withdraw(w, alice.address);
    expect(ledger.balanceOf(carol.address, assetA)).toBe(1_010n);
    await expectRule(() => ledger.withdraw(w, alice.address), "insufficient funds");
  });

  it("setOutcome counts deposits made to the channel id itself", async () => {
    const { ledger } = setup();
    const p = mkParams();
    const fin = mkState(p, [[10n, 20n]], { version: 1n, isFinal: true });
    ledger.deposit(assetA, p.id, 30n, carol.address);
    await ledger.concludeFinal(p, fin, await sigsOf(fin));
    expect(ledger.holdings(assetA, p.id)).toBe(0n);
    expect(ledger.holdings(assetA, ledger.fundingId(p.id, alice.address))).toBe(10n);
    expect(ledger.holdings(assetA, ledger.fundingId(p.id, bob.address))).toBe(20n);
  });
});

describe("SimLedger adjudicator rules", () => {
  it("concludeFinal: every rule and the happy path", async () => {
    const { ledger } = setup();
    const p = mkParams();
    const fin = mkState(p, [[10n, 20n]], { version: 3n, isFinal: true });
    const sigs = await sigsOf(fin);
    const notLedger = mkParams({ ledger: false });
    const nl = mkState(notLedger, [[1n, 1n]], { isFinal: true });
    await expectRule(ledger.concludeFinal(notLedger, nl, await sigsOf(nl)), "not ledger", "concludeFinal");
    const nonFinal = { ...fin, isFinal: false };
    await expectRule(ledger.concludeFinal(p, nonFinal, await sigsOf(nonFinal)), "state not final");
    const withSub = {
      ...fin,
      allocation: { ...fin.allocation, locked: [{ id: mkParams().id, balances: [1n], indexMap: [] }] },
    };
    await expectRule(ledger.concludeFinal(p, withSub, await sigsOf(withSub)), "cannot have sub-channels");
    await expectRule(ledger.concludeFinal(mkParams(), fin, sigs), "invalid params");
    await expectRule(ledger.concludeFinal(p, fin, [sigs[0] as Uint8Array]), "signatures length mismatch");
    await expectRule(
      ledger.concludeFinal(p, fin, [sigs[0] as Uint8Array, sigs[0] as Uint8Array]),
      "invalid signature",
    );
    await expectRule(
      ledger.concludeFinal(p, fin, [sigs[0] as Uint8Array, new Uint8Array(3)]),
      "invalid signature",
    );
    await expectRule(ledger.concludeFinal(p, fin, [sigs[0] as Uint8Array, undefined]), "invalid signature");
    expect(ledger.dispute(p.id)).toBeUndefined();
    await ledger.concludeFinal(p, fin, sigs);
    expect(ledger.dispute(p.id)?.phase).toBe("concluded");
    await expectRule(ledger.concludeFinal(p, fin, sigs), "channel already concluded");
  });

  it("conclude: every rule; now == timeout suffices", async () => {
    const { ledger, clock } = setup();
    const p = mkParams();
    const s1 = mkState(p, [[10n, 20n]], { version: 1n });
    const s2 = { ...s1, version: 2n };
    await expectRule(ledger.conclude(p, s1, []), "invalid channel state", "conclude");
    const nl = mkParams({ ledger: false });
    await expectRule(ledger.conclude(nl, mkState(nl, [[1n, 1n]]), []), "not ledger");
    await expectRule(ledger.conclude(mkParams(), s1, []), "invalid params");
    await ledger.register({ params: p, state: s1, sigs: await sigsOf(s1) }, []);
    await expectRule(ledger.conclude(p, s2, []), "invalid channel state");
    clock.advance(D - 1n);
    await expectRule(ledger.conclude(p, s1, []), "timeout not passed yet");
    clock.advance(1n);
    await ledger.conclude(p, s1, []);
    await expectRule(ledger.conclude(p, s1, []), "channel already concluded");
  });

  it("conclude checks the sub-states: too short, wrong id, unregistered, stale", async () => {
    const { ledger, clock } = setup();
    const p = mkParams();
    const sp = mkParams({ ledger: false });
    const sub1 = mkState(sp, [[2n, 3n]], { version: 1n });
    const sub2 = { ...sub1, version: 2n };
    const root = mkState(p, [[10n, 20n]], {
      version: 1n,
      locked: [{ id: sp.id, balances: [5n], indexMap: [] }],
    });
    await ledger.register({ params: p, state: root, sigs: await sigsOf(root) }, [
      { params: sp, state: sub1, sigs: await sigsOf(sub1) },
    ]);
    clock.advance(D);
    await expectRule(ledger.conclude(p, root, []), "subStates: too short");
    await expectRule(ledger.conclude(p, root, [{ ...sub1, id: mkParams().id }]), "invalid sub-channel id");
    await expectRule(ledger.conclude(p, root, [sub2]), "invalid channel state");
    expect(ledger.dispute(p.id)?.phase).toBe("dispute"); // nothing changed by the failures
    await ledger.conclude(p, root, [sub1]);
    expect(ledger.dispute(sp.id)?.phase).toBe("concluded");
  });

  it("register is atomic: a bad sub-channel signature registers nothing", async () => {
    const { ledger } = setup();
    const p = mkParams();
    const sp = mkParams({ ledger: false });
    const sub1 = mkState(sp, [[2n, 3n]], { version: 1n });
    const root = mkState(p, [[10n, 20n]], {
      version: 1n,
      locked: [{ id: sp.id, balances: [5n], indexMap: [] }],
    });
    const badSub = { params: sp, state: sub1, sigs: await sigsOf(sub1, [alice, alice]) };
    await expectRule(
      ledger.register({ params: p, state: root, sigs: await sigsOf(root) }, [badSub]),
      "invalid signature",
    );
    expect(ledger.dispute(p.id)).toBeUndefined();
    expect(ledger.dispute(sp.id)).toBeUndefined();
  });

  it("register: virtual channel, asset, sub-allocation, index map and overflow rules", async () => {
    const { ledger } = setup();
    const p = mkParams();
    const accounts = [alice, bob, carol];
    const signersOf = (q: Params) => q.parts.map((a) => accounts.find((x) => x.address.equals(a)) as Account);
    const reg = async (sp: Params, sub: State, locked: SubAlloc) => {
      const root = mkState(p, [[10n, 20n]], { version: 1n, locked: [locked] });
      return ledger.register({ params: p, state: root, sigs: await sigsOf(root) }, [
        { params: sp, state: sub, sigs: await sigsOf(sub, signersOf(sp)) },
      ]);
    };
    const lock = (q: Params, balances = [5n], indexMap: number[] = []) => ({ id: q.id, balances, indexMap });
    const vApp = mkParams({ ledger: false, virtual: true, app: strictApp });
    await expectRule(reg(vApp, mkState(vApp, [[2n, 3n]]), lock(vApp)), "cannot have app", "register");
    const vp = mkParams({ ledger: false, virtual: true });
    const vLocked = mkState(vp, [[1n, 1n]], { locked: [lock(mkParams({ ledger: false }), [3n])] });
    await expectRule(reg(vp, vLocked, lock(vp)), "cannot have locked funds");
    const sp = mkParams({ ledger: false });
    await expectRule(
      reg(
        sp,
        mkState(sp, [
          [2n, 3n],
          [0n, 0n],
        ]),
        lock(sp),
      ),
      "address[]: unequal length",
    );
    const otherAsset = {
      ...mkState(sp, [[2n, 3n]]),
      allocation: { assets: [assetB], balances: [[2n, 3n]], locked: [] },
    };
    await expectRule(reg(sp, otherAsset, lock(sp)), "address[]: unequal item");
    await expectRule(reg(sp, mkState(sp, [[2n, 3n]]), lock(sp, [6n])), "uint256[]: unequal item");
    const three = mkParams({ ledger: false, parts: [alice, bob, carol] });
    await expectRule(
      reg(three, mkState(three, [[1n, 2n, 2n]]), lock(three, [5n], [0, 1])),
      "invalid index map",
    );
    const unbalancedRoot = {
      ...mkState(p, [[10n, 20n]], { version: 1n }),
      allocation: { assets: [assetA], balances: [[10n]], locked: [] },
    };
    await expectRule(
      ledger.register({ params: p, state: unbalancedRoot, sigs: await sigsOf(unbalancedRoot) }, []),
      "invalid allocation",
    );
    expect(ledger.dispute(p.id)).toBeUndefined();
    const long = mkParams({ d: MAX_UINT64 });
    const ls = mkState(long, [[1n, 1n]], { version: 1n });
    await expectRule(ledger.register({ params: long, state: ls, sigs: await sigsOf(ls) }, []), "overflow");
    // a correct tree registers root and sub-channel with one event each
    await reg(three, mkState(three, [[1n, 2n, 2n]]), lock(three, [5n], [0, 1, 1]));
    expect(ledger.dispute(three.id)?.phase).toBe("dispute");
  });

  it("progress: app rules, phase rules, asset preservation, final progression", async () => {
    const { ledger, clock } = setup();
    const p = mkParams({ app: strictApp });
    const st1 = mkState(p, [[50n, 50n]], { version: 1n });
    await ledger.register({ params: p, state: st1, sigs: await sigsOf(st1) }, []);
    clock.advance(D);
    const to = (bals: bigint[][], o: Partial<State> = {}): State => ({
      ...st1,
      version: 2n,
      allocation: { ...st1.allocation, balances: bals },
      ...o,
    });
    const prog = async (s: State, actor = 0, signer: Account = alice) =>
      ledger.progress(p, st1, s, actor, await backend.sign(signer, s));
    await expectRule(prog(to([[5n, 95n]])), "participant 0 keeps at least 10", "progress");
    await expectRule(
      prog(to([[40n, 60n]], { allocation: { ...st1.allocation, assets: [assetB], balances: [[40n, 60n]] } })),
      "address[]: unequal item",
    );
    await expectRule(
      prog(
        to([[40n, 60n]], {
          allocation: {
            ...st1.allocation,
            balances: [[40n, 60n]],
            locked: [{ id: p.id, balances: [0n], indexMap: [] }],
          },
        }),
      ),
      "locked funds changed",
    );
    await expectRule(
      prog(
        to([
          [40n, 60n],
          [0n, 0n],
        ]),
      ),
      "balances length mismatch",
    );
    // progress into a final state: force-exec ends now, conclude is possible at once
    await prog(to([[40n, 60n]], { isFinal: true }));
    const d = ledger.dispute(p.id);
    expect([d?.phase, d?.timeout, d?.concludableAt]).toEqual(["forceexec", clock.now(), clock.now()]);
    await ledger.conclude(p, to([[40n, 60n]], { isFinal: true }), []);
    expect(ledger.dispute(p.id)?.phase).toBe("concluded");
  });
});

describe("SimLedger events", () => {
  it("re-registering an unchanged state emits nothing; subscriptions get every new event in order", async () => {
    const { ledger } = setup();
    const p = mkParams();
    const s1 = mkState(p, [[10n, 20n]], { version: 1n });
    const s2 = { ...s1, version: 2n };
    const sub = await ledger.subscribe(p.id);
    await ledger.register({ params: p, state: s1, sigs: await sigsOf(s1) }, []);
    await ledger.register({ params: p, state: s1, sigs: await sigsOf(s1) }, []);
    await ledger.register({ params: p, state: s2, sigs: await sigsOf(s2) }, []);
    const seen: AdjudicatorEvent[] = [];
    for await (const e of sub) {
      seen.push(e);
      if (seen.length === 2) break;
    }
    expect(seen.map((e) => [e.type, e.version])).toEqual([
      ["registered", 1n],
      ["registered", 2n],
    ]);
    expect(sub.closed).toBe(true);
    expect(ledger.subscriptionCount).toBe(0);
  });

  it("close ends pending reads, drops later events and detaches; an aborted subscribe fails", async () => {
    const { ledger } = setup();
    const p = mkParams();
    const a = await ledger.subscribe(p.id);
    const b = await ledger.subscribe(p.id);
    expect(ledger.subscriptionCount).toBe(2);
    const pending = a.next();
    a.close();
    a.close();
    expect((await pending).done).toBe(true);
    expect(ledger.subscriptionCount).toBe(1);
    const s1 = mkState(p, [[10n, 20n]], { version: 1n });
    await ledger.register({ params: p, state: s1, sigs: await sigsOf(s1) }, []);
    expect((await a.next()).done).toBe(true);
    expect((await b.next()).value?.version).toBe(1n);
    b.close();
    expect(ledger.subscriptionCount).toBe(0);
    const ctl = new AbortController();
    ctl.abort();
    await expect(ledger.subscribe(p.id, { signal: ctl.signal })).rejects.toBeInstanceOf(AbortError);
    expect(ledger.subscriptionCount).toBe(0);
  });
});

describe("SimFunder", () => {
  const req = (p: Params, s: State, idx: number, agreement?: bigint[][]) => ({
    params: p,
    state: s,
    idx,
    agreement: agreement ?? s.allocation.balances.map((r) => [...r]),
  });

  it("concurrent calls deposit once; a depositor option pays from another account", async () => {
    const { ledger } = setup();
    const p = mkParams();
    const s0 = mkState(p, [[10n, 20n]]);
    const f = ledger.funder();
    const first = f.fund(req(p, s0, 0));
    const second = f.fund(req(p, s0, 0));
    await ledger.funder({ depositor: carol.address }).fund(req(p, s0, 1));
    await Promise.all([first, second]);
    expect(ledger.balanceOf(alice.address, assetA)).toBe(990n);
    expect(ledger.balanceOf(bob.address, assetA)).toBe(1_000n);
    expect(ledger.balanceOf(carol.address, assetA)).toBe(980n);
  });

  it("rejects malformed requests and insufficient balances without depositing anything", async () => {
    const { ledger } = setup();
    const p = mkParams();
    const s0 = mkState(p, [
      [10n, 20n],
      [1n, 1n],
    ]);
    const f = ledger.funder();
    await expect(f.fund(req(p, s0, 2))).rejects.toBeInstanceOf(ValidationError);
    await expect(f.fund(req(p, s0, 0, [[10n, 20n]]))).rejects.toBeInstanceOf(ValidationError);
    await expect(f.fund(req(p, s0, 0, [[10n], [1n]]))).rejects.toBeInstanceOf(ValidationError);
    await expect(
      f.fund(
        req(p, s0, 0, [
          [-1n, 0n],
          [0n, 0n],
        ]),
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(f.fund(req(mkParams(), s0, 0))).rejects.toBeInstanceOf(ValidationError);
    await expectRule(
      f.fund(
        req(p, s0, 0, [
          [10n, 0n],
          [2_000n, 0n],
        ]),
      ),
      "insufficient balance",
    );
    expect(ledger.balanceOf(alice.address, assetA)).toBe(1_000n);
  });

  it("times out at the configured deadline and cleans up after itself", async () => {
    const { ledger, clock } = setup();
    const p = mkParams();
    const s0 = mkState(p, [[10n, 20n]]);
    const done = ledger.funder({ fundingTimeout: 5n }).fund(req(p, s0, 0));
    const failed = expect(done).rejects.toBeInstanceOf(FundingTimeoutError);
    clock.advance(4n);
    await flush();
    expect(clock.pendingWaiters).toBe(1);
    clock.advance(1n);
    await failed;
    expect(clock.pendingWaiters).toBe(0);
  });
});

describe("SimAdjudicator", () => {
  it("withdraw waits abortably for the timeout without leaking waiters", async () => {
    const { ledger, clock } = setup();
    const p = mkParams();
    const s1 = mkState(p, [[10n, 20n]], { version: 1n });
    fundDirect(ledger, p, s1);
    const sigs = await sigsOf(s1);
    const adj = ledger.adjudicator();
    const req = { params: p, account: alice, tx: { state: s1, sigs }, idx: 0, secondary: false };
    await adj.register(req, []);
    const ctl = new AbortController();
    const w = adj.withdraw(req, new Map(), { signal: ctl.signal });
    await flush();
    expect(clock.pendingWaiters).toBe(1);
    ctl.abort();
    await expect(w).rejects.toBeInstanceOf(AbortError);
    expect(clock.pendingWaiters).toBe(0);
    expect(ledger.dispute(p.id)?.phase).toBe("dispute");
  });

  it("pays a configured receiver; concurrent withdrawals both succeed", async () => {
    const { ledger, clock } = setup();
    const p = mkParams();
    const s1 = mkState(p, [[10n, 20n]], { version: 1n });
    fundDirect(ledger, p, s1);
    const sigs = await sigsOf(s1);
    const reqA = { params: p, account: alice, tx: { state: s1, sigs }, idx: 0, secondary: false };
    const reqB = { ...reqA, account: bob, idx: 1, secondary: true };
    await ledger.adjudicator().register(reqA, []);
    const both = Promise.all([
      ledger.adjudicator({ receiver: carol.address }).withdraw(reqA, new Map()),
      ledger.adjudicator().withdraw(reqB, new Map()),
    ]);
    clock.advance(D);
    await both;
    expect(ledger.balanceOf(carol.address, assetA)).toBe(1_010n);
    expect(ledger.balanceOf(bob.address, assetA)).toBe(1_000n);
  });

  it("rejects a request without state, a missing sub-state and a foreign account", async () => {
    const { ledger, clock } = setup();
    const adj = ledger.adjudicator();
    const p = mkParams();
    const sp = mkParams({ ledger: false });
    const sub = mkState(sp, [[2n, 3n]], { version: 1n });
    const root = mkState(p, [[10n, 20n]], {
      version: 1n,
      locked: [{ id: sp.id, balances: [5n], indexMap: [] }],
    });
    fundDirect(ledger, p, { ...root, allocation: { ...root.allocation, balances: [[12n, 23n]] } });
    const req = {
      params: p,
      account: alice,
      tx: { state: root, sigs: await sigsOf(root) },
      idx: 0,
      secondary: false,
    };
    await expect(adj.register({ ...req, tx: { state: undefined, sigs: [] } }, [])).rejects.toBeInstanceOf(
      ValidationError,
    );
    await adj.register(req, [{ params: sp, state: sub, sigs: await sigsOf(sub) }]);
    clock.advance(D);
    await expect(adj.withdraw(req, new Map())).rejects.toBeInstanceOf(ValidationError);
    const subs = new Map([[channelIdHex(sp.id), sub]]);
    await expectRule(adj.withdraw({ ...req, account: bob }, subs), "signature verification failed");
    await adj.withdraw(req, subs);
    expect(ledger.balanceOf(alice.address, assetA)).toBe(1_000n);
  });
});
