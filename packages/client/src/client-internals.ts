import type { Address, ChannelBackend, Funder, Logger, Persister, Wallet } from "@perun-ts/core";
import type { Envelope, Message } from "@perun-ts/wire";
import type { Channel, ChannelEnv } from "./channel.js";
import type { TaskSupervisor } from "./supervisor.js";

/**
 * What the sub-channel, virtual-channel and hub protocols need from their `Client`. Not part of
 * the public API; the client builds one object of this shape over its private state.
 */
export interface ClientInternals {
  readonly address: Address;
  readonly backend: ChannelBackend;
  readonly wallet: Wallet;
  readonly funder: Funder;
  readonly persister: Persister | undefined;
  readonly env: ChannelEnv;
  readonly logger: Logger;
  readonly supervisor: TaskSupervisor;
  /** Aborted when the client closes. */
  readonly closeSignal: AbortSignal;
  /** The open channel with this id (`channelIdHex`). */
  channel(idHex: string): Channel | undefined;
  /**
   * Marks channel `idHex` as being opened (version-0 signatures and early updates are kept for
   * it). Throws `ValidationError` if the channel exists or is being opened already.
   */
  openingStarted(idHex: string): void;
  /** Ends `openingStarted`: replays early updates of the channel. */
  openingFinished(idHex: string): void;
  /** Puts a funded channel into the client and calls the `onNewChannel` callbacks. */
  registerChannel(channel: Channel): void;
  /** `signal` combined with the client's close signal. */
  stopSignal(signal: AbortSignal | undefined): AbortSignal;
  /** Maps an error of waiting for the peer to the error the caller should see. */
  waitError(e: unknown, signal: AbortSignal | undefined, what: string): unknown;
  publish(recipient: Address, message: Message, signal: AbortSignal): Promise<void>;
}

/** An answer to a proposal: the acceptance or the rejection envelope. */
export type ProposalAnswerEnvelope = Envelope;
