import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { SimAccount } from "@perun-ts/backend-sim";
import { toHex } from "@perun-ts/core";
import { runDemo } from "../demo/run-demo.js";
import { errorLine, UsageError } from "../errors.js";
import { formatEth, parseEth } from "../eth-amount.js";
import { startSimLedger } from "../ledger-rpc/start-ledger.js";
import { COMMAND_HELP } from "../node/command.js";
import { sendControlCommand } from "../node/control-socket.js";
import { runNode } from "../node/run-node.js";
import { formatHostPort, parseHostPort } from "./host-port.js";
import { parsePeerFlag, type RawNodeConfig, readConfigFile, validateNodeConfig } from "./node-config.js";

export const USAGE = `perun — a payment-channel node and demo (perun-ts)

usage:
  perun [demo] [--backend eth|sim] [--payments N]  run the scripted demo (default; eth = local anvil)
  perun node [--config FILE] [flags]               start a node with an interactive prompt
  perun <command> [args] (--config FILE | --data-dir DIR)
                                                   send one command to a running node
  perun ledger [--listen HOST:PORT] [--initial-balance ETH]
                                                   run a sim ledger for nodes started by hand
  perun keygen                                     print a new key and its address

node flags (override the config file):
  --name NAME  --key 0xKEY  --listen HOST:PORT  --backend sim|eth  --ledger HOST:PORT
  --rpc-url URL  --adjudicator 0xADDR  --asset-holder 0xADDR  --data-dir DIR
  --challenge-duration SECONDS  --peer NAME=0xADDRESS@HOST:PORT (repeatable)  --json

commands:
${COMMAND_HELP.map((l) => `  ${l}`).join("\n")}`;

const NODE_OPTIONS = {
  config: { type: "string" },
  name: { type: "string" },
  key: { type: "string" },
  listen: { type: "string" },
  backend: { type: "string" },
  ledger: { type: "string" },
  "rpc-url": { type: "string" },
  adjudicator: { type: "string" },
  "asset-holder": { type: "string" },
  "data-dir": { type: "string" },
  "challenge-duration": { type: "string" },
  peer: { type: "string", multiple: true },
  json: { type: "boolean" },
} as const;

type NodeFlags = {
  [K in keyof typeof NODE_OPTIONS]?: (typeof NODE_OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof NODE_OPTIONS)[K] extends { type: "boolean" }
      ? boolean
      : string;
};

const ONE_SHOT = new Set(["open", "pay", "balance", "channels", "close", "dispute", "cheat", "exit", "help"]);

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

function parse<T extends OptionsConfig>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message.split("\n")[0] : String(e)} (see perun --help)`);
  }
}

/** Merges the config file (if any) and the flags into a validated node config. */
export function nodeConfigFrom(flags: NodeFlags): ReturnType<typeof validateNodeConfig> {
  const file = flags.config ? readConfigFile(flags.config) : undefined;
  const raw: RawNodeConfig = { ...(file?.raw ?? {}) };
  const set = (k: keyof RawNodeConfig, v: unknown) => {
    if (v !== undefined) raw[k] = v;
  };
  set("name", flags.name);
  set("key", flags.key);
  set("listen", flags.listen);
  set("backend", flags.backend);
  set("ledger", flags.ledger);
  set("rpcUrl", flags["rpc-url"]);
  set("adjudicator", flags.adjudicator);
  set("assetHolder", flags["asset-holder"]);
  set("dataDir", flags["data-dir"]);
  set("challengeDuration", flags["challenge-duration"]);
  const base = file?.baseDir ?? process.cwd();
  const cfg = validateNodeConfig(raw, base);
  if (!flags.peer?.length) return cfg;
  const extra = flags.peer.map(parsePeerFlag);
  const names = new Set(extra.map((p) => p.name));
  return validateNodeConfig(
    {
      ...raw,
      peers: [
        ...cfg.peers.filter((p) => !names.has(p.name)),
        ...extra.map((p) => ({ name: p.name, address: p.address, at: formatHostPort(p.at) })),
      ],
    },
    base,
  );
}

/** The data directory a one-shot command addresses: from --data-dir, or the config file's. */
function dataDirFrom(flags: NodeFlags): string {
  if (!flags.config && !flags["data-dir"]) {
    throw new UsageError("which node? give --config FILE or --data-dir DIR of a running node");
  }
  if (flags["data-dir"]) return resolve(flags["data-dir"]);
  return nodeConfigFrom(flags).dataDir;
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  try {
    const [first] = argv;
    if (first === "--help" || first === "-h" || first === "help") {
      out(USAGE);
      return 0;
    }
    if (first === undefined || first === "demo" || first.startsWith("--")) {
      const { values } = parse(first === "demo" ? argv.slice(1) : argv, {
        backend: { type: "string" },
        payments: { type: "string" },
      });
      const backend = values.backend ?? "eth";
      if (backend !== "sim" && backend !== "eth") {
        throw new UsageError(`--backend must be sim or eth, got "${backend}"`);
      }
      const paymentsText = values.payments ?? "1000";
      if (!/^\d{1,7}$/.test(paymentsText) || Number(paymentsText) < 1) {
        throw new UsageError(`--payments "${paymentsText}" must be a whole number ≥ 1`);
      }
      const script = fileURLToPath(new URL("../main.js", import.meta.url));
      try {
        await runDemo({
          backend,
          payments: Number(paymentsText),
          script,
          out: process.stdout,
          tty: process.stdout.isTTY === true,
        });
      } catch (e) {
        process.stderr.write(`\ndemo failed: ${errorLine(e)}\n`);
        return 1;
      }
      return 0;
    }
    if (first === "node") {
      const { values, positionals } = parse(argv.slice(1), NODE_OPTIONS);
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const cfg = nodeConfigFrom(values as NodeFlags);
      const json = values.json === true;
      // SIGTERM (and SIGINT without a terminal) stops the node like `exit`: its database is closed
      // cleanly and the channels are restored at the next start.
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
      try {
        return await runNode(cfg, {
          input: process.stdin,
          output: process.stdout,
          tty: process.stdin.isTTY === true && !json,
          json,
          stop: stop.signal,
        });
      } finally {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
    }
    if (first === "ledger") {
      const { values } = parse(argv.slice(1), {
        listen: { type: "string" },
        "initial-balance": { type: "string" },
      });
      const at = parseHostPort(values.listen ?? "127.0.0.1:6000", "--listen");
      const initialBalance = parseEth(values["initial-balance"] ?? "100", "--initial-balance");
      const running = await startSimLedger({ host: at.host, port: at.port, initialBalance });
      out(
        `sim ledger listening on ${at.host}:${running.port} (real time; every address starts with ${formatEth(initialBalance)}); Ctrl+C stops it`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await running.close();
      return 0;
    }
    if (first === "keygen") {
      const key = crypto.getRandomValues(new Uint8Array(32));
      const account = SimAccount.fromSecretKey(key);
      out(`key     0x${toHex(key)}\naddress ${account.address.toString()}`);
      return 0;
    }
    if (ONE_SHOT.has(first)) {
      const { values, positionals } = parse(argv, NODE_OPTIONS);
      const dataDir = dataDirFrom(values as NodeFlags);
      const ok = await sendControlCommand(dataDir, positionals.join(" "), out);
      return ok ? 0 : 1;
    }
    throw new UsageError(`unknown command "${first}" (see perun --help)`);
  } catch (e) {
    process.stderr.write(`perun: ${errorLine(e)}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
