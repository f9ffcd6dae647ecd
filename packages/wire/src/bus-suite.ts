// The generic bus suite of spec §9.1, runnable against any `Bus` implementation. It does not
// import a test framework: pass your framework's `describe` and `it` (vitest, node:test, …).
import { type Address, bytesEqual } from "@perun-ts/core";
import type { Bus } from "./bus.js";
import type { Envelope } from "./envelope.js";
import type { EnvelopeCodec } from "./envelope-codec.js";
import { type Message, MessageType } from "./messages.js";

/** One participant of a bus test: its wire address and the bus it publishes and subscribes on. */
export interface BusSuiteClient {
  readonly address: Address;
  readonly bus: Bus;
}

/** What a bus suite run needs: clients that can reach each other, and teardown. */
export interface BusSuiteEnvironment {
  readonly clients: readonly BusSuiteClient[];
  /** Used to compare envelopes exactly (by their canonical encoding). */
  readonly codec: EnvelopeCodec;
  /** Closes every bus and frees resources. */
  cleanup(): Promise<void>;
}

/** How to set up one bus implementation for the suite. */
export interface BusSuiteSetup {
  /** Creates `n` clients (distinct addresses) whose buses can reach each other. */
  createEnvironment(n: number): Promise<BusSuiteEnvironment>;
  /** Clients per test; default 3. */
  readonly numClients?: number;
  /** Messages each client sends to each other client; default 8. */
  readonly numMessages?: number;
}

/** The subset of a test framework the suite uses. */
export interface BusSuiteFramework {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
}

/** True if both envelopes have the same canonical encoding (hence the same addresses and message). */
export function envelopeEquals(codec: EnvelopeCodec, a: Envelope, b: Envelope): boolean {
  return bytesEqual(codec.encode(a), codec.encode(b));
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bus suite: ${what}`);
}

function rej(n: number, reason: string): Message {
  const proposalId = new Uint8Array(32);
  new DataView(proposalId.buffer).setUint32(0, n);
  return { type: MessageType.ChannelProposalRej, proposalId, reason };
}

/** Collects envelopes and lets a test wait until `count` arrived. */
class Collector {
  readonly received: Envelope[] = [];
  #wake: (() => void) | undefined;

  readonly put = (e: Envelope): void => {
    this.received.push(e);
    this.#wake?.();
  };

  async waitFor(pred: (got: readonly Envelope[]) => boolean): Promise<void> {
    while (!pred(this.received)) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    this.#wake = undefined;
  }
}

const MARKER = "end-of-test-marker";

function isMarker(e: Envelope): boolean {
  return e.message.type === MessageType.ChannelProposalRej && e.message.reason === MARKER;
}

/**
 * Registers the generic bus tests (spec §9.1): delivery with prior subscription, exact envelope
 * equality and per-sender order, no extra messages, delivery when subscribing after publishing,
 * no delivery to anyone but the subscriber of the recipient, one subscription per address.
 *
 * Semantics asserted: an envelope for an address without a subscriber is held (not dropped, not
 * delivered elsewhere) and delivered once a subscriber appears.
 */
export function busSuite(t: BusSuiteFramework, name: string, setup: BusSuiteSetup): void {
  const n = setup.numClients ?? 3;
  const msgs = setup.numMessages ?? 8;

  async function withEnv(body: (env: BusSuiteEnvironment) => Promise<void>): Promise<void> {
    const env = await setup.createEnvironment(n);
    check(env.clients.length === n, `expected ${n} clients, got ${env.clients.length}`);
    try {
      await body(env);
    } finally {
      await env.cleanup();
    }
  }

  /** Sends a marker from every other client to `to` and waits until all arrived: anything sent
   *  before a marker (and per-sender order holds) has arrived by then. */
  async function quiesce(env: BusSuiteEnvironment, to: number, col: Collector): Promise<void> {
    const c = env.clients;
    const target = c[to] as BusSuiteClient;
    const senders = c.filter((_, i) => i !== to);
    await Promise.all(
      senders.map((s) =>
        s.bus.publish({ sender: s.address, recipient: target.address, message: rej(0, MARKER) }),
      ),
    );
    await col.waitFor((got) => got.filter(isMarker).length >= senders.length);
  }

  t.describe(`bus suite: ${name}`, () => {
    t.it(
      "delivers every envelope exactly, in order per sender, with prior subscription and nothing extra",
      async () => {
        await withEnv(async (env) => {
          const c = env.clients;
          const cols = c.map(() => new Collector());
          const unsubs = c.map((x, i) => x.bus.subscribe(x.address, cols[i] as Collector));
          const sent: Envelope[][] = c.map(() => []);
          await Promise.all(
            c.map(async (from, i) => {
              for (let k = 0; k < msgs; k++) {
                for (const [j, to] of c.entries()) {
                  if (i === j) continue;
                  const e: Envelope = {
                    sender: from.address,
                    recipient: to.address,
                    message: rej(i * 1_000_000 + k, `m ${i}->${j} #${k}`),
                  };
                  (sent[j] as Envelope[]).push(e);
                  await from.bus.publish(e);
                }
              }
            }),
          );
          for (const [j, col] of cols.entries()) {
            await quiesce(env, j, col);
            const got = col.received.filter((e) => !isMarker(e));
            const want = sent[j] as Envelope[];
            check(
              got.length === want.length,
              `client ${j} received ${got.length} envelopes, expected ${want.length}`,
            );
            for (const from of c) {
              const gotFrom = got.filter((e) => e.sender.equals(from.address));
              const wantFrom = want.filter((e) => e.sender.equals(from.address));
              check(
                gotFrom.length === wantFrom.length,
                `client ${j}: wrong count from ${from.address.toString()}`,
              );
              for (const [k, e] of gotFrom.entries()) {
                check(
                  envelopeEquals(env.codec, e, wantFrom[k] as Envelope),
                  `client ${j}: envelope ${k} differs or is out of order`,
                );
              }
            }
          }
          for (const u of unsubs) u();
        });
      },
    );

    t.it("holds envelopes for an unsubscribed address and delivers them once it subscribes", async () => {
      await withEnv(async (env) => {
        const [a, b, c] = env.clients as [BusSuiteClient, BusSuiteClient, BusSuiteClient];
        const colC = new Collector();
        c.bus.subscribe(c.address, colC);
        const early: Envelope[] = [0, 1, 2].map((k) => ({
          sender: a.address,
          recipient: b.address,
          message: rej(k, `early ${k}`),
        }));
        // Not awaited before subscribing: a bus may hold the publisher until a subscriber exists.
        const published = (async () => {
          for (const e of early) await a.bus.publish(e);
        })();
        // Something C can observe after A's early envelopes: nobody but B may get those.
        await a.bus.publish({ sender: a.address, recipient: c.address, message: rej(9, "to c") });
        await colC.waitFor((got) => got.length >= 1);
        const colB = new Collector();
        b.bus.subscribe(b.address, colB);
        await published;
        await quiesce(env, 1, colB);
        const got = colB.received.filter((e) => !isMarker(e));
        check(
          got.length === early.length,
          `B received ${got.length} early envelopes, expected ${early.length}`,
        );
        for (const [k, e] of got.entries()) {
          check(envelopeEquals(env.codec, e, early[k] as Envelope), `early envelope ${k} differs`);
        }
        await quiesce(env, 2, colC);
        const toC = colC.received.filter((e) => !isMarker(e));
        check(
          toC.length === 1 && toC[0]?.message.type === MessageType.ChannelProposalRej,
          "C received envelopes not addressed to it",
        );
      });
    });

    t.it(
      "refuses a second subscription for the same address and stops delivering after unsubscribe",
      async () => {
        await withEnv(async (env) => {
          const [a, b] = env.clients as [BusSuiteClient, BusSuiteClient];
          const first = new Collector();
          const unsubscribe = b.bus.subscribe(b.address, first);
          let threw = false;
          try {
            b.bus.subscribe(b.address, () => {});
          } catch {
            threw = true;
          }
          check(threw, "a second subscription for one address was accepted");
          await a.bus.publish({ sender: a.address, recipient: b.address, message: rej(1, "one") });
          await first.waitFor((got) => got.length >= 1);
          unsubscribe();
          const second = new Collector();
          const pending = a.bus.publish({ sender: a.address, recipient: b.address, message: rej(2, "two") });
          b.bus.subscribe(b.address, second);
          await pending;
          await quiesce(env, 1, second);
          check(
            first.received.length === 1,
            `the old consumer received ${first.received.length} envelopes after unsubscribing`,
          );
          const got = second.received.filter((e) => !isMarker(e));
          check(
            got.length === 1 && got[0]?.message.type === MessageType.ChannelProposalRej,
            "the new consumer missed the envelope",
          );
        });
      },
    );
  });
}
