// Shared vitest settings: tests import sibling workspace packages from their sources, so a
// package's tests run without building its dependencies first (the dist output is exercised by
// the build, typecheck and pack checks instead).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

const root = import.meta.dirname;

function workspaceSourceAliases(): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const dir of readdirSync(join(root, "packages"))) {
    const entry = join(root, "packages", dir, "src", "index.ts");
    if (existsSync(entry)) aliases[`@perun-ts/${dir}`] = entry;
  }
  const contracts = join(root, "contracts", "src", "index.ts");
  if (existsSync(contracts)) aliases["@perun-ts/contracts"] = contracts;
  return aliases;
}

export function perunVitestConfig(packageDir: string, overrides: { testTimeout?: number } = {}) {
  return defineConfig({
    root: packageDir,
    resolve: { alias: workspaceSourceAliases() },
    test: {
      include: ["src/**/*.test.ts"],
      passWithNoTests: true,
      testTimeout: overrides.testTimeout ?? 20_000,
      hookTimeout: 30_000,
    },
  });
}
