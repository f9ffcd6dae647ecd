// The authenticated handshake (fixes go-perun #381: the v0.9.0 "address exchange" let anyone claim
// any address). Each side proves control of its wire address by signing a transcript that binds
// both addresses, both fresh random challenges and its role:
//
//   dialer   -> listener  AuthResponse{challenge: cD}                      (sender D, recipient L)
//   listener -> dialer    AuthResponse{challenge: cL, signature: sigL}     sigL = sign_L(T("listener"))
//   dialer   -> listener  AuthResponse{signature: sigD}                    sigD = sign_D(T("dialer"))
//   listener -> dialer    AuthResponse{} (accepted)  or  Shutdown{reason} (refused)
//
// T(role) = domain ‖ role ‖ len‖D ‖ len‖L ‖ cD ‖ cL. A replayed signature is over someone else's
// challenge, a reflected one carries the wrong role, and a peer answering for another address
// fails the recipient/sender checks, so each yields AuthenticationError.
import { randomBytes } from "node:crypto";
import type { Address } from "@perun-ts/core";
import type { Envelope } from "../envelope.js";
import type { EnvelopeCodec } from "../envelope-codec.js";
import { AuthenticationError } from "../errors.js";
import { type AuthResponseMessage, MessageType } from "../messages.js";
import type { FramedConnection } from "./framed-connection.js";
import type { SignatureVerifier, WireIdentity } from "./wire-identity.js";

/** Length of each side's random challenge. */
export const CHALLENGE_LENGTH = 32;

const DOMAIN = new TextEncoder().encode("perun-ts/wire/handshake/v1\0");
const ROLE_LISTENER = 1;
const ROLE_DIALER = 2;

/** The bytes each side signs (exported for tests). */
export function handshakeTranscript(
  role: "dialer" | "listener",
  dialer: Address,
  listener: Address,
  dialerChallenge: Uint8Array,
  listenerChallenge: Uint8Array,
): Uint8Array {
  const d = dialer.bytes();
  const l = listener.bytes();
  const out = new Uint8Array(DOMAIN.length + 1 + 2 + d.length + 2 + l.length + 2 * CHALLENGE_LENGTH);
  let o = 0;
  out.set(DOMAIN, o);
  o += DOMAIN.length;
  out[o++] = role === "dialer" ? ROLE_DIALER : ROLE_LISTENER;
  for (const a of [d, l]) {
    out[o++] = a.length >>> 8;
    out[o++] = a.length & 0xff;
    out.set(a, o);
    o += a.length;
  }
  out.set(dialerChallenge, o);
  out.set(listenerChallenge, o + CHALLENGE_LENGTH);
  return out;
}

function auth(challenge: Uint8Array, signature: Uint8Array): AuthResponseMessage {
  return { type: MessageType.AuthResponse, challenge, signature };
}

const EMPTY = new Uint8Array(0);

async function verifies(
  verify: SignatureVerifier,
  signer: Address,
  data: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  try {
    return (await verify(signer, data, sig)) === true;
  } catch {
    return false; // a malformed signature is as bad as a wrong one
  }
}

/** Shared parameters of both handshake sides. */
export interface HandshakeContext {
  readonly conn: FramedConnection;
  readonly codec: EnvelopeCodec;
  readonly identity: WireIdentity;
  readonly verify: SignatureVerifier;
  readonly signal: AbortSignal;
}

function send(ctx: HandshakeContext, env: Envelope): void {
  ctx.conn.write(ctx.codec.encode(env));
}

/** Expects an AuthResponse between the right addresses; a Shutdown is the peer's refusal. */
function expectAuth(env: Envelope, from: Address, to: Address, step: string): AuthResponseMessage {
  const m = env.message;
  if (m.type === MessageType.Shutdown)
    throw new AuthenticationError(`peer refused the handshake: ${m.reason}`);
  if (m.type !== MessageType.AuthResponse) {
    throw new AuthenticationError(`${step}: expected AuthResponse, got message type ${String(m.type)}`);
  }
  if (!env.sender.equals(from)) {
    throw new AuthenticationError(
      `${step}: peer claims address ${env.sender.toString()}, expected ${from.toString()}`,
    );
  }
  if (!env.recipient.equals(to)) {
    throw new AuthenticationError(
      `${step}: addressed to ${env.recipient.toString()}, not to ${to.toString()}`,
    );
  }
  return m;
}

/**
 * Runs the dialer's side against the peer expected at `peer`. Resolves once the listener accepted
 * us; throws `AuthenticationError` if the peer is not `peer` or refuses us.
 */
export async function dialerHandshake(ctx: HandshakeContext, peer: Address): Promise<void> {
  const own = ctx.identity.address;
  const cD = randomBytes(CHALLENGE_LENGTH);
  send(ctx, { sender: own, recipient: peer, message: auth(cD, EMPTY) });

  const reply = expectAuth(await ctx.conn.readEnvelope(ctx.signal), peer, own, "listener reply");
  if (reply.challenge.length !== CHALLENGE_LENGTH || reply.signature.length === 0) {
    throw new AuthenticationError("listener reply: missing challenge or signature");
  }
  const cL = reply.challenge;
  if (
    !(await verifies(ctx.verify, peer, handshakeTranscript("listener", own, peer, cD, cL), reply.signature))
  ) {
    throw new AuthenticationError(`listener did not prove control of ${peer.toString()}`);
  }
  const sigD = await ctx.identity.signData(handshakeTranscript("dialer", own, peer, cD, cL));
  send(ctx, { sender: own, recipient: peer, message: auth(EMPTY, sigD) });

  const ack = expectAuth(await ctx.conn.readEnvelope(ctx.signal), peer, own, "listener acceptance");
  if (ack.challenge.length !== 0 || ack.signature.length !== 0) {
    throw new AuthenticationError("listener acceptance: unexpected fields");
  }
}

/**
 * Runs the listener's side; resolves with the dialer's proven address. On failure the dialer is
 * told why (Shutdown) where possible and `AuthenticationError` is thrown.
 */
export async function listenerHandshake(ctx: HandshakeContext): Promise<Address> {
  const own = ctx.identity.address;
  const hello = await ctx.conn.readEnvelope(ctx.signal);
  const dialer = hello.sender;
  try {
    if (dialer.equals(own)) throw new AuthenticationError("dialed by our own address");
    const first = expectAuth(hello, dialer, own, "dialer hello");
    if (first.challenge.length !== CHALLENGE_LENGTH || first.signature.length !== 0) {
      throw new AuthenticationError("dialer hello: malformed challenge");
    }
    const cD = first.challenge;
    const cL = randomBytes(CHALLENGE_LENGTH);
    const sigL = await ctx.identity.signData(handshakeTranscript("listener", dialer, own, cD, cL));
    send(ctx, { sender: own, recipient: dialer, message: auth(cL, sigL) });

    const proof = expectAuth(await ctx.conn.readEnvelope(ctx.signal), dialer, own, "dialer proof");
    if (proof.challenge.length !== 0 || proof.signature.length === 0) {
      throw new AuthenticationError("dialer proof: missing signature");
    }
    if (
      !(await verifies(
        ctx.verify,
        dialer,
        handshakeTranscript("dialer", dialer, own, cD, cL),
        proof.signature,
      ))
    ) {
      throw new AuthenticationError(`dialer did not prove control of ${dialer.toString()}`);
    }
    send(ctx, { sender: own, recipient: dialer, message: auth(EMPTY, EMPTY) });
    return dialer;
  } catch (err) {
    if (err instanceof AuthenticationError && ctx.conn.isOpen) {
      try {
        send(ctx, {
          sender: own,
          recipient: dialer,
          message: { type: MessageType.Shutdown, reason: err.message },
        });
      } catch {
        // the connection is going away anyway
      }
    }
    throw err;
  }
}
