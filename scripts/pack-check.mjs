#!/usr/bin/env node
// Packs the publishable packages as npm would receive them and installs the tarballs with plain npm
// into an empty folder, then imports every package there. Catches missing `files`, wrong `exports`,
// undeclared dependencies and import-time side effects that only show outside the workspace.
// Usage: node scripts/pack-check.mjs [package-dir ...]   (run after `pnpm build`)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const dirs = process.argv.length > 2 ? process.argv.slice(2) : ["packages/core", "packages/backend-sim"];
const work = mkdtempSync(join(tmpdir(), "perun-pack-"));
const tarballs = join(work, "tarballs");
const consumer = join(work, "consumer");
try {
  const names = [];
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    names.push(pkg.name);
    execFileSync("npx", ["-y", "pnpm@12.4.2", "pack", "--pack-destination", tarballs], {
      cwd: join(root, dir),
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  execFileSync("mkdir", ["-p", consumer]);
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...files], {
    cwd: consumer,
    stdio: "inherit",
  });
  const script = names
    .map(
      (n) =>
        `const m_${names.indexOf(n)} = await import(${JSON.stringify(n)}); if (Object.keys(m_${names.indexOf(n)}).length === 0) throw new Error(${JSON.stringify(`${n} exports nothing`)});`,
    )
    .join("\n");
  execFileSync("node", ["--input-type=module", "-e", script], { cwd: consumer, stdio: "inherit" });
  console.log(`pack-check: ${names.join(", ")} install from their tarballs and import`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
