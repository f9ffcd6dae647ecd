// Protocol messages <-> plain wire values (positional arrays). Channel types use core's canonical
// value layer, so one msgpack encode covers the whole envelope. Decoding validates every field and
// throws only DecodeError; encoding checks the cheap structural rules and throws ValidationError.
import {
  allocationFromWire,
  allocationToWire,
  type Balances,
  CHANNEL_ID_LENGTH,
  type DecodeContext,
  isPhase,
  MAX_APP_DATA,
  MAX_ASSETS,
  MAX_PARTS,
  MAX_UINT64,
  MIN_PARTS,
  numParts,
  signedStateFromWire,
  signedStateToWire,
  stateFromWire,
  stateToWire,
  transactionFromWire,
  transactionToWire,
  uintToWire,
  ValidationError,
} from "@perun-ts/core";
import {
  type BaseChannelProposal,
  type ChannelUpdateFields,
  MessageType,
  type ProtocolMessage,
} from "./messages.js";
import {
  address,
  app,
  bin,
  bool,
  fail,
  fixedBin,
  index,
  int64,
  int64ToWire,
  list,
  signature,
  str,
  tuple,
  uint,
} from "./wire-values.js";

/** Length of proposal ids and nonce shares. */
export const PROPOSAL_ID_LENGTH = 32;
export const NONCE_SHARE_LENGTH = 32;
/** Longest reason string (Shutdown, ChannelProposalRej, ChannelUpdateRej), in UTF-16 code units. */
export const MAX_REASON_LENGTH = 4096;
/** Longest handshake challenge. */
export const MAX_CHALLENGE_LENGTH = 64;

const MAX_U64_BYTES = 8;
const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;

function check(ok: boolean, reason: string): void {
  if (!ok) throw new ValidationError(`cannot encode message: ${reason}`);
}

function checkBytes(b: Uint8Array, len: number, what: string): void {
  check(b instanceof Uint8Array && b.length === len, `${what} must be ${len} bytes`);
}

function checkSig(b: Uint8Array, sigLength: number, what: string): void {
  check(b instanceof Uint8Array && b.length === sigLength, `${what} must be ${sigLength} bytes`);
}

function checkU64(v: bigint, what: string): void {
  check(typeof v === "bigint" && v >= 0n && v <= MAX_UINT64, `${what} must be a uint64 bigint`);
}

function checkReason(s: string): void {
  check(typeof s === "string" && s.length <= MAX_REASON_LENGTH, `reason longer than ${MAX_REASON_LENGTH}`);
}

function checkPeers(n: number): void {
  check(n >= MIN_PARTS && n <= MAX_PARTS, `peers must have ${MIN_PARTS}..${MAX_PARTS} entries, got ${n}`);
}

function checkIndexList(xs: readonly number[], what: string): void {
  check(xs.length <= MAX_PARTS, `${what} longer than ${MAX_PARTS}`);
  for (const x of xs)
    check(Number.isInteger(x) && x >= 0 && x < MAX_PARTS, `${what} entry ${x} out of range`);
}

function baseToWire(m: BaseChannelProposal): unknown[] {
  checkBytes(m.proposalId, PROPOSAL_ID_LENGTH, "proposalId");
  checkBytes(m.nonceShare, NONCE_SHARE_LENGTH, "nonceShare");
  check(
    m.challengeDuration > 0n && m.challengeDuration <= MAX_UINT64,
    "challengeDuration must be a positive uint64",
  );
  check(m.initData.length <= MAX_APP_DATA, `initData longer than ${MAX_APP_DATA}`);
  return [
    m.proposalId,
    uintToWire(m.challengeDuration),
    m.nonceShare,
    m.app.def === null ? null : m.app.def.bytes(),
    m.initData,
    allocationToWire(m.initBals),
    m.fundingAgreement.map((row) => row.map(uintToWire)),
  ];
}

function updateToWire(m: ChannelUpdateFields, sigLength: number): unknown[] {
  check(Number.isInteger(m.actorIdx) && m.actorIdx >= 0 && m.actorIdx < MAX_PARTS, "actorIdx out of range");
  checkSig(m.sig, sigLength, "sig");
  return [stateToWire(m.state), m.actorIdx, m.sig];
}

/**
 * The wire body of a protocol message (without its type id). `sigLength` is the backend's
 * signature length. Throws `ValidationError` for a message that breaks a structural rule.
 */
export function protocolMessageToWire(m: ProtocolMessage, sigLength: number): unknown[] {
  switch (m.type) {
    case MessageType.Ping:
    case MessageType.Pong:
      check(
        typeof m.created === "bigint" && m.created >= MIN_I64 && m.created <= MAX_I64,
        "created must be an int64",
      );
      return [int64ToWire(m.created)];
    case MessageType.Shutdown:
      checkReason(m.reason);
      return [m.reason];
    case MessageType.AuthResponse:
      check(m.challenge.length <= MAX_CHALLENGE_LENGTH, "challenge too long");
      check(
        m.signature.length === 0 || m.signature.length === sigLength,
        `signature must be empty or ${sigLength} bytes`,
      );
      return [m.challenge, m.signature];
    case MessageType.LedgerChannelProposal:
      checkPeers(m.peers.length);
      return [...baseToWire(m), m.participant.bytes(), m.peers.map((p) => p.bytes())];
    case MessageType.LedgerChannelProposalAcc:
      checkBytes(m.proposalId, PROPOSAL_ID_LENGTH, "proposalId");
      checkBytes(m.nonceShare, NONCE_SHARE_LENGTH, "nonceShare");
      return [m.proposalId, m.nonceShare, m.participant.bytes()];
    case MessageType.SubChannelProposal:
      checkBytes(m.parent, CHANNEL_ID_LENGTH, "parent");
      return [...baseToWire(m), m.parent];
    case MessageType.SubChannelProposalAcc:
      checkBytes(m.proposalId, PROPOSAL_ID_LENGTH, "proposalId");
      checkBytes(m.nonceShare, NONCE_SHARE_LENGTH, "nonceShare");
      return [m.proposalId, m.nonceShare];
    case MessageType.VirtualChannelProposal:
      checkPeers(m.peers.length);
      check(m.parents.length <= MAX_PARTS && m.indexMaps.length <= MAX_PARTS, "too many parents");
      for (const p of m.parents) checkBytes(p, CHANNEL_ID_LENGTH, "parent");
      for (const im of m.indexMaps) checkIndexList(im, "indexMap");
      return [...baseToWire(m), m.proposer.bytes(), m.peers.map((p) => p.bytes()), m.parents, m.indexMaps];
    case MessageType.VirtualChannelProposalAcc:
      checkBytes(m.proposalId, PROPOSAL_ID_LENGTH, "proposalId");
      checkBytes(m.nonceShare, NONCE_SHARE_LENGTH, "nonceShare");
      return [m.proposalId, m.nonceShare, m.responder.bytes()];
    case MessageType.ChannelProposalRej:
      checkBytes(m.proposalId, PROPOSAL_ID_LENGTH, "proposalId");
      checkReason(m.reason);
      return [m.proposalId, m.reason];
    case MessageType.ChannelUpdate:
      return updateToWire(m, sigLength);
    case MessageType.VirtualChannelFundingProposal:
      checkIndexList(m.indexMap, "indexMap");
      return [...updateToWire(m, sigLength), signedStateToWire(m.initial), m.indexMap];
    case MessageType.VirtualChannelSettlementProposal:
      return [...updateToWire(m, sigLength), signedStateToWire(m.final)];
    case MessageType.ChannelUpdateAcc:
      checkBytes(m.channelId, CHANNEL_ID_LENGTH, "channelId");
      checkU64(m.version, "version");
      checkSig(m.sig, sigLength, "sig");
      return [m.channelId, uintToWire(m.version), m.sig];
    case MessageType.ChannelUpdateRej:
      checkBytes(m.channelId, CHANNEL_ID_LENGTH, "channelId");
      checkU64(m.version, "version");
      checkReason(m.reason);
      return [m.channelId, uintToWire(m.version), m.reason];
    case MessageType.ChannelSync:
      check(isPhase(m.phase), "phase out of range");
      check(typeof m.reply === "boolean", "reply must be a boolean");
      return [m.phase, transactionToWire(m.currentTx), m.reply];
    default:
      throw new ValidationError(
        `cannot encode message: unknown type ${String((m as { type: unknown }).type)}`,
      );
  }
}

const BASE_FIELDS = 7;

function baseFromWire(f: readonly unknown[], ctx: DecodeContext, path: string): BaseChannelProposal {
  const proposalId = fixedBin(f[0], PROPOSAL_ID_LENGTH, `${path}.proposalId`);
  const challengeDuration = uint(f[1], MAX_U64_BYTES, `${path}.challengeDuration`);
  if (challengeDuration === 0n) fail(`${path}.challengeDuration`, "must be positive");
  const nonceShare = fixedBin(f[2], NONCE_SHARE_LENGTH, `${path}.nonceShare`);
  const appValue = app(f[3], ctx, `${path}.app`);
  const initData = bin(f[4], MAX_APP_DATA, `${path}.initData`);
  const initBals = allocationFromWire(f[5], ctx);
  const parts = numParts(initBals);
  const rows = list(f[6], initBals.assets.length, initBals.assets.length, `${path}.fundingAgreement`);
  const fundingAgreement: Balances = rows.map((row, i) =>
    list(row, parts, parts, `${path}.fundingAgreement[${i}]`).map((x, j) =>
      uint(x, 32, `${path}.fundingAgreement[${i}][${j}]`),
    ),
  );
  return { proposalId, challengeDuration, nonceShare, app: appValue, initData, initBals, fundingAgreement };
}

function updateFromWire(f: readonly unknown[], ctx: DecodeContext, path: string): ChannelUpdateFields {
  const state = stateFromWire(f[0], ctx);
  const actorIdx = index(f[1], numParts(state.allocation), `${path}.actorIdx`);
  const sig = signature(f[2], ctx, `${path}.sig`);
  return { state, actorIdx, sig };
}

function peersFromWire(v: unknown, ctx: DecodeContext, path: string) {
  return list(v, MIN_PARTS, MAX_PARTS, path).map((x, i) => address(x, ctx, `${path}[${i}]`));
}

function indexListFromWire(v: unknown, path: string): number[] {
  return list(v, 0, MAX_PARTS, path).map((x, i) => index(x, MAX_PARTS, `${path}[${i}]`));
}

/**
 * Decodes the body of protocol message `type` (0..16) and validates every field.
 * Throws only `DecodeError` (core's value decoders included).
 */
export function protocolMessageFromWire(type: MessageType, v: unknown, ctx: DecodeContext): ProtocolMessage {
  const path = MessageType[type] ?? `type ${type}`;
  switch (type) {
    case MessageType.Ping:
    case MessageType.Pong: {
      const f = tuple(v, 1, path);
      return { type, created: int64(f[0], `${path}.created`) };
    }
    case MessageType.Shutdown: {
      const f = tuple(v, 1, path);
      return { type, reason: str(f[0], MAX_REASON_LENGTH, `${path}.reason`) };
    }
    case MessageType.AuthResponse: {
      const f = tuple(v, 2, path);
      const challenge = bin(f[0], MAX_CHALLENGE_LENGTH, `${path}.challenge`);
      const sig = bin(f[1], ctx.backend.signatureLength, `${path}.signature`);
      if (sig.length !== 0 && sig.length !== ctx.backend.signatureLength) {
        fail(`${path}.signature`, `expected 0 or ${ctx.backend.signatureLength} bytes, got ${sig.length}`);
      }
      return { type, challenge, signature: sig };
    }
    case MessageType.LedgerChannelProposal: {
      const f = tuple(v, BASE_FIELDS + 2, path);
      return {
        type,
        ...baseFromWire(f, ctx, path),
        participant: address(f[7], ctx, `${path}.participant`),
        peers: peersFromWire(f[8], ctx, `${path}.peers`),
      };
    }
    case MessageType.LedgerChannelProposalAcc: {
      const f = tuple(v, 3, path);
      return {
        type,
        proposalId: fixedBin(f[0], PROPOSAL_ID_LENGTH, `${path}.proposalId`),
        nonceShare: fixedBin(f[1], NONCE_SHARE_LENGTH, `${path}.nonceShare`),
        participant: address(f[2], ctx, `${path}.participant`),
      };
    }
    case MessageType.SubChannelProposal: {
      const f = tuple(v, BASE_FIELDS + 1, path);
      return {
        type,
        ...baseFromWire(f, ctx, path),
        parent: fixedBin(f[7], CHANNEL_ID_LENGTH, `${path}.parent`),
      };
    }
    case MessageType.SubChannelProposalAcc: {
      const f = tuple(v, 2, path);
      return {
        type,
        proposalId: fixedBin(f[0], PROPOSAL_ID_LENGTH, `${path}.proposalId`),
        nonceShare: fixedBin(f[1], NONCE_SHARE_LENGTH, `${path}.nonceShare`),
      };
    }
    case MessageType.VirtualChannelProposal: {
      const f = tuple(v, BASE_FIELDS + 4, path);
      return {
        type,
        ...baseFromWire(f, ctx, path),
        proposer: address(f[7], ctx, `${path}.proposer`),
        peers: peersFromWire(f[8], ctx, `${path}.peers`),
        parents: list(f[9], 0, MAX_PARTS, `${path}.parents`).map((x, i) =>
          fixedBin(x, CHANNEL_ID_LENGTH, `${path}.parents[${i}]`),
        ),
        indexMaps: list(f[10], 0, MAX_PARTS, `${path}.indexMaps`).map((x, i) =>
          indexListFromWire(x, `${path}.indexMaps[${i}]`),
        ),
      };
    }
    case MessageType.VirtualChannelProposalAcc: {
      const f = tuple(v, 3, path);
      return {
        type,
        proposalId: fixedBin(f[0], PROPOSAL_ID_LENGTH, `${path}.proposalId`),
        nonceShare: fixedBin(f[1], NONCE_SHARE_LENGTH, `${path}.nonceShare`),
        responder: address(f[2], ctx, `${path}.responder`),
      };
    }
    case MessageType.ChannelProposalRej: {
      const f = tuple(v, 2, path);
      return {
        type,
        proposalId: fixedBin(f[0], PROPOSAL_ID_LENGTH, `${path}.proposalId`),
        reason: str(f[1], MAX_REASON_LENGTH, `${path}.reason`),
      };
    }
    case MessageType.ChannelUpdate: {
      const f = tuple(v, 3, path);
      return { type, ...updateFromWire(f, ctx, path) };
    }
    case MessageType.VirtualChannelFundingProposal: {
      const f = tuple(v, 5, path);
      return {
        type,
        ...updateFromWire(f, ctx, path),
        initial: signedStateFromWire(f[3], ctx),
        indexMap: indexListFromWire(f[4], `${path}.indexMap`),
      };
    }
    case MessageType.VirtualChannelSettlementProposal: {
      const f = tuple(v, 4, path);
      return { type, ...updateFromWire(f, ctx, path), final: signedStateFromWire(f[3], ctx) };
    }
    case MessageType.ChannelUpdateAcc: {
      const f = tuple(v, 3, path);
      return {
        type,
        channelId: fixedBin(f[0], CHANNEL_ID_LENGTH, `${path}.channelId`),
        version: uint(f[1], MAX_U64_BYTES, `${path}.version`),
        sig: signature(f[2], ctx, `${path}.sig`),
      };
    }
    case MessageType.ChannelUpdateRej: {
      const f = tuple(v, 3, path);
      return {
        type,
        channelId: fixedBin(f[0], CHANNEL_ID_LENGTH, `${path}.channelId`),
        version: uint(f[1], MAX_U64_BYTES, `${path}.version`),
        reason: str(f[2], MAX_REASON_LENGTH, `${path}.reason`),
      };
    }
    case MessageType.ChannelSync: {
      const f = tuple(v, 3, path);
      const phase = f[0];
      if (!isPhase(phase)) fail(`${path}.phase`, `not a phase: ${String(phase)}`);
      const reply = bool(f[2], `${path}.reply`);
      // The slot count is the channel's participant count; the transaction decoder checks that the
      // state's allocation agrees with it.
      const tx = tuple(f[1], 2, `${path}.currentTx`);
      const slots = list(tx[1], 0, MAX_PARTS, `${path}.currentTx.sigs`).length;
      return {
        type,
        phase,
        currentTx: transactionFromWire(f[1], ctx, slots === 0 ? MIN_PARTS : slots),
        reply,
      };
    }
    default:
      return fail(path, "unknown message type");
  }
}

/** Upper bound of the msgpack array length any protocol message needs. */
export const MAX_WIRE_ARRAY_LENGTH = Math.max(MAX_PARTS, MAX_ASSETS);
