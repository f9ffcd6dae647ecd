import { connect, createServer, type Server, type Socket } from "node:net";
import {
  AbortError,
  type Address,
  addressKey,
  type Logger,
  PerunError,
  silentLogger,
  ValidationError,
} from "@perun-ts/core";
import { type Bus, type Consumer, type PublishOptions, putTo, type Unsubscribe } from "../bus.js";
import type { Envelope } from "../envelope.js";
import type { EnvelopeCodec } from "../envelope-codec.js";
import { AuthenticationError, BusClosedError, PeerUnreachableError } from "../errors.js";
import { MessageType, messageTypeName } from "../messages.js";
import { FramedConnection } from "./framed-connection.js";
import { dialerHandshake, listenerHandshake } from "./handshake.js";
import { AddressBook, type NetAddress, netAddressToString } from "./net-address.js";
import type { SignatureVerifier, WireIdentity } from "./wire-identity.js";

/** Options of {@link NetBus}. */
export interface NetBusOptions {
  /** The key this bus authenticates with; its address is the bus's wire address. */
  readonly identity: WireIdentity;
  /** Verifies peers' handshake signatures (e.g. `(a, d, s) => simBackend.verifyData(a, d, s)`). */
  readonly verifySignature: SignatureVerifier;
  /** The envelope codec (backend, apps, application message types, maximum frame size). */
  readonly codec: EnvelopeCodec;
  /** Where peers listen; consulted on every dial. Default: an empty book. */
  readonly addressBook?: AddressBook;
  /** Attempts per publish (dial + write); default 3. Authentication failures are not retried. */
  readonly publishAttempts?: number;
  /** Wait before the second attempt, doubled for each further one; default 100 ms. */
  readonly retryDelayMs?: number;
  /** Time allowed for a TCP/Unix connect; default 5 s. */
  readonly dialTimeoutMs?: number;
  /** Time allowed for the handshake on either side; default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** Accepted connections still in their handshake beyond which new ones are dropped; default 128. */
  readonly maxPendingHandshakes?: number;
  readonly logger?: Logger;
}

/** An authenticated connection to one peer. */
interface Endpoint {
  readonly peer: Address;
  readonly conn: FramedConnection;
  readonly dialedByUs: boolean;
}

/** A connection as reported by {@link NetBus.connections}. */
export interface ConnectionInfo {
  readonly peer: Address;
  /** True if this bus dialed it, false if it was accepted. */
  readonly dialedByUs: boolean;
}

interface Subscription {
  readonly consumer: Consumer;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(new AbortError(signal.reason));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError(signal.reason));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Waits for `p`, but gives up when `signal` aborts (`p` keeps running). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** A signal that aborts after `ms` or with `parent`; `dispose` clears the timer. */
function timeoutSignal(
  parent: AbortSignal,
  ms: number,
  what: string,
): { signal: AbortSignal; dispose(): void } {
  const ctl = new AbortController();
  const onParent = () => ctl.abort(parent.reason);
  if (parent.aborted) ctl.abort(parent.reason);
  else parent.addEventListener("abort", onParent, { once: true });
  const timer = setTimeout(() => ctl.abort(new PerunError(`${what} timed out after ${ms} ms`)), ms);
  return {
    signal: ctl.signal,
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener("abort", onParent);
    },
  };
}

/**
 * A bus over TCP and Unix sockets (spec §5.6) with an authenticated handshake (see handshake.ts):
 * a peer must prove control of the wire address it claims, and every envelope it sends later must
 * carry that address as sender and ours as recipient, or its connection is dropped.
 *
 * - `publish` dials on demand through the address book (concurrent publishes to one peer share a
 *   dial), writes each frame with one socket write and resolves once it is written; it waits for a
 *   full socket buffer to drain first (back-pressure). A failed attempt is retried with doubling
 *   delays, bounded by `publishAttempts` and the caller's signal; a dropped connection is re-dialed
 *   on the next publish.
 * - One connection per peer pair: if both sides dial at once, the connection dialed by the party
 *   with the greater address survives on both sides (spec §5.6); the loser is closed gracefully, so
 *   envelopes already sent on it are still delivered.
 * - Incoming envelopes go to the subscriber of our address. Until someone subscribes they wait,
 *   and the connection stops reading meanwhile (back-pressure, nothing is dropped); a consumer's
 *   promise pauses its connection the same way.
 * - A malformed, oversized or truncated frame, a spoofed sender or a protocol violation closes only
 *   that connection. `close()` ends listeners, sockets and timers and rejects pending publishes
 *   with `BusClosedError`.
 * - `onPeerConnected` reports every new authenticated connection (e.g. to resync after a drop).
 */
export class NetBus implements Bus {
  readonly #identity: WireIdentity;
  readonly #verify: SignatureVerifier;
  readonly #codec: EnvelopeCodec;
  readonly #book: AddressBook;
  readonly #attempts: number;
  readonly #retryDelayMs: number;
  readonly #dialTimeoutMs: number;
  readonly #handshakeTimeoutMs: number;
  readonly #maxPendingHandshakes: number;
  readonly #logger: Logger;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #dials = new Map<string, Promise<Endpoint>>();
  readonly #sockets = new Set<Socket>();
  readonly #servers = new Set<Server>();
  readonly #closing = new AbortController();
  #pendingHandshakes = 0;
  #subscription: Subscription | undefined;
  readonly #connectListeners = new Set<(peer: Address) => void>();
  /** Deliveries waiting for a subscriber. */
  #waitingForSubscriber: (() => void)[] = [];
  #closed = false;
  #closePromise: Promise<void> | undefined;

  constructor(opts: NetBusOptions) {
    this.#identity = opts.identity;
    this.#verify = opts.verifySignature;
    this.#codec = opts.codec;
    this.#book = opts.addressBook ?? new AddressBook();
    this.#attempts = opts.publishAttempts ?? 3;
    this.#retryDelayMs = opts.retryDelayMs ?? 100;
    this.#dialTimeoutMs = opts.dialTimeoutMs ?? 5_000;
    this.#handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
    this.#maxPendingHandshakes = opts.maxPendingHandshakes ?? 128;
    this.#logger = (opts.logger ?? silentLogger).child({ wire: this.#identity.address.toString() });
    if (!Number.isInteger(this.#attempts) || this.#attempts < 1)
      throw new RangeError("publishAttempts must be ≥ 1");
  }

  /** This bus's wire address. */
  get address(): Address {
    return this.#identity.address;
  }

  /** The address book used for dialing. */
  get addressBook(): AddressBook {
    return this.#book;
  }

  /**
   * Accepts connections on a TCP port (`{host, port}`, port 0 picks a free one) or a Unix socket
   * path. Resolves with the address actually bound. May be called several times.
   */
  listen(at: NetAddress): Promise<NetAddress> {
    if (this.#closed) return Promise.reject(new BusClosedError());
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#onAccept(socket));
    this.#servers.add(server);
    return new Promise<NetAddress>((resolve, reject) => {
      const onError = (err: Error) => {
        this.#servers.delete(server);
        reject(err);
      };
      server.once("error", onError);
      const onListening = () => {
        server.off("error", onError);
        server.on("error", (err) => this.#logger.error("listener error", { error: err.message }));
        if ("path" in at) {
          resolve({ path: at.path });
          return;
        }
        const a = server.address();
        resolve(typeof a === "object" && a !== null ? { host: at.host, port: a.port } : at);
      };
      if ("path" in at) server.listen(at.path, onListening);
      else server.listen(at.port, at.host, onListening);
    });
  }

  subscribe(address: Address, consumer: Consumer): Unsubscribe {
    if (this.#closed) throw new BusClosedError();
    if (!address.equals(this.#identity.address)) {
      throw new ValidationError(`a NetBus serves only its own address ${this.#identity.address.toString()}`);
    }
    if (this.#subscription)
      throw new ValidationError(`address ${address.toString()} already has a subscriber`);
    const sub: Subscription = { consumer };
    this.#subscription = sub;
    for (const wake of this.#waitingForSubscriber.splice(0)) wake();
    return () => {
      if (this.#subscription === sub) this.#subscription = undefined;
    };
  }

  async publish(envelope: Envelope, opts: PublishOptions = {}): Promise<void> {
    if (this.#closed) throw new BusClosedError();
    const userSignal = opts.signal;
    if (userSignal?.aborted) throw new AbortError(userSignal.reason);
    if (!envelope.sender.equals(this.#identity.address)) {
      throw new ValidationError("envelope sender must be this bus's own address");
    }
    const peer = envelope.recipient;
    if (peer.equals(this.#identity.address)) throw new ValidationError("cannot publish to our own address");
    const frame = this.#codec.encode(envelope);
    const key = addressKey(peer);

    // Hot path: an open connection with room in its socket buffer.
    const ep = this.#endpoints.get(key);
    if (ep?.conn.isOpen && !ep.conn.needsDrain) {
      ep.conn.write(frame);
      return;
    }

    const signal = userSignal ? AbortSignal.any([userSignal, this.#closing.signal]) : this.#closing.signal;
    let last: unknown;
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      try {
        if (attempt > 0) await sleep(this.#retryDelayMs * 2 ** (attempt - 1), signal);
        const endpoint = await this.#endpoint(peer, key, signal);
        await endpoint.conn.drained(signal);
        endpoint.conn.write(frame);
        return;
      } catch (err) {
        if (this.#closed) throw new BusClosedError();
        if (signal.aborted) throw err instanceof AbortError ? err : new AbortError(userSignal?.reason);
        if (err instanceof AuthenticationError || err instanceof ValidationError) throw err;
        last = err;
        this.#logger.debug("publish attempt failed", { peer: peer.toString(), attempt, error: String(err) });
      }
    }
    if (last instanceof PeerUnreachableError) throw last;
    throw new PeerUnreachableError(peer.toString(), `${this.#attempts} attempts failed`, { cause: last });
  }

  /**
   * Calls `listener` with the peer's address whenever a new authenticated connection to a peer
   * becomes the one in use (dialed or accepted), i.e. after the handshake and the simultaneous-dial
   * tie-break: once per (re)connection, not for the loser of a tie-break nor for a winner that
   * replaces a connection still open. Lets a client resynchronise with a peer that came back. A
   * listener that throws (or whose promise rejects) is logged and does not affect the bus.
   * Optional capability: not part of {@link Bus}. Returns an unsubscribe.
   */
  onPeerConnected(listener: (peer: Address) => void): () => void {
    this.#connectListeners.add(listener);
    return () => {
      this.#connectListeners.delete(listener);
    };
  }

  /** The authenticated connections (one per peer). */
  connections(): ConnectionInfo[] {
    return [...this.#endpoints.values()]
      .filter((e) => e.conn.isOpen)
      .map((e) => ({ peer: e.peer, dialedByUs: e.dialedByUs }));
  }

  /** Open sockets, including ones still in their handshake or closing gracefully. */
  get socketCount(): number {
    return this.#sockets.size;
  }

  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort(new BusClosedError());
    this.#subscription = undefined;
    for (const wake of this.#waitingForSubscriber.splice(0)) wake();
    const serversClosed = [...this.#servers].map(
      (s) => new Promise<void>((resolve) => s.close(() => resolve())),
    );
    const socketsClosed = [...this.#sockets].map(
      (s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once("close", () => resolve()))),
    );
    for (const s of this.#sockets) s.destroy();
    this.#endpoints.clear();
    await Promise.all([...serversClosed, ...socketsClosed]);
    this.#servers.clear();
  }

  // ----------------------------------------------------------------------------------------------
  // connections

  #track(socket: Socket, label: string): FramedConnection {
    socket.setNoDelay(true);
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    return new FramedConnection(socket, this.#codec, this.#logger, label);
  }

  #endpoint(peer: Address, key: string, signal: AbortSignal): Promise<Endpoint> {
    const existing = this.#endpoints.get(key);
    if (existing?.conn.isOpen) return Promise.resolve(existing);
    let dial = this.#dials.get(key);
    if (dial === undefined) {
      dial = this.#dial(peer).finally(() => this.#dials.delete(key));
      // A dial nobody waits for any more (all callers aborted) must not become an unhandled rejection.
      dial.catch(() => {});
      this.#dials.set(key, dial);
    }
    return abortable(dial, signal);
  }

  async #dial(peer: Address): Promise<Endpoint> {
    const at = this.#book.get(peer);
    if (at === undefined) throw new PeerUnreachableError(peer.toString(), "not in the address book");
    const socket = await this.#connect(at, peer);
    const conn = this.#track(socket, peer.toString());
    const t = timeoutSignal(this.#closing.signal, this.#handshakeTimeoutMs, "handshake");
    try {
      await dialerHandshake(
        { conn, codec: this.#codec, identity: this.#identity, verify: this.#verify, signal: t.signal },
        peer,
      );
    } catch (err) {
      conn.destroy(err instanceof Error ? err : undefined);
      if (this.#closed) throw new BusClosedError();
      throw err;
    } finally {
      t.dispose();
    }
    if (this.#closed) {
      conn.destroy();
      throw new BusClosedError();
    }
    return this.#addEndpoint(peer, conn, true);
  }

  #connect(at: NetAddress, peer: Address): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const t = timeoutSignal(this.#closing.signal, this.#dialTimeoutMs, "dial");
      const socket =
        "path" in at
          ? connect({ path: at.path, allowHalfOpen: true })
          : connect({ host: at.host, port: at.port, allowHalfOpen: true, noDelay: true });
      const cleanup = () => {
        t.dispose();
        t.signal.removeEventListener("abort", onAbort);
        socket.off("connect", onConnect);
        socket.off("error", onError);
      };
      const onConnect = () => {
        cleanup();
        resolve(socket);
      };
      const onError = (err: Error) => {
        cleanup();
        socket.destroy();
        reject(
          new PeerUnreachableError(
            peer.toString(),
            `cannot connect to ${netAddressToString(at)}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      const onAbort = () => {
        cleanup();
        socket.destroy();
        reject(
          this.#closed
            ? new BusClosedError()
            : new PeerUnreachableError(peer.toString(), `connect to ${netAddressToString(at)} timed out`),
        );
      };
      socket.once("connect", onConnect);
      socket.once("error", onError);
      t.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #onAccept(socket: Socket): void {
    if (this.#closed || this.#pendingHandshakes >= this.#maxPendingHandshakes) {
      socket.destroy();
      return;
    }
    const conn = this.#track(socket, `${socket.remoteAddress ?? "unix"}:${socket.remotePort ?? ""}`);
    this.#pendingHandshakes++;
    void this.#acceptHandshake(conn).finally(() => {
      this.#pendingHandshakes--;
    });
  }

  /** Runs the listener handshake; never rejects (failures close the connection and are logged). */
  async #acceptHandshake(conn: FramedConnection): Promise<void> {
    const t = timeoutSignal(this.#closing.signal, this.#handshakeTimeoutMs, "handshake");
    try {
      const peer = await listenerHandshake({
        conn,
        codec: this.#codec,
        identity: this.#identity,
        verify: this.#verify,
        signal: t.signal,
      });
      if (this.#closed) {
        conn.destroy();
        return;
      }
      conn.label = peer.toString();
      this.#addEndpoint(peer, conn, false);
    } catch (err) {
      this.#logger.warn("inbound handshake failed", { remote: conn.label, error: String(err) });
      if (err instanceof AuthenticationError && conn.isOpen) {
        // Let the Shutdown frame with the reason leave, then make sure the socket goes away.
        conn.end();
        const timer = setTimeout(() => conn.destroy(err), 1_000);
        conn.onClose(() => clearTimeout(timer));
      } else {
        conn.destroy(err instanceof Error ? err : undefined);
      }
    } finally {
      t.dispose();
    }
  }

  /**
   * Registers an authenticated connection and applies the simultaneous-dial tie-break. Returns the
   * endpoint that is to be used for sending to `peer`.
   */
  #addEndpoint(peer: Address, conn: FramedConnection, dialedByUs: boolean): Endpoint {
    const key = addressKey(peer);
    const ep: Endpoint = { peer, conn, dialedByUs };
    conn.setHandler((env) => this.#onEnvelope(ep, env));
    conn.onClose((reason) => {
      if (this.#endpoints.get(key) === ep) this.#endpoints.delete(key);
      if (reason) this.#logger.info("connection closed", { peer: peer.toString(), reason: String(reason) });
    });
    const existing = this.#endpoints.get(key);
    if (existing === undefined || !existing.conn.isOpen) {
      this.#endpoints.set(key, ep);
      this.#peerConnected(peer);
      return ep;
    }
    // Both sides dialed: keep the connection dialed by the greater address, on both sides.
    const weAreSmaller = this.#identity.address.compare(peer) < 0;
    if (dialedByUs === weAreSmaller) {
      conn.end();
      return existing;
    }
    this.#endpoints.set(key, ep);
    existing.conn.end();
    return ep;
  }

  #peerConnected(peer: Address): void {
    for (const listener of [...this.#connectListeners]) {
      const failed = (err: unknown) =>
        this.#logger.warn("peer-connected listener failed", { peer: peer.toString(), error: String(err) });
      try {
        const r: unknown = listener(peer);
        if (r instanceof Promise) r.catch(failed);
      } catch (err) {
        failed(err);
      }
    }
  }

  /** Routes one envelope from an authenticated peer; a promise pauses that connection. */
  #onEnvelope(ep: Endpoint, env: Envelope): void | Promise<void> {
    if (!env.sender.equals(ep.peer)) {
      ep.conn.destroy(
        new AuthenticationError(`peer ${ep.peer.toString()} sent an envelope as ${env.sender.toString()}`),
      );
      return;
    }
    if (!env.recipient.equals(this.#identity.address)) {
      ep.conn.destroy(new ValidationError(`peer sent an envelope for ${env.recipient.toString()}`));
      return;
    }
    const m = env.message;
    if (m.type === MessageType.AuthResponse) {
      ep.conn.destroy(new ValidationError("handshake message after the handshake"));
      return;
    }
    if (m.type === MessageType.Shutdown) {
      this.#logger.info("peer shut the connection down", { peer: ep.peer.toString(), reason: m.reason });
      ep.conn.end();
      return;
    }
    return this.#deliver(env);
  }

  #deliver(env: Envelope): void | Promise<void> {
    if (this.#closed) return;
    const sub = this.#subscription;
    if (sub === undefined) {
      return new Promise<void>((resolve) => this.#waitingForSubscriber.push(resolve)).then(() =>
        this.#deliver(env),
      );
    }
    try {
      const r = putTo(sub.consumer, env);
      if (r === undefined) return;
      return r.catch((err: unknown) => this.#consumerFailed(env, err));
    } catch (err) {
      this.#consumerFailed(env, err);
    }
  }

  #consumerFailed(env: Envelope, err: unknown): void {
    this.#logger.warn("consumer failed", { message: messageTypeName(env.message), error: String(err) });
  }
}
