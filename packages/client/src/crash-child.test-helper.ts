/**
 * The crashing peer of `crash.test.ts`, run in a child process (via run-ts.test-helper.mjs) that
 * the test kills with SIGKILL: Bob's client with a LevelDB store, on a NetBus to the test process.
 * It restores and syncs, reports its state over IPC, then pays the peer in a loop until paused.
 * The ledger lives in the test process; Bob never funds or settles here, so its Funder and
 * Adjudicator only throw.
 *
 * argv: <json {dir, wireKey, partKey, peerWire, peerPort, levelModule}>
 */
import { SimChannelBackend, SimWallet } from "@perun-ts/backend-sim";
import {
  AppRegistry,
  fromHex,
  type PersistRestorer,
  PerunError,
  silentLogger,
  toHex,
  transfer,
  type Watcher,
} from "@perun-ts/core";
import { AddressBook, EnvelopeCodec, NetBus } from "@perun-ts/wire";
import { type Channel, Client } from "./index.js";

interface Config {
  readonly dir: string;
  readonly wireKey: string;
  readonly partKey: string;
  readonly peerWire: string;
  readonly peerPort: number;
  /** Path of @perun-ts/persistence-level's entry module. */
  readonly levelModule: string;
}

const send = (m: unknown): void => {
  process.send?.(m);
};

const cfg = JSON.parse(process.argv[3] ?? "{}") as Config;
const backend = new SimChannelBackend();
const apps = new AppRegistry();
const wallet = new SimWallet();
const wire = wallet.importSecretKey(fromHex(cfg.wireKey));
wallet.importSecretKey(fromHex(cfg.partKey));
const peerWire = backend.decodeAddress(fromHex(cfg.peerWire));
// Not a dependency of the client package (only this test uses it): loaded from its sources by path.
const { LevelPersistRestorer } = (await import(cfg.levelModule)) as {
  LevelPersistRestorer: {
    open(dir: string, opts: { backend: SimChannelBackend; apps: AppRegistry }): Promise<PersistRestorer>;
  };
};
const store = await LevelPersistRestorer.open(cfg.dir, { backend, apps });
const book = new AddressBook();
book.set(peerWire, { host: "127.0.0.1", port: cfg.peerPort });
const bus = new NetBus({
  identity: wire,
  verifySignature: (s, d, sig) => backend.verifyData(s, d, sig),
  codec: new EnvelopeCodec({ backend, apps }),
  addressBook: book,
  logger: silentLogger,
});
const at = await bus.listen({ host: "127.0.0.1", port: 0 });
const offChain = (): never => {
  throw new PerunError("the crash child has no ledger");
};
const watcher: Watcher = {
  startWatchingLedgerChannel: async () => offChain(),
  startWatchingSubChannel: async () => offChain(),
  stopWatching: async () => undefined,
};
const client = new Client({
  identity: wire,
  bus,
  backend,
  wallet,
  funder: { fund: async () => offChain() },
  adjudicator: {
    register: async () => offChain(),
    progress: async () => offChain(),
    withdraw: async () => offChain(),
    subscribe: async () => offChain(),
  },
  watcher,
  apps,
  persister: store,
  syncTimeoutMs: 3_000,
});
client.handle({
  onProposal: (_p, r) => r.reject("no proposals"),
  onUpdate: (_ch, _cur, _u, r) => r.accept(),
});
send({ type: "listening", port: "port" in at ? at.port : 0 });

const report = await client.restore({ watch: false, syncTimeoutMs: 3_000 });
const ch = report.channels[0]?.channel as Channel;
const describe = () => ({
  version: ch.state.version.toString(),
  balances: ch.state.allocation.balances.map((r) => r.map(String)),
  phase: ch.phase,
  sigs: ch.current.sigs.map((s) => (s ? toHex(s) : "")),
});
send({
  type: "ready",
  sync: report.channels[0]?.sync ?? null,
  error: report.channels[0]?.error ? String(report.channels[0].error) : null,
  state: describe(),
});

let running = false;
let loop: Promise<void> = Promise.resolve();
process.on("message", (m: { type: string }) => {
  if (m.type === "run" && !running) {
    running = true;
    loop = (async () => {
      while (running) {
        const own = ch.state.allocation.balances[0]?.[ch.idx] ?? 0n;
        if (own > 0n) {
          await ch
            .update((s) => ({ ...s, allocation: transfer(s.allocation, ch.idx, ch.idx ^ 1, [1n]) }), {
              signal: AbortSignal.timeout(500),
            })
            .catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
  } else if (m.type === "pause") {
    running = false;
    loop.then(
      () => send({ type: "paused", state: describe() }),
      () => undefined,
    );
  } else if (m.type === "state") {
    send({ type: "state", state: describe() });
  }
});
