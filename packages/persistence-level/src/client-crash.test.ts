/**
 * Crash safety of the client on LevelDB (spec §6.4, issue 7). Bob runs in a child process
 * (client-crash-peer.test-helper.mjs, on the built packages) with a LevelPersistRestorer and is
 * killed with SIGKILL over and over while Alice (this process, never crashes) and Bob open,
 * update and settle channels; the SimLedger lives here and serves Bob's deposits and withdrawals.
 *
 * Kill points: before every step the test "arms" the child to die right before or right after its
 * k-th persister call of that step (k seeded, over all the step's calls, which the first run of
 * each step counts) — which hits every persist and, with it, every send of the step — and every
 * fourth kill of a step is a timed one (a seeded delay). Steps: opening proposed by either side
 * (signatures of version 0, funding), updates proposed by either side, the final update by either
 * side, Bob's withdrawal.
 *
 * After every restart Bob restores and syncs, and both sides must hold the same state with the
 * same signatures, no older than any state Alice or Bob had enabled; each channel is settled on
 * the ledger and both parties receive exactly the balances of the last state both signed.
 *
 * PERUN_CRASH_SEED=<n> reproduces a run; PERUN_CRASH_KILLS=<n> sets the number of kills (default
 * 32; e.g. 300 for the long version). The test prints the kills it survived, per step.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ManualClock, SimAsset, SimChannelBackend, SimLedger, SimWallet } from "@perun-ts/backend-sim";
import { type Channel, Client, ledgerChannelProposal } from "@perun-ts/client";
import {
  AppRegistry,
  type ChannelId,
  decodeParams,
  decodeState,
  decodeTransaction,
  fromHex,
  jsonLogger,
  Phase,
  toHex,
  transfer,
} from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { AddressBook, EnvelopeCodec, NetBus } from "@perun-ts/wire";
import { afterAll, describe, expect, it } from "vitest";
import { LevelPersistRestorer } from "./level-persist-restorer.js";
import { tempDir } from "./temp-dir.test-helper.js";

const SEED = Number(process.env.PERUN_CRASH_SEED ?? Date.now() % 2 ** 31);
const KILLS = Number(process.env.PERUN_CRASH_KILLS ?? 32);
const UPDATES_PER_CHANNEL = 4;
const DEPOSIT = 100n;
const DEBUG = process.env.PERUN_CRASH_DEBUG !== undefined;
const debug = (...a: unknown[]) => {
  if (DEBUG) console.error(new Date().toISOString().slice(17, 23), ...a);
};
const peerScript = fileURLToPath(new URL("./client-crash-peer.test-helper.mjs", import.meta.url));

function mulberry32(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface PeerChannel {
  readonly id: string;
  readonly version: string;
  readonly balances: string[][];
  readonly isFinal: boolean;
  readonly phase: number;
  readonly sigs: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: IPC messages are untyped JSON
type Msg = Record<string, any>;

/** Bob's process: IPC requests and answers, exit tracking. */
class Peer {
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  #exited = false;
  #nextId = 0;
  readonly #waiting = new Map<number, { resolve: (m: Msg) => void; reject: (e: Error) => void }>();
  readonly #byType = new Map<string, (m: Msg) => void>();
  readonly #unclaimed = new Map<string, Msg>();
  dying: Msg | undefined;
  stderr = "";

  constructor(config: object, onLedger: (m: Msg, reply: (r: Msg) => void) => void) {
    this.proc = spawn(process.execPath, [peerScript, JSON.stringify(config)], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.proc.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      this.proc.once("exit", () => {
        this.#exited = true;
        for (const w of this.#waiting.values()) w.reject(new Error("peer died"));
        this.#waiting.clear();
        resolve();
      }),
    );
    this.proc.on("message", (m: Msg) => {
      if (m.type === "done") {
        this.#waiting.get(m.id)?.resolve(m);
        this.#waiting.delete(m.id);
      } else if (m.type === "dying") {
        this.dying = m;
      } else if (m.type === "fund" || m.type === "withdraw") {
        onLedger(m, (r) => {
          if (!this.#exited && this.proc.connected) this.proc.send({ ...r, rid: m.rid }, () => undefined);
        });
      } else {
        const h = this.#byType.get(m.type);
        this.#byType.delete(m.type);
        if (h) h(m);
        else this.#unclaimed.set(m.type, m);
      }
    });
  }

  get alive(): boolean {
    return !this.#exited;
  }

  /** The next message of `type` (listening, ready). */
  once(type: string): Promise<Msg> {
    const early = this.#unclaimed.get(type);
    this.#unclaimed.delete(type);
    if (early) return Promise.resolve(early);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`peer sent no ${type}: ${this.stderr}`)), 20_000);
      this.#byType.set(type, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      this.exited.then(() => reject(new Error(`peer exited before ${type}: ${this.stderr}`)));
    });
  }

  cmd(m: Msg): Promise<Msg> {
    if (!this.alive) return Promise.reject(new Error("peer died"));
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // A send to a process that is dying fails with EPIPE: the exit rejects the request.
      this.proc.send({ type: "cmd", id, ...m }, () => undefined);
    });
  }

  async kill(): Promise<void> {
    if (this.alive) this.proc.kill("SIGKILL");
    await this.exited;
  }
}

type Stage =
  | "open: Alice proposes"
  | "open: Bob proposes"
  | "update: Alice proposes"
  | "update: Bob proposes"
  | "final: Alice proposes"
  | "final: Bob proposes"
  | "settle: Bob withdraws";
const STAGES: readonly Stage[] = [
  "open: Alice proposes",
  "open: Bob proposes",
  "update: Alice proposes",
  "update: Bob proposes",
  "final: Alice proposes",
  "final: Bob proposes",
  "settle: Bob withdraws",
];

describe("client crash safety on LevelDB (Bob SIGKILLed at every protocol step)", () => {
  const dir = tempDir("perun-client-crash-");
  afterAll(() => dir.remove());

  it(`survives ${KILLS} kills (seed ${SEED}) with no divergence and no funds lost`, async () => {
    console.log(`client-crash.test.ts: seed ${SEED}, ${KILLS} kills (rerun with PERUN_CRASH_SEED=${SEED})`);
    const rand = mulberry32(SEED);
    const backend = new SimChannelBackend();
    const apps = new AppRegistry();
    const ctx = { backend, apps };
    const ledger = new SimLedger({ backend, clock: new ManualClock(1_000n) });
    const asset = new SimAsset(1n);
    const book = new AddressBook();
    const wallet = new SimWallet();
    const aWire = wallet.newAccount();
    const aPart = wallet.newAccount();
    const bWireKey = crypto.getRandomValues(new Uint8Array(32));
    const bPartKey = crypto.getRandomValues(new Uint8Array(32));
    const bWallet = new SimWallet();
    const bWire = bWallet.importSecretKey(bWireKey);
    const bPart = bWallet.importSecretKey(bPartKey);
    ledger.mint(aPart.address, asset, 1_000_000n);
    ledger.mint(bPart.address, asset, 1_000_000n);

    const aBus = new NetBus({
      identity: aWire,
      verifySignature: (s, d, sig) => backend.verifyData(s, d, sig),
      codec: new EnvelopeCodec(ctx),
      addressBook: book,
    });
    const aAt = await aBus.listen({ host: "127.0.0.1", port: 0 });
    const aWatcher = new LocalWatcher({ adjudicator: ledger.adjudicator(), account: aPart });
    const alice = new Client({
      identity: aWire,
      bus: aBus,
      backend,
      wallet,
      funder: ledger.funder(),
      adjudicator: ledger.adjudicator(),
      watcher: aWatcher,
      apps,
      syncTimeoutMs: 2_000,
      ...(DEBUG ? { logger: jsonLogger("debug", (l) => debug("alice", l)) } : {}),
    });
    let openSignal = new AbortController();
    let aCh: Channel | undefined;
    let aliceMax = -1n;
    const onAliceChannel = new Set<(c: Channel) => void>();
    alice.onNewChannel((c) => {
      aCh = c;
      c.onUpdate((_f, to) => {
        if (to.version > aliceMax) aliceMax = to.version;
      });
      for (const f of onAliceChannel) f(c);
    });
    alice.handle({
      onProposal: async (_p, r) => {
        await r.accept({ participant: aPart.address, signal: openSignal.signal }).catch(() => undefined);
      },
      onUpdate: (_c, _s, _u, r) => r.accept(),
    });

    // The ledger side of Bob's proxy funder/adjudicator.
    const serveLedger = (m: Msg, reply: (r: Msg) => void) => {
      const run = async () => {
        const params = decodeParams(fromHex(m.params), ctx);
        if (m.type === "fund") {
          await ledger.funder().fund(
            {
              params,
              state: decodeState(fromHex(m.state), ctx),
              idx: m.idx,
              agreement: (m.agreement as string[][]).map((r) => r.map(BigInt)),
            },
            { signal: AbortSignal.timeout(15_000) },
          );
        } else {
          const tx = decodeTransaction(fromHex(m.tx), ctx, params.parts.length);
          await ledger
            .adjudicator()
            .withdraw({ params, account: bPart, tx, idx: m.idx, secondary: true }, new Map());
        }
      };
      run().then(
        () => reply({ type: `${m.type}-result` }),
        (e: unknown) => reply({ type: `${m.type}-result`, error: String(e) }),
      );
    };

    const config = {
      dir: dir.path,
      wireKey: toHex(bWireKey),
      partKey: toHex(bPartKey),
      peerWire: toHex(aWire.address.bytes()),
      peerPort: "port" in aAt ? aAt.port : 0,
      syncTimeoutMs: 1_000,
    };
    let bobState: PeerChannel | null = null;
    let abandonedOpenings = 0;
    let bobMax = -1n;
    const noteBob = (c: PeerChannel | null) => {
      bobState = c;
      if (c && c.version !== "none" && BigInt(c.version) > bobMax) bobMax = BigInt(c.version);
    };
    let peer: Peer | undefined;
    const startPeer = async (): Promise<Peer> => {
      const p = new Peer(config, serveLedger);
      let ready: Msg;
      try {
        const listening = await p.once("listening");
        book.set(bWire.address, { host: "127.0.0.1", port: listening.port as number });
        ready = await p.once("ready");
      } catch (e) {
        await p.kill();
        throw e;
      }
      debug("ready", JSON.stringify(ready));
      noteBob(ready.channel);
      abandonedOpenings += Number(ready.abandoned ?? 0);
      return p;
    };

    const kills = new Map<string, number>();
    const calls = new Map<Stage, number>();
    const occurrences = new Map<Stage, number>();
    let killCount = 0;

    /** Polls Bob's state until it equals Alice's (a sync may still be running). */
    const waitAgree = async (p: Peer) => {
      for (let i = 0; i < 100; i++) {
        const r = await p.cmd({ op: "state" });
        noteBob(r.channel);
        if (agree()) return;
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    /** Checks that both hold the same state, no older than any either side had enabled. */
    const reconcile = async (where: string) => {
      await waitAgree(peer as Peer);
      const a = aCh;
      const b = bobState as PeerChannel | null;
      const desc = `${where}: Alice ${a ? `v${a.state.version} ${Phase[a.phase]}` : "none"}, Bob ${b ? `v${b.version} ${Phase[b.phase]}` : "none"}`;
      expect(agree(), desc).toBe(true);
      if (a && b) {
        expect(a.state.version >= aliceMax, desc).toBe(true);
        expect(a.state.version >= bobMax, desc).toBe(true);
        const bal = a.state.allocation.balances[0] as bigint[];
        expect((bal[0] as bigint) + (bal[1] as bigint), desc).toBe(2n * DEPOSIT);
      }
    };
    const agree = (): boolean => {
      const a = aCh;
      const b = bobState as PeerChannel | null;
      // No channel at Bob's: none was opened, or Bob's withdrawal is done (checked on the ledger).
      if (!b) return !a || a.phase >= Phase.Withdrawn;
      if (!a) return false;
      const phaseOk =
        a.phase >= Phase.Withdrawing
          ? b.phase === Phase.Final || b.phase === Phase.Withdrawing // Alice settled already
          : (a.phase === Phase.Acting || a.phase === Phase.Final) && a.phase === b.phase;
      return (
        phaseOk &&
        a.idHex === b.id &&
        a.state.version.toString() === b.version &&
        a.state.isFinal === b.isFinal &&
        JSON.stringify(a.state.allocation.balances.map((r) => r.map(String))) ===
          JSON.stringify(b.balances) &&
        JSON.stringify(a.current.sigs.map((s) => (s ? toHex(s) : ""))) === JSON.stringify(b.sigs)
      );
    };

    /**
     * Runs one protocol step with a planned kill of Bob: `alice` is Alice's part (if she acts),
     * `bob` the command for Bob's process (if he acts).
     */
    const step = async (
      stage: Stage,
      alicePart: ((signal: AbortSignal) => Promise<unknown>) | undefined,
      bobCmd: Msg | undefined,
    ): Promise<void> => {
      const p = peer as Peer;
      const n = (occurrences.get(stage) ?? 0) + 1;
      occurrences.set(stage, n);
      const known = calls.get(stage);
      // The first run of a step counts its persister calls; then every run has a kill.
      const plan =
        known === undefined
          ? undefined
          : n % 4 === 0
            ? { timed: Math.floor(rand() * 40) }
            : { k: 1 + Math.floor(rand() * known), when: rand() < 0.5 ? "before" : "after", stage };
      const arm = plan && "k" in plan ? plan : null;
      debug("step", stage, JSON.stringify(plan));
      const ac = new AbortController();
      const signal = AbortSignal.any([ac.signal, AbortSignal.timeout(15_000)]);
      const aliceDone = alicePart ? alicePart(signal).then(() => undefined) : Promise.resolve();
      const bobDone = bobCmd ? p.cmd({ ...bobCmd, arm }) : p.cmd({ op: "arm", arm });
      const both = Promise.allSettled([aliceDone, bobDone]);
      if (plan && "timed" in plan) {
        await Promise.race([both, new Promise((r) => setTimeout(r, plan.timed))]);
        await p.kill();
      } else {
        await Promise.race([both, p.exited]);
      }
      // Bob's last persists of a step may follow Alice's end of it: wait for them before
      // disarming (a kill right after the last one may come after both parts ended).
      const r = await waitAgree(p)
        .then(() => p.cmd({ op: "state", arm: null }))
        .catch(() => undefined);
      if (r !== undefined) {
        if (known === undefined) calls.set(stage, Math.max(1, r.calls as number));
        noteBob(r.channel);
        const [ar, br] = await both;
        if (ar.status === "rejected") console.log(`${stage}: Alice's part failed: ${String(ar.reason)}`);
        if (br.status === "fulfilled" && !br.value.ok)
          console.log(`${stage}: Bob's part failed: ${br.value.error}`);
        await reconcile(stage);
        return;
      }
      await p.exited;
      // Bob died: record the kill point, restart him, let Alice's part end, check both agree.
      killCount++;
      debug("killed", JSON.stringify(p.dying));
      const label = p.dying
        ? `${stage} — ${p.dying.when} persist #${p.dying.step} (${p.dying.method})`
        : `${stage} — timed`;
      kills.set(label, (kills.get(label) ?? 0) + 1);
      const opening = stage.startsWith("open");
      // Alice's update waits for an answer that will not come: give up at once (a sync repairs
      // whatever Bob enabled). An opening waits for Bob's restart, which resumes it from disk.
      if (!opening) ac.abort(new Error("peer killed"));
      peer = await startPeer();
      if (opening && bobState === null) {
        ac.abort(new Error("peer lost the opening"));
        openSignal.abort(new Error("peer lost the opening"));
      }
      if (opening && (bobState as PeerChannel | null)?.phase === Phase.InitSigning) {
        // Bob's restore syncs an interrupted opening: the opening is completed (and funded) or, if
        // Alice did not answer, dropped. A half-signed opening must not survive the restore.
        const id = fromHex((bobState as PeerChannel).id.replace(/^0x/, "")) as ChannelId;
        expect.fail(
          `${label}: Bob's restore left the opening half-signed (Alice holds ` +
            `${ledger.holdings(asset, ledger.fundingId(id, aPart.address))} in it)`,
        );
      }
      await both;
      await reconcile(label);
    };

    const aliceStartBal = () => ledger.balanceOf(aPart.address, asset);
    const bobStartBal = () => ledger.balanceOf(bPart.address, asset);
    let channels = 0;
    peer = await startPeer();
    try {
      while (killCount < KILLS || channels === 0) {
        const aBefore = aliceStartBal();
        const bBefore = bobStartBal();
        aCh = undefined;
        aliceMax = -1n;
        bobMax = -1n;
        // ---- opening (retried while a kill made Bob lose it before he signed anything)
        for (let attempt = 0; aCh === undefined || bobState === null; attempt++) {
          expect(attempt, "opening keeps failing").toBeLessThan(10);
          openSignal = new AbortController();
          const bobProposes = (channels + attempt) % 2 === 1;
          if (bobProposes) {
            await step(
              "open: Bob proposes",
              (signal) =>
                new Promise<void>((resolve, reject) => {
                  if (aCh) return resolve();
                  const f = () => {
                    onAliceChannel.delete(f);
                    resolve();
                  };
                  onAliceChannel.add(f);
                  signal.addEventListener("abort", () => {
                    onAliceChannel.delete(f);
                    reject(signal.reason);
                  });
                }),
              { op: "open", balances: [String(DEPOSIT), String(DEPOSIT)] },
            );
          } else {
            await step(
              "open: Alice proposes",
              (signal) =>
                alice.proposeChannel(
                  ledgerChannelProposal({
                    challengeDuration: 60n,
                    participant: aPart.address,
                    initBals: { assets: [asset], balances: [[DEPOSIT, DEPOSIT]], locked: [] },
                    peers: [aWire.address, bWire.address],
                  }),
                  { signal: AbortSignal.any([signal, openSignal.signal]) },
                ),
              undefined,
            );
          }
        }
        const ch = aCh as Channel;
        // ---- updates, each side proposing in turn
        for (let u = 0; u < UPDATES_PER_CHANNEL; u++) {
          const amount = 1n + BigInt(Math.floor(rand() * 5));
          if (u % 2 === 0) {
            await step(
              "update: Alice proposes",
              (signal) =>
                ch.update(
                  (s) => ({ ...s, allocation: transfer(s.allocation, ch.idx, 1 - ch.idx, [amount]) }),
                  {
                    signal,
                  },
                ),
              undefined,
            );
          } else {
            await step("update: Bob proposes", undefined, { op: "pay", amount: String(amount) });
          }
        }
        // ---- final update (retried until both hold it), then settlement
        for (let attempt = 0; ch.phase !== Phase.Final; attempt++) {
          expect(attempt, "final update keeps failing").toBeLessThan(10);
          if ((channels + attempt) % 2 === 0) {
            await step(
              "final: Alice proposes",
              (signal) => ch.update((s) => ({ ...s, isFinal: true }), { signal }),
              undefined,
            );
          } else {
            await step("final: Bob proposes", undefined, { op: "final" });
          }
        }
        const final = (ch.state.allocation.balances[0] as bigint[]).slice();
        await ch.settle({ signal: AbortSignal.timeout(15_000) });
        for (let attempt = 0; bobState !== null; attempt++) {
          expect(attempt, "Bob's withdrawal keeps failing").toBeLessThan(10);
          await step("settle: Bob withdraws", undefined, { op: "settle" });
        }
        // The last state both signed is paid out exactly; nothing else moved.
        expect(aliceStartBal()).toBe(aBefore - DEPOSIT + (final[ch.idx] as bigint));
        expect(bobStartBal()).toBe(bBefore - DEPOSIT + (final[1 - ch.idx] as bigint));
        channels++;
      }
      await peer.kill();
      // Bob's store holds no channel any more and is consistent.
      const pr = await LevelPersistRestorer.open(dir.path, ctx);
      try {
        expect(await pr.activePeers()).toEqual([]);
        expect((await pr.verifyIntegrity()).channels).toBe(0);
      } finally {
        await pr.close();
      }
    } finally {
      await peer?.kill();
      await alice.close();
      await aWatcher.close();
      await aBus.close();
    }
    const table = [...kills.entries()].sort().map(([k, v]) => `  ${v}× ${k}`);
    console.log(
      `client-crash.test.ts: seed ${SEED}: survived ${killCount} SIGKILLs over ${channels} channels ` +
        `(open, ${UPDATES_PER_CHANNEL} updates, final, settle each); ${abandonedOpenings} interrupted ` +
        `openings were abandoned by Bob's restore (Alice had not answered their sync):\n${table.join("\n")}`,
    );
    // Every protocol step was hit.
    for (const s of STAGES) {
      expect(
        [...kills.keys()].some((k) => k.startsWith(s)),
        `no kill during ${s}`,
      ).toBe(true);
    }
  }, 600_000);
});
