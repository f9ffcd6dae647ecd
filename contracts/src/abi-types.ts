/**
 * viem ABI parameter types of the Perun structs (spec-eth §2.1/§2.5). The channel id and the state
 * hash are keccak256 of the ABI encoding of the struct as a *single tuple parameter*.
 */

const SubAllocT = {
  type: "tuple[]",
  components: [
    { name: "ID", type: "bytes32" },
    { name: "balances", type: "uint256[]" },
    { name: "indexMap", type: "uint16[]" },
  ],
} as const;

/** `Params`: `(uint256,uint256,address[],address,bool,bool)`. */
export const ParamsT = {
  type: "tuple",
  components: [
    { name: "challengeDuration", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "participants", type: "address[]" },
    { name: "app", type: "address" },
    { name: "ledgerChannel", type: "bool" },
    { name: "virtualChannel", type: "bool" },
  ],
} as const;

/** `Allocation`: `(address[],uint256[][],(bytes32,uint256[],uint16[])[])`. */
export const AllocationT = {
  type: "tuple",
  components: [
    { name: "assets", type: "address[]" },
    { name: "balances", type: "uint256[][]" },
    { name: "locked", ...SubAllocT },
  ],
} as const;

/** `State`: `(bytes32,uint64,Allocation,bytes,bool)`. */
export const StateT = {
  type: "tuple",
  components: [
    { name: "channelID", type: "bytes32" },
    { name: "version", type: "uint64" },
    { name: "outcome", ...AllocationT },
    { name: "appData", type: "bytes" },
    { name: "isFinal", type: "bool" },
  ],
} as const;

/** `WithdrawalAuth`: the static tuple `(bytes32,address,address,uint256)`. */
export const WithdrawalAuthT = {
  type: "tuple",
  components: [
    { name: "channelID", type: "bytes32" },
    { name: "participant", type: "address" },
    { name: "receiver", type: "address" },
    { name: "amount", type: "uint256" },
  ],
} as const;
