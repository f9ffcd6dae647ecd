// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AssetHolder} from "./AssetHolder.sol";

/// @title AssetHolderERC20
/// @notice Asset holder for one ERC20 token. Accepts tokens that return `true` and tokens that
/// return nothing (e.g. USDT); a token returning `false` or reverting makes the call revert.
contract AssetHolderERC20 is AssetHolder {
    /// @notice The held token.
    address public immutable token;

    constructor(address adjudicator_, address token_) AssetHolder(adjudicator_) {
        require(token_.code.length != 0, "token has no code");
        token = token_;
    }

    function depositCheck(bytes32, uint256) internal view override {
        require(msg.value == 0, "message value must be 0 for token deposit");
    }

    function depositEnact(bytes32, uint256 amount) internal override {
        // transferFrom(address,address,uint256) = 0x23b872dd
        require(callToken(abi.encodeWithSelector(0x23b872dd, msg.sender, address(this), amount)), "transferFrom failed");
    }

    function withdrawEnact(address payable receiver, uint256 amount) internal override {
        // transfer(address,uint256) = 0xa9059cbb
        require(callToken(abi.encodeWithSelector(0xa9059cbb, receiver, amount)), "transfer failed");
    }

    /// @dev True if the call succeeded and returned either nothing or an ABI-encoded `true`.
    function callToken(bytes memory data) private returns (bool ok) {
        address t = token;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            ok := call(gas(), t, 0, add(data, 0x20), mload(data), 0x00, 0x20)
            switch returndatasize()
            case 0 {}
            default { ok := and(ok, and(gt(returndatasize(), 31), eq(mload(0x00), 1))) }
        }
    }
}
