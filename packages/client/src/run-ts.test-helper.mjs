// Runs a TypeScript module of this repository in a plain Node process (Node 20 cannot strip
// types): vite's module runner (vite comes with vitest) transforms it and resolves the sibling
// @perun-ts/* packages from their sources, as vitest does. Used by the crash test's child.
//
//   node src/run-ts.test-helper.mjs <module.ts> [args…]
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const target = process.argv[2];
if (!target) {
  console.error("usage: node run-ts.test-helper.mjs <module.ts> [args…]");
  process.exit(2);
}
const alias = {};
for (const dir of readdirSync(join(repo, "packages"))) {
  const entry = join(repo, "packages", dir, "src", "index.ts");
  if (existsSync(entry)) alias[`@perun-ts/${dir}`] = entry;
}
const require = createRequire(import.meta.url);
const vitePath = createRequire(require.resolve("vitest/package.json")).resolve("vite");
const { runnerImport } = await import(pathToFileURL(vitePath).href);
await runnerImport(resolve(target), { root: repo, logLevel: "error", resolve: { alias } });
