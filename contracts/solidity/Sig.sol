// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Sig
/// @notice Checks 65-byte `r || s || v` signatures made over the EIP-191 personal-message hash of a
/// 32-byte digest. Only canonical signatures are accepted: v must be 27 or 28 and s must lie in the
/// lower half of the curve order.
library Sig {
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @notice Returns the address that signed `digest` (EIP-191 prefixed) with `sig`; reverts on a
    /// malformed signature.
    function signer(bytes32 digest, bytes calldata sig) internal view returns (address recovered) {
        require(sig.length == 65, "ECDSA: invalid signature length");
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(sig.offset)
            s := calldataload(add(sig.offset, 32))
            v := byte(0, calldataload(add(sig.offset, 64)))
        }
        require(uint256(s) <= HALF_ORDER, "ECDSA: invalid signature 's' value");
        require(v == 27 || v == 28, "ECDSA: invalid signature 'v' value");
        assembly ("memory-safe") {
            // keccak256("\x19Ethereum Signed Message:\n32" || digest), built in scratch space.
            mstore(0x00, "\x19Ethereum Signed Message:\n32")
            mstore(0x1c, digest)
            let prefixed := keccak256(0x00, 0x3c)
            // ecrecover precompile (address 1): input (hash, v, r, s) at the free memory pointer.
            let p := mload(0x40)
            mstore(p, prefixed)
            mstore(add(p, 0x20), v)
            mstore(add(p, 0x40), r)
            mstore(add(p, 0x60), s)
            mstore(0x00, 0)
            pop(staticcall(gas(), 0x01, p, 0x80, 0x00, 0x20))
            recovered := mload(0x00)
        }
        require(recovered != address(0), "ECDSA: invalid signature");
    }
}
