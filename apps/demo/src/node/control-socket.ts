import { existsSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { errorLine, UsageError } from "../errors.js";
import { isRecord, readJsonLines, writeJsonLine } from "../ledger-rpc/json-lines.js";
import { type Command, parseCommand } from "./command.js";
import { describeEvent, type NodeEvent } from "./node-event.js";

/** Where a running node accepts one-shot commands: a Unix socket in its data directory. */
export function controlSocketPath(dataDir: string): string {
  return join(dataDir, "perun.sock");
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/**
 * Serves one-shot commands (`perun pay bob 1 --data-dir …`): each connection sends a command line
 * as `{line}`, gets its progress and result as readable lines (`{text, ok?}`) and is closed.
 *
 * @throws UsageError if another node already serves this data directory.
 */
export async function serveControlSocket(
  dataDir: string,
  peers: readonly string[],
  run: (cmd: Command, progress: (e: NodeEvent) => void) => Promise<NodeEvent>,
): Promise<{ close(): Promise<void> }> {
  const path = controlSocketPath(dataDir);
  if (existsSync(path)) {
    if (await canConnect(path))
      throw new UsageError(`a node is already running with data directory ${dataDir}`);
    unlinkSync(path); // left behind by a node that crashed
  }
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let busy = false;
    readJsonLines(
      socket,
      (v) => {
        if (busy || !isRecord(v) || typeof v.line !== "string") {
          socket.destroy();
          return;
        }
        busy = true;
        const send = (e: NodeEvent) =>
          writeJsonLine(socket, {
            text: e.type === "progress" ? `paid ${e.done}/${e.total}` : describeEvent(e),
            ...(e.type === "result" ? { ok: e.ok } : {}),
          });
        let cmd: Command | undefined;
        try {
          cmd = parseCommand(v.line, peers);
        } catch (e) {
          send({ type: "result", command: "?", ok: false, message: errorLine(e) });
          socket.end();
          return;
        }
        if (!cmd) {
          send({ type: "result", command: "", ok: false, message: "empty command" });
          socket.end();
          return;
        }
        run(cmd, send).then(
          (result) => {
            send(result);
            socket.end();
          },
          (e: unknown) => {
            send({ type: "result", command: cmd.kind, ok: false, message: errorLine(e) });
            socket.end();
          },
        );
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Sends one command line to the node serving `dataDir`, printing its events as text. Resolves
 * with true if the command succeeded.
 *
 * @throws UsageError if no node is running there.
 */
export function sendControlCommand(
  dataDir: string,
  line: string,
  print: (s: string) => void,
): Promise<boolean> {
  const path = controlSocketPath(dataDir);
  return new Promise((resolve, reject) => {
    let ok: boolean | undefined;
    const socket = connect(path, () => writeJsonLine(socket, { line }));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      if (ok !== undefined) return;
      reject(
        e.code === "ENOENT" || e.code === "ECONNREFUSED"
          ? new UsageError(`no node is running with data directory ${dataDir} (start one: perun node …)`)
          : e,
      );
    });
    readJsonLines(
      socket,
      (v) => {
        if (!isRecord(v) || typeof v.text !== "string") return;
        if (typeof v.ok === "boolean") ok = v.ok;
        print(v.text);
      },
      () => socket.destroy(),
    );
    socket.on("close", () => {
      if (ok === undefined) reject(new UsageError("the node closed the connection without an answer"));
      else resolve(ok);
    });
  });
}
