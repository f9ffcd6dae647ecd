import { execFileSync } from "node:child_process";
import { availableParallelism, cpus, loadavg, type as osType, release, totalmem } from "node:os";
import type { Row } from "./row.js";

/** The machine a run was measured on. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly availableParallelism: number;
  readonly totalMemoryGiB: number;
  readonly os: string;
  readonly arch: string;
  /** 1/5/15-minute load averages when the run started (other processes share the cores). */
  readonly loadAverageAtStart: readonly number[];
}

/** The 1/5/15-minute load averages now, rounded. */
export function loadAverage(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? "unknown",
    cpus: list.length,
    availableParallelism: availableParallelism(),
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    arch: process.arch,
    loadAverageAtStart: loadAverage(),
  };
}

/** The checked-out commit and whether tracked files differ from it; null outside a git checkout. */
export function gitCommit(cwd: string): { readonly sha: string; readonly dirty: boolean } | null {
  try {
    const sha = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return { sha, dirty: status.trim().length > 0 };
  } catch {
    return null;
  }
}

/** A number for the table: thousands separators for large values, 2–3 significant digits for small. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs >= 100) return Math.round(x).toLocaleString("en-US");
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

function cells(r: Row): string[] {
  return [
    r.benchmark,
    r.metric,
    r.value === null ? "—" : `${formatNumber(r.value)} ${r.unit}`,
    r.floor === undefined ? "" : `${formatNumber(r.floor)} ${r.unit}`,
    r.ratio === undefined ? "" : `${(r.ratio * 100).toFixed(0)} %`,
    r.target ?? "",
    r.note ?? "",
  ];
}

const HEADER = ["benchmark", "metric", "value", "floor/ceiling", "ratio", "target", "notes"];

/** The rows as an aligned plain-text table. */
export function textTable(rows: readonly Row[]): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === 2 || i === 3 || i === 4 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(HEADER), line(widths.map((w) => "-".repeat(w))), ...table.slice(1).map(line)].join("\n");
}

/** The rows as a Markdown table (for the README). */
export function markdownTable(rows: readonly Row[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  return [
    `| ${HEADER.join(" | ")} |`,
    `|${HEADER.map((_, i) => (i >= 2 && i <= 4 ? "---:" : "---")).join("|")}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(" | ")} |`),
  ].join("\n");
}
