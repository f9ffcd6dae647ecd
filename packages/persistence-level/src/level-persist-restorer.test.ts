// LevelPersistRestorer against the generic persister suite of @perun-ts/testing, on a real
// LevelDB in a temporary directory, in both write modes; reopening checks what survives a restart.
import type { DecodeContext, PersistRestorer } from "@perun-ts/core";
import { persistRestorerSuite } from "@perun-ts/testing";
import { LevelPersistRestorer } from "./level-persist-restorer.js";
import { tempDir } from "./temp-dir.test-helper.js";

for (const durable of [false, true]) {
  const dirs = new Map<PersistRestorer, { path: string; remove: () => void }>();
  persistRestorerSuite({
    name: `LevelPersistRestorer (${durable ? "durable, group commit" : "non-durable"})`,
    async create(ctx: DecodeContext) {
      const dir = tempDir();
      const pr = await LevelPersistRestorer.open(dir.path, { ...ctx, durable });
      dirs.set(pr, dir);
      return pr;
    },
    async reopen(old, ctx) {
      const dir = dirs.get(old);
      if (!dir) throw new Error("reopen of an unknown persister");
      await old.close();
      const pr = await LevelPersistRestorer.open(dir.path, { ...ctx, durable });
      dirs.delete(old);
      dirs.set(pr, dir);
      return pr;
    },
    destroy(pr) {
      dirs.get(pr)?.remove();
      dirs.delete(pr);
    },
  });
}
