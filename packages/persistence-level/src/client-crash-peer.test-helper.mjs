// The crashing peer of client-crash.test.ts: Bob's client on a LevelPersistRestorer, in a child
// process that the test SIGKILLs. Plain JavaScript on the BUILT packages (dist), so that a start
// takes ~0.2 s instead of seconds for a TypeScript transform; the test command builds first.
//
// argv[2]: JSON {dir, wireKey, partKey, peerWire, peerPort, syncTimeoutMs}
// IPC in:  {type:"cmd", id, op:"open"|"pay"|"final"|"settle"|"state"|"arm", arm?, ...}
// IPC out: {type:"listening", port} {type:"ready", channel, restoreError, abandoned}
//          {type:"done", id, ok, error?, channel} {type:"dying", step, method, when, stage}
//          {type:"fund"|"withdraw", rid, ...} (the ledger lives in the test process)
//
// "arm" {k, when, stage}: the k-th persister call from now kills this process with SIGKILL right
// before ("before") or right after ("after") the call — a precise kill point at any protocol step.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const clientDist = fileURLToPath(new URL("../node_modules/@perun-ts/client/dist/index.js", import.meta.url));
for (const f of [dist, clientDist]) {
  if (!existsSync(f)) {
    console.error(`crash peer: ${f} is missing — build first (npx tsc -b in packages/persistence-level)`);
    process.exit(3);
  }
}
const { LevelPersistRestorer } = await import(dist);
const { Client, ledgerChannelProposal } = await import("@perun-ts/client");
const { SimAsset, SimChannelBackend, SimWallet } = await import("@perun-ts/backend-sim");
const core = await import("@perun-ts/core");
const { AddressBook, EnvelopeCodec, NetBus } = await import("@perun-ts/wire");
const { AppRegistry, fromHex, toHex, transfer, silentLogger, PerunError } = core;

const cfg = JSON.parse(process.argv[2] ?? "{}");
const send = (m, cb) => {
  if (process.connected) process.send(m, cb);
};

const backend = new SimChannelBackend();
const apps = new AppRegistry();
const ctx = { backend, apps };
const wallet = new SimWallet();
const wire = wallet.importSecretKey(fromHex(cfg.wireKey));
const part = wallet.importSecretKey(fromHex(cfg.partKey));
const peerWire = backend.decodeAddress(fromHex(cfg.peerWire));
const asset = new SimAsset(1n);

// ------------------------------------------------------------------ kill hook on the persister
let arm; // {k, when, stage}
let calls = 0;
const die = (method, when) =>
  new Promise(() => {
    send({ type: "dying", step: arm.step, method, when, stage: arm.stage }, () =>
      process.kill(process.pid, "SIGKILL"),
    );
  });
const level = await LevelPersistRestorer.open(cfg.dir, ctx);
const persistMethods = new Set([
  "channelCreated",
  "staged",
  "sigAdded",
  "enabled",
  "phaseChanged",
  "channelRemoved",
]);
const store = new Proxy(level, {
  get(target, prop) {
    const v = Reflect.get(target, prop, target);
    if (typeof v !== "function") return v;
    if (!persistMethods.has(prop)) return v.bind(target);
    return async (...args) => {
      calls++;
      const hit = arm !== undefined && --arm.k === 0;
      if (hit && arm.when === "before") await die(prop, "before");
      const r = await v.apply(target, args);
      if (hit) await die(prop, "after");
      return r;
    };
  },
});

// ------------------------------------------------------------------ ledger proxy (to the test)
let rid = 0;
const pending = new Map();
const ask = (m) =>
  new Promise((resolve, reject) => {
    const id = ++rid;
    pending.set(id, { resolve, reject });
    send({ ...m, rid: id });
  });
const notHere = async () => {
  throw new PerunError("the crash peer has no registration/dispute path");
};
const funder = {
  fund: (req) =>
    ask({
      type: "fund",
      params: toHex(core.encodeParams(req.params)),
      state: toHex(core.encodeState(req.state)),
      idx: req.idx,
      agreement: req.agreement.map((r) => r.map(String)),
    }),
};
const adjudicator = {
  register: notHere,
  progress: notHere,
  subscribe: notHere,
  withdraw: (req) =>
    ask({
      type: "withdraw",
      params: toHex(core.encodeParams(req.params)),
      tx: toHex(core.encodeTransaction(req.tx)),
      idx: req.idx,
    }),
};
// No chain events reach this process: a watcher that accepts and never reports.
const watcher = {
  startWatchingLedgerChannel: async () => ({ publish: async () => undefined, events: never() }),
  startWatchingSubChannel: notHere,
  stopWatching: async () => undefined,
};
async function* never() {
  await new Promise(() => undefined);
}

// ------------------------------------------------------------------ client
const book = new AddressBook();
book.set(peerWire, { host: "127.0.0.1", port: cfg.peerPort });
const bus = new NetBus({
  identity: wire,
  verifySignature: (s, d, sig) => backend.verifyData(s, d, sig),
  codec: new EnvelopeCodec(ctx),
  addressBook: book,
  logger: silentLogger,
});
const at = await bus.listen({ host: "127.0.0.1", port: 0 });
const client = new Client({
  identity: wire,
  bus,
  backend,
  wallet,
  funder,
  adjudicator,
  watcher,
  apps,
  persister: store,
  syncTimeoutMs: cfg.syncTimeoutMs,
  logger: silentLogger,
});
let ch;
client.onNewChannel((c) => {
  ch = c;
});
client.handle({
  onProposal: async (_p, r) => {
    await r.accept({ participant: part.address }).catch(() => undefined);
  },
  onUpdate: (_c, _s, _u, r) => r.accept(),
});

const describe = () => {
  if (ch === undefined || ch.phase >= core.Phase.Withdrawn) return null;
  const st = ch.current.state; // none yet during the opening
  return {
    id: ch.idHex,
    version: st ? st.version.toString() : "none",
    balances: st ? st.allocation.balances.map((r) => r.map(String)) : [],
    isFinal: st ? st.isFinal : false,
    phase: ch.phase,
    sigs: ch.current.sigs.map((s) => (s ? toHex(s) : "")),
  };
};

process.on("message", (m) => {
  if (m.type === "fund-result" || m.type === "withdraw-result") {
    const p = pending.get(m.rid);
    pending.delete(m.rid);
    if (m.error) p?.reject(new PerunError(m.error));
    else p?.resolve();
    return;
  }
  if (m.type !== "cmd") return;
  // `calls`: persister calls since the previous arm (the test learns how many steps a stage has)
  const before = calls;
  if (m.arm !== undefined) {
    arm = m.arm === null ? undefined : { ...m.arm, step: m.arm.k };
    calls = 0;
  }
  run(m).then(
    () => send({ type: "done", id: m.id, ok: true, calls: before, channel: describe() }),
    (e) => send({ type: "done", id: m.id, ok: false, calls: before, error: String(e), channel: describe() }),
  );
});

async function run(m) {
  const signal = AbortSignal.timeout(m.timeoutMs ?? 10_000);
  switch (m.op) {
    case "open":
      ch = await client.proposeChannel(
        ledgerChannelProposal({
          challengeDuration: 60n,
          participant: part.address,
          initBals: { assets: [asset], balances: [m.balances.map(BigInt)], locked: [] },
          peers: [wire.address, peerWire],
        }),
        { signal },
      );
      return;
    case "pay":
      await ch.update(
        (s) => ({ ...s, allocation: transfer(s.allocation, ch.idx, 1 - ch.idx, [BigInt(m.amount)]) }),
        {
          signal,
        },
      );
      return;
    case "final":
      await ch.update((s) => ({ ...s, isFinal: true }), { signal });
      return;
    case "settle":
      await ch.settle({ signal, secondary: true });
      return;
    default:
      return; // "state", "arm": only report
  }
}

send({ type: "listening", port: at.port });
const report = await client.restore({ watch: false, syncTimeoutMs: cfg.syncTimeoutMs });
const restoreError =
  report.failed.length > 0 ? String(report.failed[0].error) : (report.channels[0]?.error ?? null);
ch = report.channels[0]?.channel ?? ch;
// An interrupted opening the peer did not answer was dropped by restore (nothing was deposited).
if (ch !== undefined && report.abandoned.includes(ch.idHex)) ch = undefined;
send({
  type: "ready",
  channel: describe(),
  restoreError: restoreError === null ? null : String(restoreError),
  abandoned: report.abandoned.length,
});
