import { bytesEqual, hexJoin } from "./bytes.js";

/** A channel id: 32 bytes computed by the channel backend from the parameters. */
export type ChannelId = Uint8Array;

export const CHANNEL_ID_LENGTH = 32;

export function channelIdEquals(a: ChannelId, b: ChannelId): boolean {
  return bytesEqual(a, b);
}

/** Hex form used for map keys, logs and error messages (one flat string: it is kept per channel). */
export function channelIdHex(id: ChannelId): string {
  return hexJoin(id, "0x");
}
