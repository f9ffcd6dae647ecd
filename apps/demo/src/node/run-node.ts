import { mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { NodeConfig } from "../cli/node-config.js";
import { errorLine, UsageError } from "../errors.js";
import { type Command, parseCommand } from "./command.js";
import { serveControlSocket } from "./control-socket.js";
import { connectEthChain } from "./eth-chain.js";
import type { NodeChain } from "./node-chain.js";
import { PerunNode } from "./perun-node.js";
import { Presenter } from "./presenter.js";
import { connectSimChain } from "./sim-chain.js";

/** Where a node reads commands and writes what happens. */
export interface NodeIo {
  readonly input: Readable;
  readonly output: Writable;
  /** Interactive terminal: show a prompt and redraw progress bars in place. */
  readonly tty: boolean;
  /** JSON lines instead of text (for scripts and the demo). */
  readonly json: boolean;
  /** Aborted to stop the node gracefully (SIGTERM): like `exit`, channels stay in the database. */
  readonly stop?: AbortSignal;
}

async function connectChain(cfg: NodeConfig): Promise<NodeChain> {
  if (cfg.backend === "sim") {
    if (!cfg.ledger) throw new UsageError("backend sim needs --ledger host:port");
    return connectSimChain(cfg.key, cfg.ledger);
  }
  if (!cfg.rpcUrl || !cfg.adjudicator || !cfg.assetHolder) {
    throw new UsageError("backend eth needs --rpc-url, --adjudicator and --asset-holder");
  }
  return connectEthChain({
    key: cfg.key,
    rpcUrl: cfg.rpcUrl,
    adjudicator: cfg.adjudicator,
    assetHolder: cfg.assetHolder,
  });
}

/**
 * Runs a node until `exit` (or end of input): starts it, serves one-shot commands on its control
 * socket, and reads commands from `io.input`. Resolves with the process exit code.
 */
export async function runNode(cfg: NodeConfig, io: NodeIo): Promise<number> {
  const presenter = new Presenter(io.output, { json: io.json, tty: io.tty && !io.json });
  mkdirSync(cfg.dataDir, { recursive: true });
  const chain = await connectChain(cfg);
  let node: PerunNode;
  try {
    node = await PerunNode.start({ config: cfg, chain, emit: (e) => presenter.show(e) });
  } catch (e) {
    await chain.close();
    throw e;
  }
  let exitRequested: (() => void) | undefined;
  const exited = new Promise<void>((resolve) => {
    exitRequested = resolve;
  });
  const onStop = () => exitRequested?.();
  if (io.stop?.aborted) onStop();
  io.stop?.addEventListener("abort", onStop, { once: true });
  // Commands from the prompt and from the control socket run one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const run = (cmd: Command, progress: (e: Parameters<typeof presenter.show>[0]) => void) => {
    const p = queue.then(() => node.execute(cmd, progress));
    queue = p.catch(() => {});
    if (cmd.kind === "exit")
      p.then(
        () => exitRequested?.(),
        () => exitRequested?.(),
      );
    return p;
  };
  let control: { close(): Promise<void> } | undefined;
  try {
    control = await serveControlSocket(cfg.dataDir, node.peerNames, run);
  } catch (e) {
    await node.close();
    throw e;
  }

  const rl = createInterface({
    input: io.input,
    ...(io.tty ? { output: io.output, terminal: true } : {}),
  });
  rl.on("SIGINT", () => rl.close());
  if (io.tty) {
    rl.setPrompt(`${cfg.name}> `);
    rl.prompt();
  }
  const reader = (async () => {
    for await (const line of rl) {
      let cmd: Command | undefined;
      try {
        cmd = parseCommand(line, node.peerNames);
      } catch (e) {
        presenter.show({ type: "result", command: "?", ok: false, message: errorLine(e) });
      }
      if (cmd) {
        presenter.show(await run(cmd, (e) => presenter.show(e)));
        if (cmd.kind === "exit") break;
      }
      if (io.tty) rl.prompt();
    }
  })();
  await Promise.race([reader, exited]);
  io.stop?.removeEventListener("abort", onStop);
  rl.close();
  await reader.catch(() => {});
  await control.close();
  await node.close();
  return 0;
}
