// The child process of the crash test (crash.test.ts): writes channel life cycles to a durable
// LevelPersistRestorer from several concurrent workers until it is killed. Before each Persister
// call it prints `I <channel> <fingerprint>` and after the call resolved `A <channel> <fingerprint>`
// (stdout writes to a pipe are synchronous on Linux, so a printed ack was really acknowledged).
//
//   node src/run-ts.test-helper.mjs src/crash-writer.test-helper.ts <db dir> <nonce base> <workers>
import { type ChannelId, type ChannelSource, channelIdHex, type Persister, Phase } from "@perun-ts/core";
import { fingerprint, makeFixture, peerOf, TestChannel } from "./channel-fixture.test-helper.js";
import { LevelPersistRestorer } from "./level-persist-restorer.js";

const [path, nonceBase, workers] = process.argv.slice(3);
if (!path || !nonceBase || !workers) throw new Error("usage: crash-writer <db dir> <nonce base> <workers>");
const base = BigInt(nonceBase);

const f = makeFixture(4);
const pr = await LevelPersistRestorer.open(path, { ...f.ctx, durable: true });

function line(s: string): void {
  process.stdout.write(`${s}\n`);
}

/** Logs intent and acknowledgement of every call around the real persister. */
const logged: Persister = {
  async channelCreated(src, peers, parent) {
    await around(src.id, fingerprint(src), () => pr.channelCreated(src, peers, parent));
  },
  staged: (src) => around(src.id, fingerprint(src), () => pr.staged(src)),
  sigAdded: (src, idx) => around(src.id, fingerprint(src), () => pr.sigAdded(src, idx)),
  enabled: (src) => around(src.id, fingerprint(src), () => pr.enabled(src)),
  phaseChanged: (src) => around(src.id, fingerprint(src), () => pr.phaseChanged(src)),
  channelRemoved: (id) => around(id, "absent", () => pr.channelRemoved(id)),
  close: () => pr.close(),
};

async function around(id: ChannelId, fp: string, call: () => Promise<void>): Promise<void> {
  const hex = channelIdHex(id);
  line(`I ${hex} ${fp}`);
  await call();
  line(`A ${hex} ${fp}`);
}

async function phase(c: TestChannel, set: () => void): Promise<void> {
  set();
  await logged.phaseChanged(c.machine.source() as ChannelSource);
}

async function worker(w: number): Promise<void> {
  let parent: ChannelId | undefined;
  for (let k = 0; ; k++) {
    const c = new TestChannel(f, peerOf(f, w % 4), base + BigInt(w * 1_000_000 + k), parent);
    await c.created(logged);
    await c.open(logged);
    await c.update(logged);
    // a discarded update: its own signature must never reappear with a later staged state
    await c.stage(logged);
    await c.ownSig(logged);
    c.machine.discardUpdate();
    await logged.staged(c.machine.source());
    await c.stage(logged);
    await c.ownSig(logged);
    c.machine.discardUpdate();
    await logged.staged(c.machine.source());
    await c.update(logged);
    await c.update(logged, true);
    await phase(c, () => c.machine.setRegistering());
    await phase(c, () => c.machine.setRegistered());
    await phase(c, () => c.machine.setWithdrawing());
    if (k % 2 === 0) {
      // every second channel stays (Withdrawing) and becomes the parent of the next one
      parent = c.id;
    } else {
      c.machine.setWithdrawn();
      await logged.channelRemoved(c.id);
      parent = undefined;
    }
    if (c.machine.phase !== Phase.Withdrawing && c.machine.phase !== Phase.Withdrawn) {
      throw new Error("unexpected phase");
    }
  }
}

await Promise.all(Array.from({ length: Number(workers) }, (_, w) => worker(w)));
