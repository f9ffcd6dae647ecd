import {
  type Account,
  type Address,
  type Asset,
  bytesEqual,
  CHANNEL_ID_LENGTH,
  type ChannelBackend,
  cloneState,
  DecodeError,
  noApp,
  type Params,
  type ParamsInit,
  PaymentApp,
  SignatureError,
  type State,
  stateEquals,
} from "@perun-ts/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyOf } from "./arbitraries/backend.js";
import { arbChannelState, arbParams } from "./arbitraries/channel.js";
import {
  describeError,
  lockedMutations,
  outcome,
  type SuiteRunOptions,
  stateMutations,
  suiteSeed,
} from "./suite-support.js";

/** What {@link channelBackendSuite} needs to exercise a `ChannelBackend`. */
export interface ChannelBackendSuiteSetup extends SuiteRunOptions {
  readonly backend: ChannelBackend;
  /** A new account that `backend.sign` can sign with (a fresh key per call is best). */
  newAccount(): Account | Promise<Account>;
  /** The backend's addresses (need not belong to accounts). */
  readonly address: fc.Arbitrary<Address>;
  /** The backend's assets. */
  readonly asset: fc.Arbitrary<Asset>;
  /**
   * Byte strings that are not addresses of this backend. Default: empty, and a valid encoding
   * truncated and extended by one byte.
   */
  readonly invalidAddresses?: readonly Uint8Array[];
  /** Byte strings that are not assets of this backend (default as for addresses). */
  readonly invalidAssets?: readonly Uint8Array[];
  /** Signatures made concurrently in the signature-length test; default 256. */
  readonly parallelSignatures?: number;
  /**
   * State fields (mutation names of `stateMutations`) that the backend's signature does not cover
   * because the channel id already binds them: e.g. `["app"]` on Ethereum, whose on-chain `State`
   * has no app field (the app is part of the params, hence of the id). Default: none.
   */
  readonly fieldsBoundById?: readonly string[];
}

/**
 * The channel-backend conformance suite (go-perun spec §9.1 layer 1). Call it inside a vitest
 * file of your backend package; it registers a `describe` block.
 *
 * @example
 * ```ts
 * import { channelBackendSuite } from "@perun-ts/testing";
 * channelBackendSuite({ backend, newAccount: () => wallet.newAccount(), address: arbMyAddress, asset: arbMyAsset });
 * ```
 */
export function channelBackendSuite(setup: ChannelBackendSuiteSetup): void {
  const { backend } = setup;
  const name = setup.name ?? "channel backend conformance";
  const numRuns = setup.numRuns ?? 10;
  const types = { backend, address: setup.address, asset: setup.asset };

  describe(name, () => {
    const seed = suiteSeed(name, setup.seed);
    const run = { seed, numRuns };

    it("calcId returns 32 bytes, deterministically, and Params.create uses it", () => {
      fc.assert(
        fc.property(arbParams({ backend: types }), (p) => {
          const init = initOf(p);
          const id = backend.calcId(init);
          expect(id).toBeInstanceOf(Uint8Array);
          expect(id.length).toBe(CHANNEL_ID_LENGTH);
          expect(bytesEqual(id, p.id)).toBe(true);
          expect(bytesEqual(backend.calcId({ ...init, parts: [...init.parts] }), id)).toBe(true);
        }),
        run,
      );
    });

    const changes: {
      field: string;
      change: (p: ParamsInit, fresh: Address[]) => ParamsInit;
      /** Normalises the base params so that `change` modifies exactly one field and stays valid. */
      base?: (p: ParamsInit) => ParamsInit;
    }[] = [
      {
        field: "challengeDuration",
        change: (p) => ({
          ...p,
          challengeDuration: p.challengeDuration === 1n ? 2n : p.challengeDuration - 1n,
        }),
      },
      { field: "parts (all)", change: (p, fresh) => ({ ...p, parts: fresh.slice(0, p.parts.length) }) },
      {
        field: "parts[0]",
        change: (p, fresh) => ({ ...p, parts: [fresh[0] as Address, ...p.parts.slice(1)] }),
      },
      { field: "parts (order)", change: (p) => ({ ...p, parts: [...p.parts].reverse() }) },
      { field: "nonce", change: (p) => ({ ...p, nonce: p.nonce ^ 1n }) },
      {
        field: "app",
        change: (p, fresh) => ({
          ...p,
          app: p.app.def === null ? new PaymentApp(fresh[0] as Address) : noApp,
        }),
      },
      {
        field: "app definition",
        change: (p, fresh) => ({
          ...p,
          app: new PaymentApp(fresh[p.app.def?.equals(fresh[0] as Address) ? 1 : 0] as Address),
        }),
      },
      {
        field: "ledgerChannel",
        base: (p) => ({ ...p, virtualChannel: false }),
        change: (p) => ({ ...p, ledgerChannel: !p.ledgerChannel }),
      },
      {
        field: "virtualChannel",
        base: (p) => ({ ...p, ledgerChannel: false }),
        change: (p) => ({ ...p, virtualChannel: !p.virtualChannel }),
      },
    ];
    for (const { field, change, base: normalise } of changes) {
      it(`the id changes when ${field} changes`, () => {
        const fresh = fc.uniqueArray(setup.address, {
          minLength: 6,
          maxLength: 6,
          selector: (a) => keyOf(a.bytes()),
        });
        fc.assert(
          fc.property(arbParams({ backend: types, numParts: { min: 2, max: 5 } }), fresh, (p, others) => {
            const init = initOf(p);
            const outside = others.filter((a) => !init.parts.some((x) => x.equals(a)));
            fc.pre(outside.length >= init.parts.length && outside.length >= 2);
            const base = normalise ? normalise(init) : init;
            const changed = change(base, outside);
            expect(keyOf(backend.calcId(changed))).not.toBe(keyOf(backend.calcId(base)));
          }),
          run,
        );
      });
    }

    it("sign returns signatureLength bytes that verify for the signer, without touching the state", async () => {
      const account = await setup.newAccount();
      await fc.assert(
        fc.asyncProperty(
          arbChannelState({ backend: types, firstPart: account.address }),
          async ({ state }) => {
            const before = cloneState(state);
            const sig = await backend.sign(account, state);
            expect(sig).toBeInstanceOf(Uint8Array);
            expect(sig.length).toBe(backend.signatureLength);
            expect(await backend.verify(account.address, state, sig)).toBe(true);
            expect(stateEquals(state, before)).toBe(true);
          },
        ),
        run,
      );
    });

    it("verify is false for every single-field modification of the signed state", async () => {
      const account = await setup.newAccount();
      const extra = fc.tuple(setup.asset, setup.address);
      await fc.assert(
        fc.asyncProperty(
          arbChannelState({ backend: types, numLocked: { min: 0, max: 2 } }),
          extra,
          async ({ state }, [otherAsset, otherDef]) => {
            fc.pre(!state.allocation.assets.some((a) => a.equals(otherAsset)));
            fc.pre(state.app.def === null || !state.app.def.equals(otherDef));
            const sig = await backend.sign(account, state);
            const mutations = stateMutations(otherAsset, otherDef).filter(
              (m) => !setup.fieldsBoundById?.includes(m.field),
            );
            if (state.allocation.locked.length > 0) mutations.push(...lockedMutations());
            for (const m of mutations) {
              const mutated = m.apply(state);
              const r = await outcome(() => backend.verify(account.address, mutated, sig));
              expect(r, `modified ${m.field}: ${r.ok ? "" : describeError(r.error)}`).toEqual({
                ok: true,
                value: false,
              });
            }
            expect(await backend.verify(account.address, state, sig)).toBe(true);
          },
        ),
        { ...run, numRuns: Math.max(1, Math.ceil(numRuns / 2)) },
      );
    });

    it("verify is false for other addresses", async () => {
      const account = await setup.newAccount();
      const other = await setup.newAccount();
      await fc.assert(
        fc.asyncProperty(arbChannelState({ backend: types }), setup.address, async ({ state }, random) => {
          fc.pre(!random.equals(account.address));
          const sig = await backend.sign(account, state);
          expect(await backend.verify(random, state, sig)).toBe(false);
          expect(await backend.verify(other.address, state, sig)).toBe(false);
          expect(await backend.verify(other.address, state, await backend.sign(other, state))).toBe(true);
        }),
        run,
      );
    });

    it("malformed signatures verify as false or throw SignatureError, never anything else", async () => {
      const account = await setup.newAccount();
      const { state } = fc.sample(arbChannelState({ backend: types }), { seed, numRuns: 1 })[0] as {
        state: State;
      };
      const sig = await backend.sign(account, state);
      const n = sig.length;
      const flipped = (i: number) => {
        const s = sig.slice();
        s[i] = (s[i] as number) ^ 0xff;
        return s;
      };
      const malformed: [string, Uint8Array][] = [
        ["empty", new Uint8Array(0)],
        ["truncated by one byte", sig.subarray(0, n - 1)],
        ["truncated to half", sig.subarray(0, n >> 1)],
        ["extended by one byte", Uint8Array.from([...sig, 0])],
        ["doubled", Uint8Array.from([...sig, ...sig])],
        ["last byte flipped (v)", flipped(n - 1)],
        ["first byte flipped", flipped(0)],
        ["middle byte flipped", flipped(n >> 1)],
        ["all zero", new Uint8Array(n)],
        ["all 0xff", new Uint8Array(n).fill(0xff)],
      ];
      for (const [what, bad] of malformed) {
        const r = await outcome(() => backend.verify(account.address, state, bad));
        if (r.ok) expect(r.value, `${what} signature verified`).toBe(false);
        else expect(r.error instanceof SignatureError, `${what}: ${describeError(r.error)}`).toBe(true);
      }
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 2 * n }), async (bad) => {
          const r = await outcome(() => backend.verify(account.address, state, bad));
          if (r.ok) expect(r.value).toBe(false);
          else expect(r.error instanceof SignatureError, describeError(r.error)).toBe(true);
        }),
        { seed, numRuns: 50 },
      );
      expect(await backend.verify(account.address, state, sig)).toBe(true);
    });

    it("signatures have a constant length, also when made in parallel", async () => {
      const accounts = await Promise.all([setup.newAccount(), setup.newAccount()]);
      const states = fc.sample(arbChannelState({ backend: types }), { seed, numRuns: 8 }).map((x) => x.state);
      const count = setup.parallelSignatures ?? 256;
      const sigs = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          backend.sign(accounts[i % 2] as Account, states[i % states.length] as State),
        ),
      );
      expect(new Set(sigs.map((s) => s.length))).toEqual(new Set([backend.signatureLength]));
      // same key and state => a valid signature each time (spot-check one per state)
      for (let i = 0; i < states.length && i < count; i++) {
        expect(
          await backend.verify(
            (accounts[i % 2] as Account).address,
            states[i] as State,
            sigs[i] as Uint8Array,
          ),
        ).toBe(true);
      }
    });

    it("decodeAddress round-trips addresses", () => {
      fc.assert(
        fc.property(setup.address, (a) => {
          const d = backend.decodeAddress(a.bytes());
          expect(d.equals(a)).toBe(true);
          expect(a.equals(d)).toBe(true);
          expect(d.compare(a)).toBe(0);
          expect(bytesEqual(d.bytes(), a.bytes())).toBe(true);
        }),
        { seed, numRuns: 50 },
      );
    });

    it("address equals and compare are consistent", () => {
      fc.assert(
        fc.property(setup.address, setup.address, (a, b) => {
          expect(a.equals(b)).toBe(a.compare(b) === 0);
          expect(Math.sign(a.compare(b))).toBe(-Math.sign(b.compare(a)));
          expect(a.equals(a)).toBe(true);
        }),
        { seed, numRuns: 50 },
      );
    });

    it("decodeAddress rejects garbage with DecodeError", () => {
      const valid = (fc.sample(setup.address, { seed, numRuns: 1 })[0] as Address).bytes();
      const garbage = setup.invalidAddresses ?? defaultGarbage(valid);
      for (const g of garbage) {
        const r = syncOutcome(() => backend.decodeAddress(g));
        expect(
          !r.ok && r.error instanceof DecodeError,
          `decodeAddress(${keyOf(g)}) ${r.ok ? "accepted" : describeError(r.error)}`,
        ).toBe(true);
      }
    });

    it("decodeAsset round-trips assets and rejects garbage with DecodeError", () => {
      fc.assert(
        fc.property(setup.asset, (a) => {
          const d = backend.decodeAsset(a.bytes());
          expect(d.equals(a)).toBe(true);
          expect(bytesEqual(d.bytes(), a.bytes())).toBe(true);
        }),
        { seed, numRuns: 50 },
      );
      const valid = (fc.sample(setup.asset, { seed, numRuns: 1 })[0] as Asset).bytes();
      for (const g of setup.invalidAssets ?? defaultGarbage(valid)) {
        const r = syncOutcome(() => backend.decodeAsset(g));
        expect(
          !r.ok && r.error instanceof DecodeError,
          `decodeAsset(${keyOf(g)}) ${r.ok ? "accepted" : describeError(r.error)}`,
        ).toBe(true);
      }
    });
  });
}

function initOf(p: Params): ParamsInit {
  return {
    challengeDuration: p.challengeDuration,
    parts: p.parts,
    app: p.app,
    nonce: p.nonce,
    ledgerChannel: p.ledgerChannel,
    virtualChannel: p.virtualChannel,
  };
}

function defaultGarbage(valid: Uint8Array): Uint8Array[] {
  return [new Uint8Array(0), valid.subarray(0, valid.length - 1), Uint8Array.from([...valid, 0])];
}

function syncOutcome<T>(f: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    return { ok: false, error };
  }
}
