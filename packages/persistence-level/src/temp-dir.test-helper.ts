import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary directory and a function that deletes it. */
export function tempDir(label = "perun-level-"): { readonly path: string; readonly remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), label));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
