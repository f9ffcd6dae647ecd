#!/usr/bin/env node
// Fails (exit 1) if the committed src/generated/** and artifacts/** differ from a fresh compile of
// solidity/** (run `node scripts/compile.mjs` and commit the result).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { compileAll, packageDir, renderOutputs } from "./solidity.mjs";

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const expected = renderOutputs(compileAll());
const problems = [];
for (const [path, content] of Object.entries(expected)) {
  const full = join(packageDir, path);
  if (!existsSync(full)) problems.push(`missing: ${path}`);
  else if (readFileSync(full, "utf8") !== content) problems.push(`stale: ${path}`);
}
for (const full of [
  ...listFiles(join(packageDir, "src/generated")),
  ...listFiles(join(packageDir, "artifacts")),
]) {
  const path = relative(packageDir, full).split("\\").join("/");
  if (!(path in expected)) problems.push(`unexpected: ${path}`);
}
if (problems.length > 0) {
  console.error(
    `Generated contract output is out of date:\n  ${problems.join("\n  ")}\nRun: node scripts/compile.mjs`,
  );
  process.exit(1);
}
console.log(`generated contract output is up to date (${Object.keys(expected).length} files)`);
