// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Channel
/// @notice Data types of the Perun protocol as seen on-chain. Field order and types are part of the
/// ABI (selectors, `channelID`, `hashState`) and must not change.
library Channel {
    struct Params {
        uint256 challengeDuration;
        uint256 nonce;
        address[] participants;
        address app;
        bool ledgerChannel;
        bool virtualChannel;
    }

    struct State {
        bytes32 channelID;
        uint64 version;
        Allocation outcome;
        bytes appData;
        bool isFinal;
    }

    /// @dev `balances[asset][participant]`.
    struct Allocation {
        address[] assets;
        uint256[][] balances;
        SubAlloc[] locked;
    }

    /// @dev Funds locked in a sub-channel: per-asset totals and, for each sub-channel participant, the
    /// index of the matching parent participant.
    struct SubAlloc {
        bytes32 ID;
        uint256[] balances;
        uint16[] indexMap;
    }
}
