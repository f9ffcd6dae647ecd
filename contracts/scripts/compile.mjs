#!/usr/bin/env node
// Compiles solidity/ and writes src/generated/**.ts (as-const ABIs + bytecode) and artifacts/**.json.
// Both outputs are committed; scripts/check-generated.mjs fails if they are stale.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { compileAll, packageDir, renderOutputs } from "./solidity.mjs";

const started = Date.now();
const files = renderOutputs(compileAll());
rmSync(join(packageDir, "src/generated"), { recursive: true, force: true });
rmSync(join(packageDir, "artifacts"), { recursive: true, force: true });
for (const [path, content] of Object.entries(files)) {
  const full = join(packageDir, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}
console.log(`compiled ${Object.keys(files).length / 2} contracts in ${Date.now() - started} ms`);
