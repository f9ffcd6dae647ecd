import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Row } from "./row.js";

/** Where the contracts package keeps its committed gas report. */
export const GAS_REPORT = join(import.meta.dirname, "..", "..", "..", "contracts", "gas-report.json");

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function signedPercent(x: number): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(1)} %`;
}

/**
 * `gas`: the contracts' gas report (measured on anvil by the contracts package) next to the
 * original Perun contracts' figures. Throws with a reason if the report is missing or malformed.
 */
export async function gasBench(path = GAS_REPORT): Promise<Row[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new Error(`cannot read the gas report ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isRecord(parsed) || !isRecord(parsed.operations)) {
    throw new Error(`gas report ${path} has no "operations" object`);
  }
  const rows: Row[] = [];
  for (const [op, entry] of Object.entries(parsed.operations)) {
    if (!isRecord(entry) || typeof entry.gas !== "number") {
      throw new Error(`gas report ${path}: operation "${op}" has no numeric "gas"`);
    }
    const original = typeof entry.original === "number" ? entry.original : undefined;
    rows.push({
      benchmark: "gas",
      metric: op,
      value: entry.gas,
      unit: "gas",
      ...(original === undefined
        ? { note: "no original figure" }
        : {
            note: `original ${original.toLocaleString("en-US")} (${signedPercent(entry.gas / original - 1)})`,
          }),
    });
  }
  return rows;
}
