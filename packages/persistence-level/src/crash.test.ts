// Crash test: a child process writes channel life cycles to a durable LevelPersistRestorer and is
// killed with SIGKILL at a seeded random point; the database is reopened and every channel must
// hold exactly its last acknowledged transition or the one that was in flight — never anything
// older, newer or half-written — and the peer index must match the records. Rounds accumulate in
// one database, so later rounds also restart from a crashed one. Rerun with CRASH_SEED=<seed>;
// CRASH_ROUNDS=<n> runs a longer version.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ChannelId, fromHex, UnknownChannelError } from "@perun-ts/core";
import { afterAll, describe, expect, it } from "vitest";
import { fingerprint, makeFixture } from "./channel-fixture.test-helper.js";
import { LevelPersistRestorer } from "./level-persist-restorer.js";
import { tempDir } from "./temp-dir.test-helper.js";

const seed = process.env.CRASH_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.CRASH_SEED);
const rounds = Number(process.env.CRASH_ROUNDS ?? 4);
console.log(`crash.test.ts: seed ${seed}, ${rounds} rounds (rerun with CRASH_SEED=${seed})`);

const runner = fileURLToPath(new URL("./run-ts.test-helper.mjs", import.meta.url));
const writer = fileURLToPath(new URL("./crash-writer.test-helper.ts", import.meta.url));

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

/** Per channel: the last acknowledged fingerprint and the one in flight when the child died. */
interface Seen {
  acked: string;
  inFlight: string | undefined;
}

/** Runs the writer until it has acknowledged `killAfter` writes, then SIGKILLs it. */
function runUntilKilled(
  path: string,
  nonceBase: bigint,
  killAfter: number,
  seen: Map<string, Seen>,
): Promise<{ acks: number; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, writer, path, nonceBase.toString(), "6"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let acks = 0;
    let buf = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const l of lines) {
        const [kind, id, fp] = l.split(" ");
        if (!id || !fp) continue;
        const s = seen.get(id) ?? { acked: "absent", inFlight: undefined };
        seen.set(id, s);
        if (kind === "I") s.inFlight = fp;
        else if (kind === "A") {
          s.acked = fp;
          s.inFlight = undefined;
          if (++acks === killAfter) child.kill("SIGKILL");
        }
      }
    });
    child.on("error", reject);
    child.on("close", (_code, signal) => resolve({ acks, signal, stderr }));
  });
}

describe("crash consistency (SIGKILL of a durable writer)", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it(
    `keeps every acknowledged write and nothing half-written over ${rounds} kills`,
    async () => {
      const rng = mulberry32(seed);
      const f = makeFixture(0);
      const seen = new Map<string, Seen>();
      let inFlightFound = 0;
      let inFlightLost = 0;
      for (let round = 0; round < rounds; round++) {
        const killAfter = 20 + Math.floor(rng() * 400);
        const run = await runUntilKilled(dir.path, BigInt(round) * 10n ** 12n, killAfter, seen);
        expect(run.signal, `round ${round}: the writer ended on its own: ${run.stderr}`).toBe("SIGKILL");
        expect(run.acks).toBeGreaterThanOrEqual(killAfter);

        const pr = await LevelPersistRestorer.open(dir.path, { ...f.ctx });
        try {
          let live = 0;
          for (const [hex, s] of seen) {
            const restored = await pr.restoreChannel(fromHex(hex) as ChannelId).then(
              (c) => fingerprint(c),
              (e: unknown) => {
                if (e instanceof UnknownChannelError) return "absent";
                throw e;
              },
            );
            const allowed = [s.acked, ...(s.inFlight ? [s.inFlight] : [])];
            expect(allowed, `round ${round}, channel ${hex}`).toContain(restored);
            if (s.inFlight) {
              if (restored === s.inFlight) inFlightFound++;
              else inFlightLost++;
            }
            // what is on disk now is what the next round must keep
            s.acked = restored;
            s.inFlight = undefined;
            if (restored !== "absent") live++;
          }
          const report = await pr.verifyIntegrity();
          expect(report.channels).toBe(live);
        } finally {
          await pr.close();
        }
      }
      console.log(
        `crash.test.ts: ${rounds} kills survived, ${seen.size} channels; writes in flight at a kill: ` +
          `${inFlightFound} persisted, ${inFlightLost} not`,
      );
    },
    30_000 + rounds * 10_000,
  );
});
