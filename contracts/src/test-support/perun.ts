// Perun encodings (spec-eth §2) and a deployed-contracts fixture, for tests.
import {
  type AbiParameterToPrimitiveType,
  type Address,
  encodeAbiParameters,
  type Hex,
  keccak256,
  type LocalAccount,
  zeroAddress,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ParamsT, StateT, WithdrawalAuthT } from "../abi-types.js";
import { adjudicatorAbi, adjudicatorBytecode } from "../generated/Adjudicator.js";
import { assetHolderErc20Abi, assetHolderErc20Bytecode } from "../generated/AssetHolderERC20.js";
import { assetHolderEthAbi, assetHolderEthBytecode } from "../generated/AssetHolderETH.js";
import { perunTokenAbi, perunTokenBytecode } from "../generated/PerunToken.js";
import { trivialAppAbi, trivialAppBytecode } from "../generated/TrivialApp.js";
import { TestChain } from "./chain.js";

export { ParamsT, StateT, WithdrawalAuthT };

export type Params = AbiParameterToPrimitiveType<typeof ParamsT>;
export type State = AbiParameterToPrimitiveType<typeof StateT>;
export type SubAlloc = State["outcome"]["locked"][number];
export type WithdrawalAuth = AbiParameterToPrimitiveType<typeof WithdrawalAuthT>;
export interface SignedState {
  params: Params;
  state: State;
  sigs: readonly Hex[];
}

export const channelId = (p: Params): Hex => keccak256(encodeAbiParameters([ParamsT], [p]));
export const hashState = (s: State): Hex => keccak256(encodeAbiParameters([StateT], [s]));
export const fundingId = (channel: Hex, participant: Address): Hex =>
  keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "address" }], [channel, participant]));
export const hashAuth = (a: WithdrawalAuth): Hex => keccak256(encodeAbiParameters([WithdrawalAuthT], [a]));

export const signState = (account: LocalAccount, s: State): Promise<Hex> =>
  account.signMessage({ message: { raw: hashState(s) } });
export const signAuth = (account: LocalAccount, a: WithdrawalAuth): Promise<Hex> =>
  account.signMessage({ message: { raw: hashAuth(a) } });
export const signAll = (accounts: readonly LocalAccount[], s: State): Promise<Hex[]> =>
  Promise.all(accounts.map((a) => signState(a, s)));

/** Throw-away keys of the spec's test vector (§2.4). */
export const alice = privateKeyToAccount(`0x${"1002".padStart(64, "0")}`);
export const bob = privateKeyToAccount(`0x${"1003".padStart(64, "0")}`);
export const carol = privateKeyToAccount(`0x${"1004".padStart(64, "0")}`);

export function makeParams(overrides: Partial<Params> = {}): Params {
  return {
    challengeDuration: 3600n,
    nonce: 42n,
    participants: [alice.address, bob.address],
    app: zeroAddress,
    ledgerChannel: true,
    virtualChannel: false,
    ...overrides,
  };
}

export function makeState(params: Params, fields: Partial<Omit<State, "channelID">> = {}): State {
  return {
    channelID: channelId(params),
    version: 0n,
    outcome: { assets: [], balances: [], locked: [] },
    appData: "0x",
    isFinal: false,
    ...fields,
  };
}

/** A fresh anvil with Adjudicator, AssetHolderETH, TrivialApp, PerunToken and AssetHolderERC20. */
export interface Fixture {
  chain: TestChain;
  adjudicator: Address;
  ethHolder: Address;
  app: Address;
  token: Address;
  erc20Holder: Address;
}

export const TOKEN_INIT_BALANCE = 10n ** 24n;

export async function setupFixture(): Promise<Fixture> {
  const chain = await TestChain.start();
  await Promise.all([alice, bob, carol].map((a) => chain.fund(a.address)));
  const adjudicator = await chain.deploy(adjudicatorAbi, adjudicatorBytecode);
  const ethHolder = await chain.deploy(assetHolderEthAbi, assetHolderEthBytecode, [adjudicator]);
  const app = await chain.deploy(trivialAppAbi, trivialAppBytecode);
  const token = await chain.deploy(perunTokenAbi, perunTokenBytecode, [
    [alice.address, bob.address, carol.address],
    TOKEN_INIT_BALANCE,
  ]);
  const erc20Holder = await chain.deploy(assetHolderErc20Abi, assetHolderErc20Bytecode, [adjudicator, token]);
  return { chain, adjudicator, ethHolder, app, token, erc20Holder };
}
