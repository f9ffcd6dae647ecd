/**
 * Crash safety (spec §6.4, issue 7): Bob runs in a child process with a LevelDB store and is killed
 * with SIGKILL at random points while both parties pay each other; after every kill it restarts
 * from the same directory, restores and syncs. Checked after every restart: both sides hold the
 * same fully signed state, no state Alice ever saw enabled is lost, the balances are conserved.
 * At the end Bob restores in this process (which hosts the ledger) and the channel is settled with
 * the last agreed balances. PERUN_CRASH_SEEDS (comma list) and PERUN_CRASH_KILLS (per seed) make
 * a longer run; it prints how many kills it survived.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ManualClock,
  type SimAccount,
  SimAsset,
  SimChannelBackend,
  SimLedger,
  SimWallet,
} from "@perun-ts/backend-sim";
import { AppRegistry, type PersistRestorer, Phase, toHex, transfer } from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { AddressBook, EnvelopeCodec, NetBus } from "@perun-ts/wire";
import { describe, expect, it } from "vitest";
import type { Channel } from "./channel.js";
import { Client } from "./client.js";
import { ledgerChannelProposal } from "./proposal.js";

const runner = fileURLToPath(new URL("./run-ts.test-helper.mjs", import.meta.url));
const childModule = fileURLToPath(new URL("./crash-child.test-helper.ts", import.meta.url));
const SEEDS = (process.env.PERUN_CRASH_SEEDS ?? "11,29").split(",").map(Number);
const KILLS = Number(process.env.PERUN_CRASH_KILLS ?? "3");

type LevelModule = {
  LevelPersistRestorer: {
    open(
      dir: string,
      opts: { backend: SimChannelBackend; apps: AppRegistry },
    ): Promise<PersistRestorer & { close(): Promise<void> }>;
  };
};
// Not a dependency of the client package: loaded from its sources by path (vitest and the child's
// module runner transform it).
const levelModule = fileURLToPath(new URL("../../persistence-level/src/index.ts", import.meta.url));

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ChildState {
  readonly version: string;
  readonly balances: string[][];
  readonly phase: number;
  readonly sigs: string[];
}

interface ChildMsg {
  readonly type: string;
  readonly port?: number;
  readonly state?: ChildState;
  readonly sync?: string | null;
  readonly error?: string | null;
}

class Child {
  readonly proc: ChildProcess;
  readonly #queue: ChildMsg[] = [];
  readonly #waiters: ((m: ChildMsg) => void)[] = [];
  readonly exited: Promise<void>;
  stderr = "";

  constructor(config: object) {
    this.proc = spawn(process.execPath, [runner, childModule, JSON.stringify(config)], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.proc.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.proc.on("message", (m: ChildMsg) => {
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#queue.push(m);
    });
    this.exited = new Promise((r) => this.proc.once("exit", () => r()));
  }

  next(type: string, ms = 20_000): Promise<ChildMsg> {
    const m = this.#queue.shift();
    if (m)
      return m.type === type
        ? Promise.resolve(m)
        : Promise.reject(new Error(`expected ${type}, got ${m.type}`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`child sent no ${type}: ${this.stderr}`)), ms);
      this.#waiters.push((msg) => {
        clearTimeout(t);
        if (msg.type === type) resolve(msg);
        else reject(new Error(`expected ${type}, got ${msg.type}`));
      });
      this.proc.once("exit", () => reject(new Error(`child exited before ${type}: ${this.stderr}`)));
    });
  }

  send(m: object): void {
    this.proc.send(m);
  }

  async kill(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.exited;
  }
}

function randomKey(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

describe("crash safety: SIGKILL during a stream of updates", () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${KILLS} kills, restore + sync each time, settle at the end`, async () => {
      console.log(`crash test seed ${seed} (PERUN_CRASH_SEEDS=${seed} reproduces the kill schedule)`);
      const rand = prng(seed);
      const { LevelPersistRestorer } = (await import(levelModule)) as LevelModule;
      const dir = await mkdtemp(join(tmpdir(), "perun-crash-"));
      const backend = new SimChannelBackend();
      const apps = new AppRegistry();
      const ledger = new SimLedger({ backend, clock: new ManualClock(1_000n) });
      const asset = new SimAsset(1n);
      const book = new AddressBook();
      const newBus = (identity: SimAccount) =>
        new NetBus({
          identity,
          verifySignature: (s, d, sig) => backend.verifyData(s, d, sig),
          codec: new EnvelopeCodec({ backend, apps }),
          addressBook: book,
        });
      // Alice: in this process, never crashes.
      const aWallet = new SimWallet();
      const aWire = aWallet.newAccount();
      const aPart = aWallet.newAccount();
      ledger.mint(aPart.address, asset, 1_000n);
      const aBus = newBus(aWire);
      const aAt = await aBus.listen({ host: "127.0.0.1", port: 0 });
      book.set(aWire.address, aAt);
      const aWatcher = new LocalWatcher({ adjudicator: ledger.adjudicator(), account: aPart });
      const alice = new Client({
        identity: aWire,
        bus: aBus,
        backend,
        wallet: aWallet,
        funder: ledger.funder(),
        adjudicator: ledger.adjudicator(),
        watcher: aWatcher,
        apps,
        syncTimeoutMs: 3_000,
      });
      alice.handle({
        onProposal: (_p, r) => r.reject("no"),
        onUpdate: (_c, _s, _u, r) => r.accept(),
      });
      // Bob's keys: the child imports them.
      const bWireKey = randomKey();
      const bPartKey = randomKey();
      const bobProcess = async (store: PersistRestorer) => {
        const wallet = new SimWallet();
        const wire = wallet.importSecretKey(Uint8Array.from(Buffer.from(bWireKey, "hex")));
        const part = wallet.importSecretKey(Uint8Array.from(Buffer.from(bPartKey, "hex")));
        const bus = newBus(wire);
        book.set(wire.address, await bus.listen({ host: "127.0.0.1", port: 0 }));
        const watcher = new LocalWatcher({ adjudicator: ledger.adjudicator(), account: part });
        const client = new Client({
          identity: wire,
          bus,
          backend,
          wallet,
          funder: ledger.funder(),
          adjudicator: ledger.adjudicator(),
          watcher,
          apps,
          persister: store,
          syncTimeoutMs: 3_000,
        });
        client.handle({
          onProposal: async (_p, r) => {
            await r.accept({ participant: part.address });
          },
          onUpdate: (_c, _s, _u, r) => r.accept(),
        });
        return { wire, part, bus, watcher, client };
      };
      let killsSurvived = 0;
      let child: Child | undefined;
      try {
        // Open the channel with Bob in this process (funding needs the ledger), then hand Bob's
        // store to the child.
        let store = await LevelPersistRestorer.open(dir, { backend, apps });
        let bob = await bobProcess(store);
        ledger.mint(bob.part.address, asset, 1_000n);
        const ca: Channel = await alice.proposeChannel(
          ledgerChannelProposal({
            challengeDuration: 60n,
            participant: aPart.address,
            initBals: { assets: [asset], balances: [[100n, 100n]], locked: [] },
            peers: [aWire.address, bob.wire.address],
          }),
        );
        let aliceMax = 0n;
        ca.onUpdate((_f, to) => {
          if (to.version > aliceMax) aliceMax = to.version;
        });
        await bob.client.close();
        await bob.watcher.close();
        await bob.bus.close();
        await store.close();

        const config = {
          dir,
          wireKey: bWireKey,
          partKey: bPartKey,
          peerWire: toHex(aWire.address.bytes()),
          peerPort: "port" in aAt ? aAt.port : 0,
          levelModule,
        };
        const startChild = async (): Promise<Child> => {
          const c = new Child(config);
          const listening = await c.next("listening");
          book.set(bob.wire.address, { host: "127.0.0.1", port: listening.port as number });
          const ready = await c.next("ready");
          expect(ready.error).toBeNull();
          // Alice applies Bob's sync concurrently with Bob's report: compare until both agree.
          let st = ready.state as ChildState;
          for (let i = 0; i < 40 && st.version !== ca.state.version.toString(); i++) {
            await new Promise((r) => setTimeout(r, 50));
            c.send({ type: "state" });
            st = (await c.next("state")).state as ChildState;
          }
          expect(st.version).toBe(ca.state.version.toString());
          expect(st.balances).toEqual(ca.state.allocation.balances.map((r) => r.map(String)));
          expect(st.sigs).toEqual(ca.current.sigs.map((s) => (s ? toHex(s) : "")));
          expect(st.phase).toBe(Phase.Acting);
          expect(ca.phase).toBe(Phase.Acting);
          expect(ca.state.version >= aliceMax).toBe(true);
          const bal = ca.state.allocation.balances[0] as bigint[];
          expect((bal[0] as bigint) + (bal[1] as bigint)).toBe(200n);
          return c;
        };

        for (let k = 0; k < KILLS; k++) {
          child = await startChild();
          let running = true;
          const aliceLoop = (async () => {
            while (running) {
              if ((ca.state.allocation.balances[0]?.[0] ?? 0n) >= 2n && ca.phase === Phase.Acting) {
                await ca
                  .update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [2n]) }), {
                    signal: AbortSignal.timeout(500),
                  })
                  .catch(() => undefined);
              }
              await new Promise((r) => setTimeout(r, 1 + Math.floor(rand() * 5)));
            }
          })();
          child.send({ type: "run" });
          await new Promise((r) => setTimeout(r, 20 + Math.floor(rand() * 400)));
          await child.kill();
          child = undefined;
          killsSurvived++;
          running = false;
          await aliceLoop;
        }
        // A last restart checks the state after the final kill; then Bob restores here and settles.
        child = await startChild();
        await child.kill();
        child = undefined;
        store = await LevelPersistRestorer.open(dir, { backend, apps });
        bob = await bobProcess(store);
        const report = await bob.client.restore({ watch: false });
        expect(report.channels[0]?.error).toBeUndefined();
        const cb = report.channels[0]?.channel as Channel;
        expect(cb.state.version).toBe(ca.state.version);
        await ca.update((s) => ({ ...s, isFinal: true }));
        const final = ca.state.allocation.balances[0] as bigint[];
        await Promise.all([ca.settle(), cb.settle({ secondary: true })]);
        expect(ledger.balanceOf(aPart.address, asset)).toBe(900n + (final[0] as bigint));
        expect(ledger.balanceOf(bob.part.address, asset)).toBe(900n + (final[1] as bigint));
        console.log(
          `crash test seed ${seed}: survived ${killsSurvived} kills, final version ${ca.state.version}`,
        );
        await bob.client.close();
        await bob.watcher.close();
        await bob.bus.close();
        await store.close();
      } finally {
        await child?.kill();
        await alice.close();
        await aWatcher.close();
        await aBus.close();
        await rm(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
