// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {App} from "../App.sol";
import {AssetHolder} from "../AssetHolder.sol";
import {Channel} from "../Channel.sol";

/// @notice Test-only ERC20 whose `transfer`/`transferFrom` return nothing (like USDT).
contract NoReturnToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    constructor(address holder, uint256 amount) {
        balanceOf[holder] = amount;
    }

    function approve(address spender, uint256 value) external {
        allowance[msg.sender][spender] = value;
    }

    function transfer(address to, uint256 value) external {
        require(balanceOf[msg.sender] >= value, "balance");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
    }

    function transferFrom(address from, address to, uint256 value) external {
        require(allowance[from][msg.sender] >= value, "allowance");
        require(balanceOf[from] >= value, "balance");
        allowance[from][msg.sender] -= value;
        balanceOf[from] -= value;
        balanceOf[to] += value;
    }
}

/// @notice Test-only ERC20 that moves nothing: `transferFrom` returns `acceptDeposits`, `transfer`
/// returns false.
contract FalseToken {
    bool public immutable acceptDeposits;

    constructor(bool acceptDeposits_) {
        acceptDeposits = acceptDeposits_;
    }

    function transfer(address, uint256) external pure returns (bool) {
        return false;
    }

    function transferFrom(address, address, uint256) external view returns (bool) {
        return acceptDeposits;
    }
}

/// @notice Test-only receiver whose `receive` needs more than the 2300-gas stipend.
contract ContractReceiver {
    uint256 public received;
    uint256 public calls;

    receive() external payable {
        received += msg.value;
        calls += 1;
    }
}

/// @notice Test-only receiver that tries to withdraw again from inside its `receive`.
contract ReentrantReceiver {
    AssetHolder public immutable holder;
    bytes private authData;
    bytes private sig;
    bool public reentryFailed;
    uint256 public received;

    constructor(AssetHolder holder_) {
        holder = holder_;
    }

    function arm(AssetHolder.WithdrawalAuth calldata auth, bytes calldata signature) external {
        authData = abi.encode(auth);
        sig = signature;
    }

    receive() external payable {
        received += msg.value;
        if (received > msg.value) return; // only try once
        AssetHolder.WithdrawalAuth memory auth = abi.decode(authData, (AssetHolder.WithdrawalAuth));
        try holder.withdraw(auth, sig) {
            reentryFailed = false;
        } catch {
            reentryFailed = true;
        }
    }
}

/// @notice Test-only receiver that rejects ETH.
contract RejectingReceiver {
    receive() external payable {
        revert("no thanks");
    }
}

/// @notice Test-only app that rejects every transition.
contract RejectingApp is App {
    function validTransition(Channel.Params calldata, Channel.State calldata, Channel.State calldata, uint256)
        external
        pure
        override
    {
        revert("transition rejected");
    }
}
