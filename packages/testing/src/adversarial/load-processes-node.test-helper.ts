// One node of the multi-process load test (load-processes.test.ts): a hub or a client in its own
// process, on the BUILT packages (the test runs dist/adversarial/load-processes-node.test-helper.js,
// so a start takes a fraction of a second; the test command builds first). NetBus over TCP to the
// other nodes; funding and withdrawal go to the parent's SimLedger over IPC.
//
// argv[2]: JSON NodeConfig. IPC out: {type:"listening", port}, {type:"done", id, ok, result|error},
// ledger calls. IPC in: {type:"cmd", id, op, ...}, ledger answers.
import { fileURLToPath } from "node:url";
import { SimAsset, SimChannelBackend, SimWallet, selectSecp256k1 } from "@perun-ts/backend-sim";
import { type Channel, Client, ledgerChannelProposal } from "@perun-ts/client";
import {
  AppRegistry,
  PerunError,
  Phase,
  RequestTimedOutError,
  silentLogger,
  toHex,
  transfer,
} from "@perun-ts/core";
import { AddressBook, EnvelopeCodec, NetBus } from "@perun-ts/wire";
import {
  isLedgerCall,
  type LedgerAnswer,
  type LedgerCall,
  ledgerProxy,
  silentWatcher,
} from "./process-ledger.test-helper.js";

/** Deterministic keys of node `index` (the parent derives the same ones). */
export function nodeWallet(index: number, secp?: ReturnType<typeof selectSecp256k1>) {
  return SimWallet.fromSeed(`load-processes-${index}`, secp ? { secp256k1: secp } : {});
}

interface Cmd {
  readonly type: "cmd";
  readonly id: number;
  readonly op: "book" | "open" | "update" | "states" | "sync" | "final" | "settle" | "mem" | "close";
  readonly args: CmdArgs;
}

/** The union of every command's arguments (IPC JSON from the parent; each command reads its own). */
interface CmdArgs {
  readonly peers?: unknown;
  readonly plans?: unknown;
  readonly ids?: unknown;
  readonly timeoutMs: number;
  readonly secondary?: boolean;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? "{}") as {
    index: number;
    deposit: string;
    syncTimeoutMs: number;
  };
  const send = (m: unknown) => {
    if (process.connected) process.send?.(m, () => undefined);
  };
  const secp = selectSecp256k1({ prefer: "native" });
  const backend = new SimChannelBackend({ secp256k1: secp });
  const apps = new AppRegistry();
  const wallet = nodeWallet(cfg.index, secp);
  const wire = wallet.newAccount();
  const participant = wallet.newAccount();
  const asset = new SimAsset(1n);
  const deposit = BigInt(cfg.deposit);
  const ledger = ledgerProxy((m: LedgerCall) => send(m));

  // Peak memory, sampled (the figure the test reports).
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sampler = setInterval(sample, 100);

  const book = new AddressBook();
  const bus = new NetBus({
    identity: wire,
    verifySignature: (s, d, sig) => backend.verifyData(s, d, sig),
    codec: new EnvelopeCodec({ backend, apps }),
    addressBook: book,
    logger: silentLogger,
  });
  const at = await bus.listen({ host: "127.0.0.1", port: 0 });
  const client = new Client({
    identity: wire,
    bus,
    backend,
    wallet,
    funder: ledger.funder,
    adjudicator: ledger.adjudicator,
    watcher: silentWatcher(),
    apps,
    syncTimeoutMs: cfg.syncTimeoutMs,
    logger: silentLogger,
  });
  const channels = new Map<string, Channel>();
  client.onNewChannel((ch) => channels.set(ch.idHex, ch));
  client.handle({
    onProposal: async (_p, r) => {
      await r.accept({ participant: participant.address }).catch(() => undefined);
    },
    onUpdate: (_c, _s, _u, r) => r.accept(),
  });

  const channel = async (id: string): Promise<Channel> => {
    // The accepting end learns of a channel a moment after the proposer.
    for (let i = 0; i < 2_500 && !channels.has(id); i++) await new Promise((res) => setTimeout(res, 2));
    const ch = channels.get(id);
    if (!ch) throw new Error(`node ${cfg.index}: channel ${id} never appeared`);
    return ch;
  };
  const describe = (ch: Channel) => {
    const st = ch.state;
    return {
      id: ch.idHex,
      version: st.version.toString(),
      balances: st.allocation.balances.map((r) => r.map(String)),
      isFinal: st.isFinal,
      phase: Phase[ch.phase],
      sigs: ch.current.sigs.map((s) => (s ? toHex(s) : "")),
    };
  };

  const run = async (c: Cmd): Promise<unknown> => {
    switch (c.op) {
      case "book": {
        for (const p of c.args.peers as { index: number; port: number }[]) {
          const w = nodeWallet(p.index, secp).newAccount();
          book.set(w.address, { host: "127.0.0.1", port: p.port });
        }
        return null;
      }
      case "open": {
        // Every opening at once; answers the channel ids per peer node.
        const out: { id: string; peer: number }[] = [];
        await Promise.all(
          (c.args.peers as number[]).map(async (peer) => {
            const peerWire = nodeWallet(peer, secp).newAccount();
            const ch = await client.proposeChannel(
              ledgerChannelProposal({
                challengeDuration: 60n,
                participant: participant.address,
                initBals: { assets: [asset], balances: [[deposit, deposit]], locked: [] },
                peers: [wire.address, peerWire.address],
              }),
              { signal: AbortSignal.timeout(c.args.timeoutMs) },
            );
            out.push({ id: ch.idHex, peer });
          }),
        );
        return out;
      }
      case "update": {
        // plans: {channelId: amounts[]}; all updates of all channels at once; per channel the
        // sum of the amounts this node paid successfully, and the failures by kind.
        const plans = c.args.plans as Record<string, number[]>;
        const result: Record<string, { paid: string; ok: number; refused: number; timeouts: number }> = {};
        await Promise.all(
          Object.entries(plans).map(async ([id, amounts]) => {
            const ch = await channel(id);
            const r = { paid: 0n, ok: 0, refused: 0, timeouts: 0 };
            await Promise.all(
              amounts.map(async (a) => {
                const amount = BigInt(a);
                try {
                  await ch.update(
                    (s) => ({ ...s, allocation: transfer(s.allocation, ch.idx, ch.peerIdx, [amount]) }),
                    { signal: AbortSignal.timeout(c.args.timeoutMs) },
                  );
                  r.paid += amount;
                  r.ok++;
                } catch (e) {
                  if (!(e instanceof PerunError)) throw e;
                  if (e instanceof RequestTimedOutError) r.timeouts++;
                  else r.refused++;
                }
              }),
            );
            result[id] = { paid: r.paid.toString(), ok: r.ok, refused: r.refused, timeouts: r.timeouts };
          }),
        );
        return result;
      }
      case "states":
        return Promise.all((c.args.ids as string[]).map(async (id) => describe(await channel(id))));
      case "sync":
        await Promise.all(
          (c.args.ids as string[]).map(async (id) => client.sync(await channel(id)).catch(() => undefined)),
        );
        return null;
      case "final":
        await Promise.all(
          (c.args.ids as string[]).map(async (id) =>
            (await channel(id)).update((s) => ({ ...s, isFinal: true }), {
              signal: AbortSignal.timeout(c.args.timeoutMs),
            }),
          ),
        );
        return null;
      case "settle":
        await Promise.all(
          (c.args.ids as string[]).map(async (id) =>
            (await channel(id)).settle({
              secondary: c.args.secondary === true,
              signal: AbortSignal.timeout(c.args.timeoutMs),
            }),
          ),
        );
        return null;
      case "mem":
        sample();
        return { peakRssMiB: Math.round(peakRss / 2 ** 20), peakHeapMiB: Math.round(peakHeap / 2 ** 20) };
      case "close":
        clearInterval(sampler);
        await client.close();
        await bus.close();
        return null;
    }
  };

  process.on("message", (m: unknown) => {
    if ((m as { type?: unknown }).type === "ledger-answer") {
      ledger.answer(m as LedgerAnswer);
      return;
    }
    if (isLedgerCall(m) || (m as { type?: unknown }).type !== "cmd") return;
    const c = m as Cmd;
    run(c).then(
      (result) => send({ type: "done", id: c.id, ok: true, result }),
      (e: unknown) => send({ type: "done", id: c.id, ok: false, error: String(e) }),
    );
  });
  send({ type: "listening", port: "port" in at ? at.port : 0 });
}

// Runs only as a child's entry script, not when the parent imports `nodeWallet`.
if (process.send !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
