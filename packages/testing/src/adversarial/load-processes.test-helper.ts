// The multi-process load run: a hub process and N client processes (built JavaScript, see
// load-processes-node.test-helper.ts) over NetBus TCP; the SimLedger lives in this process.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ManualClock, SimAsset, SimChannelBackend, SimLedger, selectSecp256k1 } from "@perun-ts/backend-sim";
import { AppRegistry } from "@perun-ts/core";
import { rng } from "./attacks.js";
import { nodeWallet } from "./load-processes-node.test-helper.js";
import { isLedgerCall, serveLedgerCall } from "./process-ledger.test-helper.js";

/** The built child script; the test command builds the package before testing it. */
export const nodeScript = fileURLToPath(
  new URL("../../dist/adversarial/load-processes-node.test-helper.js", import.meta.url),
);

export interface ProcessLoadOptions {
  readonly clients: number;
  readonly channelsPerClient: number;
  readonly updatesPerChannel: number;
  readonly seed: number;
  readonly progress?: (line: string) => void;
}

export interface ProcessLoadReport {
  readonly processes: number;
  readonly channels: number;
  readonly updatesOk: number;
  readonly updatesRefused: number;
  readonly unexpectedTimeouts: number;
  /** Channels whose two ends still differed after repair syncs. */
  readonly diverged: number;
  /** Channels whose agreed final balances differ from the sum of the payments that succeeded. */
  readonly wrongBalance: number;
  /** Channels concluded and withdrawn by both ends. */
  readonly settled: number;
  /** Participants whose ledger balance after settlement differs from the expected one. */
  readonly wrongLedgerBalances: number;
  readonly ms: number;
  readonly phaseMs: Record<string, number>;
  /** Peak RSS and heap per process (hub first), and of this (ledger) process. */
  readonly memory: { readonly node: string; readonly peakRssMiB: number; readonly peakHeapMiB: number }[];
}

const MINT = 1_000_000n;
const DEPOSIT = 1_000n;
const TIMEOUT_MS = 30_000;

// biome-ignore lint/suspicious/noExplicitAny: IPC messages are untyped JSON
type Msg = Record<string, any>;

interface ChannelState {
  readonly id: string;
  readonly version: string;
  readonly balances: string[][];
  readonly isFinal: boolean;
  readonly phase: string;
  readonly sigs: string[];
}

/** One child process: commands and answers over IPC, ledger calls served on the parent's ledger. */
class NodeProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  readonly listening: Promise<number>;
  stderr = "";
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (m: Msg) => void; reject: (e: Error) => void }>();

  constructor(
    readonly index: number,
    onLedger: (m: Msg) => Promise<Msg>,
  ) {
    this.proc = spawn(
      process.execPath,
      [nodeScript, JSON.stringify({ index, deposit: DEPOSIT.toString(), syncTimeoutMs: 2_000 })],
      { stdio: ["ignore", "inherit", "pipe", "ipc"] },
    );
    this.proc.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    let onListening: (port: number) => void = () => undefined;
    this.listening = new Promise((resolve) => {
      onListening = resolve;
    });
    this.exited = new Promise((resolve) =>
      this.proc.once("exit", (code, sig) => {
        const err = new Error(`node ${index} exited (${code ?? sig}): ${this.stderr.slice(-2_000)}`);
        for (const w of this.#waiting.values()) w.reject(err);
        this.#waiting.clear();
        resolve();
      }),
    );
    this.proc.on("message", (m: Msg) => {
      if (m.type === "listening") onListening(m.port);
      else if (m.type === "done") {
        this.#waiting.get(m.id)?.resolve(m);
        this.#waiting.delete(m.id);
      } else if (isLedgerCall(m)) {
        void onLedger(m).then((answer) => {
          if (this.proc.connected) this.proc.send(answer, () => undefined);
        });
      }
    });
  }

  /** Runs `op` in the child; rejects with the child's error. */
  async cmd<T>(op: string, args: object = {}): Promise<T> {
    const id = ++this.#next;
    const done = await new Promise<Msg>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.proc.send({ type: "cmd", id, op, args }, (e) => {
        if (e) reject(e);
      });
    });
    if (!done.ok) throw new Error(`node ${this.index} ${op}: ${done.error}`);
    return done.result as T;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.disconnect();
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Hub (process 0) and `clients` client processes; `channelsPerClient` ledger channels between
 * the hub and each client, opened concurrently by the hub; `updatesPerChannel` payments per
 * channel from either end at random, all at once; the ends are compared (repair syncs for any
 * difference), the agreed balances checked against the payments that succeeded, and every
 * channel settled cooperatively: the ledger must hold exactly the agreed balances.
 */
export async function runProcessLoad(opts: ProcessLoadOptions): Promise<ProcessLoadReport> {
  if (!existsSync(nodeScript))
    throw new Error(`${nodeScript} is missing: build first (npx tsc -b in packages/testing)`);
  const started = Date.now();
  const phaseMs: Record<string, number> = {};
  let mark = started;
  const phase = (name: string) => {
    const now = Date.now();
    phaseMs[name] = now - mark;
    mark = now;
    opts.progress?.(`${now - started} ms: ${name} done`);
  };
  const secp = selectSecp256k1({ prefer: "native" });
  const backend = new SimChannelBackend({ secp256k1: secp });
  const ctx = { backend, apps: new AppRegistry() };
  const ledger = new SimLedger({ backend, clock: new ManualClock(1_000n) });
  const asset = new SimAsset(1n);
  const participants = Array.from({ length: opts.clients + 1 }, (_, i) => {
    const w = nodeWallet(i, secp);
    w.newAccount(); // the wire identity
    return w.newAccount();
  });
  for (const p of participants) ledger.mint(p.address, asset, MINT);

  let parentPeak = 0;
  let parentPeakHeap = 0;
  const sampleParent = () => {
    const m = process.memoryUsage();
    parentPeak = Math.max(parentPeak, m.rss);
    parentPeakHeap = Math.max(parentPeakHeap, m.heapUsed);
  };
  const sampler = setInterval(sampleParent, 100);

  const nodes = participants.map(
    (p, i) =>
      new NodeProcess(i, (m) => serveLedgerCall(ledger, ctx, p, m as Parameters<typeof serveLedgerCall>[3])),
  );
  try {
    const ports = await Promise.race([
      Promise.all(nodes.map((n) => n.listening)),
      ...nodes.map((n) =>
        n.exited.then(() => Promise.reject(new Error(`node ${n.index} died: ${n.stderr}`))),
      ),
    ]);
    const peers = ports.map((port, index) => ({ index, port }));
    await Promise.all(nodes.map((n) => n.cmd("book", { peers })));
    phase("start");
    const [hub, ...clients] = nodes as [NodeProcess, ...NodeProcess[]];

    const opened = await hub.cmd<{ id: string; peer: number }[]>("open", {
      peers: clients.flatMap((c) => Array.from({ length: opts.channelsPerClient }, () => c.index)),
      timeoutMs: TIMEOUT_MS * 2,
    });
    phase("open");

    // Payment plans: each payment from the hub or the client end at random, 1–5 units (the
    // deposits never run out, so a payment that succeeds moves exactly its amount).
    const r = rng(opts.seed);
    const hubPlans: Record<string, number[]> = {};
    const clientPlans = clients.map(() => ({}) as Record<string, number[]>);
    for (const { id, peer } of opened) {
      hubPlans[id] = [];
      const cp = clientPlans[peer - 1] as Record<string, number[]>;
      cp[id] = [];
      for (let u = 0; u < opts.updatesPerChannel; u++)
        (r() < 0.5 ? hubPlans[id] : cp[id])?.push(1 + Math.floor(r() * 5));
    }
    type UpdateResult = Record<string, { paid: string; ok: number; refused: number; timeouts: number }>;
    const [hubResult, ...clientResults] = await Promise.all([
      hub.cmd<UpdateResult>("update", { plans: hubPlans, timeoutMs: TIMEOUT_MS }),
      ...clients.map((c, i) =>
        c.cmd<UpdateResult>("update", { plans: clientPlans[i], timeoutMs: TIMEOUT_MS }),
      ),
    ]);
    phase("update");
    let updatesOk = 0;
    let updatesRefused = 0;
    let unexpectedTimeouts = 0;
    for (const res of [hubResult, ...clientResults])
      for (const v of Object.values(res ?? {})) {
        updatesOk += v.ok;
        updatesRefused += v.refused;
        unexpectedTimeouts += v.timeouts;
      }

    // Compare both ends; sync from the hub where they differ.
    const byClient = clients.map((c) => opened.filter((o) => o.peer === c.index).map((o) => o.id));
    const compare = async () => {
      const hubStates = await hub.cmd<ChannelState[]>("states", { ids: opened.map((o) => o.id) });
      const clientStates = (
        await Promise.all(clients.map((c, i) => c.cmd<ChannelState[]>("states", { ids: byClient[i] })))
      ).flat();
      const other = new Map(clientStates.map((s) => [s.id, s]));
      const differ = hubStates
        .filter((s) => JSON.stringify(s) !== JSON.stringify(other.get(s.id)))
        .map((s) => s.id);
      return { hubStates, differ };
    };
    let cmp = await compare();
    for (let attempt = 0; attempt < 3 && cmp.differ.length > 0; attempt++) {
      opts.progress?.(`${cmp.differ.length} channels differ; syncing`);
      await hub.cmd("sync", { ids: cmp.differ });
      cmp = await compare();
    }
    const diverged = cmp.differ.length;
    phase("compare");

    // The agreed balances must be the deposits moved by exactly the payments that succeeded.
    let wrongBalance = 0;
    for (const s of cmp.hubStates) {
      const peer = opened.find((o) => o.id === s.id)?.peer ?? 0;
      const hubPaid = BigInt(hubResult?.[s.id]?.paid ?? "0");
      const clientPaid = BigInt(clientResults[peer - 1]?.[s.id]?.paid ?? "0");
      const want = [DEPOSIT - hubPaid + clientPaid, DEPOSIT + hubPaid - clientPaid].map(String);
      if (JSON.stringify(s.balances[0]) !== JSON.stringify(want)) {
        wrongBalance++;
        opts.progress?.(`channel ${s.id}: balances ${s.balances[0]}, payments imply ${want}`);
      }
    }

    // Final updates by the hub, then both ends settle at once.
    await hub.cmd("final", { ids: opened.map((o) => o.id), timeoutMs: TIMEOUT_MS });
    await Promise.all([
      hub.cmd("settle", { ids: opened.map((o) => o.id), secondary: false, timeoutMs: TIMEOUT_MS * 2 }),
      ...clients.map((c, i) =>
        c.cmd("settle", { ids: byClient[i], secondary: true, timeoutMs: TIMEOUT_MS * 2 }),
      ),
    ]);
    const settledStates = await Promise.all([
      hub.cmd<ChannelState[]>("states", { ids: opened.map((o) => o.id) }),
      ...clients.map((c, i) => c.cmd<ChannelState[]>("states", { ids: byClient[i] })),
    ]);
    const withdrawnAtHub = new Set(
      (settledStates[0] ?? []).filter((s) => s.phase === "Withdrawn").map((s) => s.id),
    );
    const settled = settledStates
      .slice(1)
      .flat()
      .filter((s) => s.phase === "Withdrawn" && withdrawnAtHub.has(s.id)).length;
    phase("settle");

    // Each participant's ledger balance: the mint moved by its agreed final balances.
    const expected = participants.map(() => MINT);
    for (const s of cmp.hubStates) {
      const peer = opened.find((o) => o.id === s.id)?.peer ?? 0;
      const [h, c] = (s.balances[0] ?? []).map(BigInt);
      expected[0] = (expected[0] ?? MINT) + (h ?? 0n) - DEPOSIT;
      expected[peer] = (expected[peer] ?? MINT) + (c ?? 0n) - DEPOSIT;
    }
    let wrongLedgerBalances = 0;
    participants.forEach((p, i) => {
      const have = ledger.balanceOf(p.address, asset);
      if (have !== expected[i]) {
        wrongLedgerBalances++;
        opts.progress?.(`node ${i}: ledger balance ${have}, expected ${expected[i]}`);
      }
    });

    sampleParent();
    const memory = await Promise.all(
      nodes.map(async (n, i) => ({
        node: i === 0 ? "hub" : `client ${i}`,
        ...(await n.cmd<{ peakRssMiB: number; peakHeapMiB: number }>("mem")),
      })),
    );
    memory.push({
      node: "ledger (test process)",
      peakRssMiB: Math.round(parentPeak / 2 ** 20),
      peakHeapMiB: Math.round(parentPeakHeap / 2 ** 20),
    });
    await Promise.all(nodes.map((n) => n.cmd("close")));
    return {
      processes: nodes.length,
      channels: opened.length,
      updatesOk,
      updatesRefused,
      unexpectedTimeouts,
      diverged,
      wrongBalance,
      settled,
      wrongLedgerBalances,
      ms: Date.now() - started,
      phaseMs,
      memory,
    };
  } finally {
    clearInterval(sampler);
    await Promise.all(nodes.map((n) => n.stop()));
  }
}
