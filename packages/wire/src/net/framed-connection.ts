import type { Socket } from "node:net";
import { AbortError, DecodeError, type Logger } from "@perun-ts/core";
import type { Envelope } from "../envelope.js";
import type { EnvelopeCodec } from "../envelope-codec.js";
import { PeerUnreachableError } from "../errors.js";
import type { FrameDecoder } from "../frame-decoder.js";

/** Handles one decoded envelope; a returned promise pauses reading until it settles. */
export type EnvelopeHandler = (envelope: Envelope) => void | Promise<void>;

interface Waiter {
  resolve(env: Envelope): void;
  reject(err: unknown): void;
}

/**
 * One socket carrying length-prefixed envelope frames. Reading is pull-based: frames are decoded
 * only when a handler is installed or `readEnvelope` waits, and a handler's promise pauses the
 * socket (back-pressure through TCP). Any decode error, oversized frame or truncated stream closes
 * this connection (and only it) with the typed error as `closeReason`.
 *
 * `end()` closes gracefully: this side stops sending but keeps reading until the peer ends too,
 * so nothing the peer already sent is lost (used by the simultaneous-dial tie-break).
 */
export class FramedConnection {
  readonly socket: Socket;
  /** A label for logs (peer address once known, else the remote socket address). */
  label: string;
  readonly #codec: EnvelopeCodec;
  readonly #frames: FrameDecoder;
  readonly #logger: Logger;
  readonly #closeListeners: ((reason: Error | undefined) => void)[] = [];
  readonly #closed: Promise<Error | undefined>;
  #handler: EnvelopeHandler | undefined;
  #waiter: Waiter | undefined;
  #pumping = false;
  /** A handler's promise is pending. */
  #blocked = false;
  #pausedForBuffer = false;
  #ending = false;
  #peerEnded = false;
  #isClosed = false;
  #closeReason: Error | undefined;

  constructor(socket: Socket, codec: EnvelopeCodec, logger: Logger, label: string) {
    this.socket = socket;
    this.label = label;
    this.#codec = codec;
    this.#frames = codec.newFrameDecoder();
    this.#logger = logger;
    this.#closed = new Promise<Error | undefined>((resolve) => {
      socket.once("close", () => {
        this.#isClosed = true;
        const reason = this.#closeReason;
        this.#waiter?.reject(reason ?? new PeerUnreachableError(this.label, "connection closed"));
        this.#waiter = undefined;
        for (const l of this.#closeListeners.splice(0)) l(reason);
        resolve(reason);
      });
    });
    socket.on("data", (chunk: Buffer) => {
      this.#frames.push(chunk);
      this.#pump();
    });
    socket.on("end", () => this.#onEnd());
    socket.on("error", (err) => this.#fail(err));
  }

  /** False once the socket is closed or ending. */
  get isOpen(): boolean {
    return !this.#isClosed && !this.#ending && !this.socket.destroyed;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Resolves when the socket closed, with the error that closed it (if any). */
  get closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  onClose(listener: (reason: Error | undefined) => void): void {
    if (this.#isClosed) listener(this.#closeReason);
    else this.#closeListeners.push(listener);
  }

  /** Installs the handler for all further envelopes (after the handshake). */
  setHandler(handler: EnvelopeHandler): void {
    this.#handler = handler;
    this.#pump();
  }

  /** The next envelope (during the handshake); rejects when the connection closes or `signal` aborts. */
  readEnvelope(signal: AbortSignal): Promise<Envelope> {
    if (this.#isClosed) {
      return Promise.reject(this.#closeReason ?? new PeerUnreachableError(this.label, "connection closed"));
    }
    if (signal.aborted) return Promise.reject(new AbortError(signal.reason));
    return new Promise<Envelope>((resolve, reject) => {
      const onAbort = () => {
        this.#waiter = undefined;
        reject(new AbortError(signal.reason));
      };
      this.#waiter = {
        resolve: (e) => {
          signal.removeEventListener("abort", onAbort);
          resolve(e);
        },
        reject: (err) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#pump();
    });
  }

  /** True if a write would have to wait for the socket buffer to drain first. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /**
   * Writes one complete frame with one socket write. Throws if the connection is not open.
   * Callers check `needsDrain` first and await `drained(signal)` if needed (back-pressure).
   */
  write(frame: Uint8Array): void {
    if (!this.isOpen) throw new PeerUnreachableError(this.label, "connection closed");
    this.socket.write(frame);
  }

  /** Resolves when the socket can take more data; rejects if it closes or `signal` aborts. */
  drained(signal: AbortSignal): Promise<void> {
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        this.socket.off("drain", onDrain);
        this.socket.off("close", onClose);
        signal.removeEventListener("abort", onAbort);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(new PeerUnreachableError(this.label, "connection closed"));
      };
      const onAbort = () => {
        cleanup();
        reject(new AbortError(signal.reason));
      };
      this.socket.on("drain", onDrain);
      this.socket.on("close", onClose);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Graceful close: stop sending, keep reading until the peer ends as well. */
  end(): void {
    if (this.#ending || this.#isClosed) return;
    this.#ending = true;
    this.socket.end();
  }

  /** Closes at once; `reason` becomes the close reason. */
  destroy(reason?: Error): void {
    if (reason && !this.#closeReason) this.#closeReason = reason;
    this.#ending = true;
    this.socket.destroy();
  }

  #fail(err: Error): void {
    if (!this.#closeReason) this.#closeReason = err;
    this.#logger.warn("connection closed on error", { peer: this.label, error: String(err) });
    this.destroy();
  }

  #onEnd(): void {
    this.#peerEnded = true;
    this.#pump();
  }

  /** Called when no complete frame is left: a peer that ended mid-frame broke the stream. */
  #afterDrain(): void {
    if (!this.#peerEnded) return;
    if (this.#frames.buffered > 0) {
      this.#fail(new DecodeError(`stream ended inside a frame (${this.#frames.buffered} bytes pending)`));
      return;
    }
    // The peer finished sending; finish our side too (the socket closes once both ended).
    this.end();
  }

  #pump(): void {
    if (this.#pumping || this.#isClosed) return;
    this.#pumping = true;
    try {
      while (!this.#blocked && !this.socket.destroyed) {
        const handler = this.#handler;
        if (handler === undefined && this.#waiter === undefined) {
          // The peer is done and nothing is pending: finish our side too.
          if (this.#peerEnded && this.#frames.buffered === 0) this.end();
          // Nobody reads yet: keep at most about one maximal frame buffered.
          if (this.#frames.buffered > this.#codec.maxFrameSize && !this.#pausedForBuffer) {
            this.#pausedForBuffer = true;
            this.socket.pause();
          }
          return;
        }
        if (this.#pausedForBuffer) {
          this.#pausedForBuffer = false;
          this.socket.resume();
        }
        const body = this.#frames.next();
        if (body === undefined) {
          this.#afterDrain();
          return;
        }
        const env = this.#codec.decodeBody(body);
        if (handler === undefined) {
          const w = this.#waiter as Waiter;
          this.#waiter = undefined;
          w.resolve(env);
          continue;
        }
        const r = handler(env);
        if (r !== undefined) {
          this.#blocked = true;
          this.socket.pause();
          r.then(
            () => this.#unblock(),
            (err: unknown) => {
              this.#logger.warn("envelope handler failed", { peer: this.label, error: String(err) });
              this.#unblock();
            },
          );
        }
      }
    } catch (err) {
      this.#fail(err instanceof Error ? err : new DecodeError(String(err)));
    } finally {
      this.#pumping = false;
    }
  }

  #unblock(): void {
    this.#blocked = false;
    if (this.#isClosed) return;
    this.socket.resume();
    this.#pump();
  }
}
