// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {App} from "./App.sol";
import {Channel} from "./Channel.sol";

/// @title TrivialApp
/// @notice Test app that accepts every transition.
contract TrivialApp is App {
    function validTransition(Channel.Params calldata, Channel.State calldata, Channel.State calldata, uint256)
        external
        pure
        override
    {}
}
