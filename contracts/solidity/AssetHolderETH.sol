// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AssetHolder} from "./AssetHolder.sol";

/// @title AssetHolderETH
/// @notice Asset holder for ETH. Payouts forward all gas, so contract receivers (smart wallets) work;
/// re-entrancy is blocked by the asset holder's lock and all state is updated before the transfer.
contract AssetHolderETH is AssetHolder {
    constructor(address adjudicator_) AssetHolder(adjudicator_) {}

    function depositCheck(bytes32, uint256 amount) internal view override {
        require(msg.value == amount, "wrong amount of ETH for deposit");
    }

    function depositEnact(bytes32, uint256) internal pure override {}

    function withdrawEnact(address payable receiver, uint256 amount) internal override {
        bool ok;
        assembly ("memory-safe") {
            ok := call(gas(), receiver, amount, 0, 0, 0, 0)
        }
        require(ok, "ETH transfer failed");
    }
}
