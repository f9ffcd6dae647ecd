// Shared test fixtures: the sim backend, seeded identities and fast-check arbitraries for every
// message type. Test-only (imports the backend-sim devDependency); not exported by the package.

import { SimAccount, SimAddress, SimAsset, SimChannelBackend } from "@perun-ts/backend-sim";
import {
  type Address,
  type Allocation,
  type App,
  AppRegistry,
  MAX_UINT64,
  noApp,
  Params,
  PaymentApp,
  Phase,
  type SignedState,
  type State,
  type SubAlloc,
  type Transaction,
} from "@perun-ts/core";
import fc from "fast-check";
import { expect } from "vitest";
import type { Envelope } from "./envelope.js";
import { EnvelopeCodec } from "./envelope-codec.js";
import { MessageType, type ProtocolMessage } from "./messages.js";
import type { SignatureVerifier } from "./net/wire-identity.js";

export const backend = new SimChannelBackend();
export const apps = new AppRegistry().setDefault((def) => new PaymentApp(def));
export const verifySignature: SignatureVerifier = (a, d, s) => backend.verifyData(a, d, s);

export function makeCodec(maxFrameSize?: number): EnvelopeCodec {
  return new EnvelopeCodec(maxFrameSize === undefined ? { backend, apps } : { backend, apps, maxFrameSize });
}

/** Deterministic accounts: key = [i+1, 0, …]. */
export function account(i: number): SimAccount {
  const key = new Uint8Array(32);
  key[31] = i + 1;
  key[0] = 7;
  return SimAccount.fromSecretKey(key);
}

/** Addresses and assets compare by bytes (their fields are private, so toEqual alone cannot). */
export function installEqualityTesters(): void {
  expect.addEqualityTesters([
    function bytesLike(a: unknown, b: unknown): boolean | undefined {
      const isBytesLike = (x: unknown): x is { bytes(): Uint8Array; equals(o: unknown): boolean } =>
        typeof x === "object" &&
        x !== null &&
        typeof (x as { bytes?: unknown }).bytes === "function" &&
        typeof (x as { equals?: unknown }).equals === "function";
      if (isBytesLike(a) && isBytesLike(b)) {
        return a.constructor === b.constructor && Buffer.from(a.bytes()).equals(Buffer.from(b.bytes()));
      }
      if (isBytesLike(a) || isBytesLike(b)) return false;
      return undefined;
    },
  ]);
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
export const arbAddress: fc.Arbitrary<Address> = bytes(20).map((b) => SimAddress.fromBytes(b));
const arbAsset = bytes(8).map((b) => SimAsset.fromBytes(b));
const arbId = bytes(32);
const arbU64 = fc.bigInt({ min: 0n, max: MAX_UINT64 });
const arbU256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
const arbSig = bytes(65);
const arbApp: fc.Arbitrary<App> = fc.oneof(
  fc.constant(noApp),
  arbAddress.map((a) => new PaymentApp(a)),
);
const arbReason = fc.string({ maxLength: 64 });

function arbAllocation(parts: number): fc.Arbitrary<Allocation> {
  return fc.integer({ min: 1, max: 3 }).chain((numAssets) =>
    fc.record({
      assets: fc.array(arbAsset, { minLength: numAssets, maxLength: numAssets }),
      balances: fc.array(fc.array(arbU256, { minLength: parts, maxLength: parts }), {
        minLength: numAssets,
        maxLength: numAssets,
      }),
      locked: fc.uniqueArray(
        fc.record({
          id: arbId,
          balances: fc.array(arbU256, { minLength: numAssets, maxLength: numAssets }),
          indexMap: fc.array(fc.integer({ min: 0, max: parts - 1 }), { maxLength: parts }),
        }) as fc.Arbitrary<SubAlloc>,
        { maxLength: 2, selector: (s) => Buffer.from(s.id).toString("hex") },
      ),
    }),
  );
}

const arbParts = fc.integer({ min: 2, max: 4 });

function arbState(parts: number, id?: Uint8Array, app?: App): fc.Arbitrary<State> {
  return fc.record({
    id: id ? fc.constant(id) : arbId,
    version: arbU64,
    app: app ? fc.constant(app) : arbApp,
    allocation: arbAllocation(parts),
    data: fc.uint8Array({ maxLength: 16 }),
    isFinal: fc.boolean(),
  });
}

const arbParams: fc.Arbitrary<Params> = fc
  .record({
    challengeDuration: fc.bigInt({ min: 1n, max: MAX_UINT64 }),
    parts: fc.uniqueArray(arbAddress, { minLength: 2, maxLength: 4, selector: (a) => a.toString() }),
    app: arbApp,
    nonce: arbU256,
    ledgerChannel: fc.boolean(),
    virtualChannel: fc.boolean(),
  })
  .map((init) =>
    Params.create({ ...init, virtualChannel: init.virtualChannel && !init.ledgerChannel }, backend),
  );

const arbSignedState: fc.Arbitrary<SignedState> = arbParams.chain((params) =>
  fc.record({
    params: fc.constant(params),
    state: arbState(params.numParts, params.id, params.app),
    sigs: fc.array(arbSig, { minLength: params.numParts, maxLength: params.numParts }),
  }),
);

const arbTransaction: fc.Arbitrary<Transaction> = arbParts.chain((n) =>
  fc.oneof(
    fc.record({
      state: arbState(n),
      sigs: fc.array(fc.option(arbSig, { nil: undefined }), { minLength: n, maxLength: n }),
    }),
    fc.constant<Transaction>({ state: undefined, sigs: [] }),
  ),
);

const arbBase = arbParts.chain((n) =>
  arbAllocation(n).chain((initBals) =>
    fc.record({
      proposalId: arbId,
      challengeDuration: fc.bigInt({ min: 1n, max: MAX_UINT64 }),
      nonceShare: arbId,
      app: arbApp,
      initData: fc.uint8Array({ maxLength: 16 }),
      initBals: fc.constant(initBals),
      fundingAgreement: fc.array(fc.array(arbU256, { minLength: n, maxLength: n }), {
        minLength: initBals.assets.length,
        maxLength: initBals.assets.length,
      }),
    }),
  ),
);

const arbUpdate = arbParts.chain((n) =>
  fc.record({ state: arbState(n), actorIdx: fc.integer({ min: 0, max: n - 1 }), sig: arbSig }),
);

const arbPeers = fc.array(arbAddress, { minLength: 2, maxLength: 4 });
const arbIndexList = fc.array(fc.integer({ min: 0, max: 1023 }), { maxLength: 4 });

/** One arbitrary per protocol message type, keyed by type. */
export const messageArbitraries: Record<MessageType, fc.Arbitrary<ProtocolMessage>> = {
  [MessageType.Ping]: fc
    .bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })
    .map((created) => ({ type: MessageType.Ping, created })),
  [MessageType.Pong]: fc
    .bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })
    .map((created) => ({ type: MessageType.Pong, created })),
  [MessageType.Shutdown]: arbReason.map((reason) => ({ type: MessageType.Shutdown, reason })),
  [MessageType.AuthResponse]: fc
    .record({
      challenge: fc.uint8Array({ maxLength: 32 }),
      signature: fc.oneof(fc.constant(new Uint8Array()), arbSig),
    })
    .map((r) => ({ type: MessageType.AuthResponse, ...r })),
  [MessageType.LedgerChannelProposal]: fc
    .record({ base: arbBase, participant: arbAddress, peers: arbPeers })
    .map(({ base, ...r }) => ({ type: MessageType.LedgerChannelProposal, ...base, ...r })),
  [MessageType.LedgerChannelProposalAcc]: fc
    .record({ proposalId: arbId, nonceShare: arbId, participant: arbAddress })
    .map((r) => ({ type: MessageType.LedgerChannelProposalAcc, ...r })),
  [MessageType.SubChannelProposal]: fc
    .record({ base: arbBase, parent: arbId })
    .map(({ base, parent }) => ({ type: MessageType.SubChannelProposal, ...base, parent })),
  [MessageType.SubChannelProposalAcc]: fc
    .record({ proposalId: arbId, nonceShare: arbId })
    .map((r) => ({ type: MessageType.SubChannelProposalAcc, ...r })),
  [MessageType.VirtualChannelProposal]: fc
    .record({
      base: arbBase,
      proposer: arbAddress,
      peers: arbPeers,
      parents: fc.array(arbId, { maxLength: 3 }),
      indexMaps: fc.array(arbIndexList, { maxLength: 3 }),
    })
    .map(({ base, ...r }) => ({ type: MessageType.VirtualChannelProposal, ...base, ...r })),
  [MessageType.VirtualChannelProposalAcc]: fc
    .record({ proposalId: arbId, nonceShare: arbId, responder: arbAddress })
    .map((r) => ({ type: MessageType.VirtualChannelProposalAcc, ...r })),
  [MessageType.ChannelProposalRej]: fc
    .record({ proposalId: arbId, reason: arbReason })
    .map((r) => ({ type: MessageType.ChannelProposalRej, ...r })),
  [MessageType.ChannelUpdate]: arbUpdate.map((u) => ({ type: MessageType.ChannelUpdate, ...u })),
  [MessageType.VirtualChannelFundingProposal]: fc
    .record({ u: arbUpdate, initial: arbSignedState, indexMap: arbIndexList })
    .map(({ u, ...r }) => ({ type: MessageType.VirtualChannelFundingProposal, ...u, ...r })),
  [MessageType.VirtualChannelSettlementProposal]: fc
    .record({ u: arbUpdate, final: arbSignedState })
    .map(({ u, final }) => ({ type: MessageType.VirtualChannelSettlementProposal, ...u, final })),
  [MessageType.ChannelUpdateAcc]: fc
    .record({ channelId: arbId, version: arbU64, sig: arbSig })
    .map((r) => ({ type: MessageType.ChannelUpdateAcc, ...r })),
  [MessageType.ChannelUpdateRej]: fc
    .record({ channelId: arbId, version: arbU64, reason: arbReason })
    .map((r) => ({ type: MessageType.ChannelUpdateRej, ...r })),
  [MessageType.ChannelSync]: fc
    .record({
      phase: fc.integer({ min: 0, max: 11 }) as fc.Arbitrary<Phase>,
      currentTx: arbTransaction,
      reply: fc.boolean(),
    })
    .map((r) => ({ type: MessageType.ChannelSync, ...r })),
};

export const arbProtocolMessage: fc.Arbitrary<ProtocolMessage> = fc.oneof(
  ...Object.values(messageArbitraries),
);

export const arbEnvelope: fc.Arbitrary<Envelope> = fc.record({
  sender: arbAddress,
  recipient: arbAddress,
  message: arbProtocolMessage,
});

/** A fixed, valid channel update envelope between two addresses. */
export function sampleUpdateEnvelope(sender: Address, recipient: Address): Envelope {
  const state: State = {
    id: new Uint8Array(32).fill(3),
    version: 5n,
    app: noApp,
    allocation: {
      assets: [SimAsset.fromBytes(new Uint8Array(8).fill(1))],
      balances: [[10n, 20n]],
      locked: [],
    },
    data: new Uint8Array(),
    isFinal: false,
  };
  return {
    sender,
    recipient,
    message: { type: MessageType.ChannelUpdate, state, actorIdx: 0, sig: new Uint8Array(65).fill(9) },
  };
}

export { Phase };
