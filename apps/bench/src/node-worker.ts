// Entry point of a node process (forked by the orchestrator with "advanced" IPC serialization):
// builds a BenchNode on `init` and answers the orchestrator's commands.
import { BenchNode } from "./bench-node.js";
import type { CommandName, ParentMessage, WorkerCommands, WorkerMessage } from "./worker-protocol.js";

function send(msg: WorkerMessage): void {
  process.send?.(msg);
}

async function run(): Promise<void> {
  if (!process.send) throw new Error("node-worker must be started by the bench orchestrator (IPC)");
  let node: BenchNode | undefined;
  const need = (): BenchNode => {
    if (!node) throw new Error("node not initialised");
    return node;
  };
  const handlers: {
    [K in CommandName]: (args: WorkerCommands[K]["args"]) => Promise<WorkerCommands[K]["result"]>;
  } = {
    init: async (init) => {
      node = await BenchNode.start(init, (deposit) => send({ kind: "deposit", deposit }));
      return node.info();
    },
    connect: async ({ peerWire, port }) => {
      need().connect(peerWire, port);
      return null;
    },
    open: ({ peerWire, count, concurrency }) => need().open(peerWire, count, concurrency),
    openVirtual: ({ peerWire, parents, count }) => need().openVirtual(peerWire, parents, count),
    update: ({ channels, perChannel }) => need().update(channels, perChannel),
    cpu: async () => need().cpu(),
    waitChannels: async ({ count }) => {
      await need().waitChannels(count);
      return null;
    },
    heap: async () => need().heap(),
    stats: async () => need().stats(),
    restore: () => need().restore(),
    shutdown: async () => {
      await node?.shutdown();
      return null;
    },
  };
  process.on("message", (raw: ParentMessage) => {
    if (raw.kind === "deposit") {
      try {
        need().applyDeposit(raw.deposit);
      } catch (e) {
        process.stderr.write(`node: replaying a deposit failed: ${String(e)}\n`);
      }
      return;
    }
    const handler = handlers[raw.cmd] as (args: unknown) => Promise<unknown>;
    handler(raw.args).then(
      (result) => send({ kind: "reply", id: raw.id, ok: true, result }),
      (e: unknown) =>
        send({
          kind: "reply",
          id: raw.id,
          ok: false,
          error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
        }),
    );
  });
  process.on("disconnect", () => process.exit(0));
}

await run();
