// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Channel} from "./Channel.sol";

/// @title App
/// @notice An app decides which state transitions of an app channel are allowed during a dispute.
interface App {
    /// @notice Must revert if `actorIdx` may not move the channel from `from` to `to`.
    function validTransition(
        Channel.Params calldata params,
        Channel.State calldata from,
        Channel.State calldata to,
        uint256 actorIdx
    ) external pure;
}
