// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Sig} from "./Sig.sol";

/// @dev The part of the Adjudicator's interface that asset holders read.
interface DisputeRegistry {
    function disputes(bytes32 channelID)
        external
        view
        returns (uint64 timeout, uint64 challengeDuration, uint64 version, bool hasApp, uint8 phase, bytes32 stateHash);
}

/// @title AssetHolder
/// @notice Escrow for one asset, shared by all channels of one Adjudicator. Deposits are credited to
/// a funding ID (`keccak256(abi.encode(channelID, participant))`); when a channel concludes, the
/// Adjudicator sets its outcome here and participants withdraw against signed authorizations.
/// @dev Storage: `balances[fundingID]` holds the amount in the low 255 bits. The top bit marks that
/// this asset holder applied the channel's outcome to that funding ID; it replaces a separate
/// per-channel `settled` flag (a fresh storage slot per channel and asset). A funding ID without the
/// mark counts as settled once the Adjudicator has recorded the channel as concluded, which it does
/// only after all asset holders have applied the outcome.
abstract contract AssetHolder {
    uint256 private constant SETTLED_MARK = 1 << 255;
    uint256 private constant AMOUNT_MASK = SETTLED_MARK - 1;
    uint8 private constant PHASE_CONCLUDED = 2;

    /// @dev Static tuple `(bytes32,address,address,uint256)`; signed by `participant`.
    struct WithdrawalAuth {
        bytes32 channelID;
        address participant;
        address payable receiver;
        uint256 amount;
    }

    /// @notice The Adjudicator allowed to set outcomes.
    address public immutable adjudicator;

    mapping(bytes32 fundingID => uint256) private balances;

    bool private transient locked;

    event OutcomeSet(bytes32 indexed channelID);
    event Deposited(bytes32 indexed fundingID, uint256 amount);
    event Withdrawn(bytes32 indexed fundingID, uint256 amount, address receiver);

    modifier nonReentrant() {
        require(!locked, "reentrant call");
        locked = true;
        _;
        locked = false;
    }

    constructor(address adjudicator_) {
        adjudicator = adjudicator_;
    }

    /// @notice Amount held for `fundingID`.
    function holdings(bytes32 fundingID) external view returns (uint256) {
        return balances[fundingID] & AMOUNT_MASK;
    }

    /// @notice Whether the outcome of `channelID` has been set, i.e. whether the Adjudicator has
    /// concluded the channel (it concludes a channel only together with setting its outcome).
    function settled(bytes32 channelID) external view returns (bool) {
        return concluded(channelID);
    }

    /// @notice Credits `amount` to `fundingID`. Anyone may deposit for any funding ID.
    function deposit(bytes32 fundingID, uint256 amount) external payable {
        depositCheck(fundingID, amount);
        uint256 stored = balances[fundingID];
        uint256 newAmount = (stored & AMOUNT_MASK) + amount;
        require(newAmount <= AMOUNT_MASK, "overflow");
        balances[fundingID] = newAmount | (stored & SETTLED_MARK);
        depositEnact(fundingID, amount);
        emit Deposited(fundingID, amount);
    }

    /// @notice Sets the final balances of `channelID`'s participants. Only the Adjudicator may call.
    /// If the channel is under-funded, every participant keeps exactly what was deposited.
    function setOutcome(bytes32 channelID, address[] calldata parts, uint256[] calldata newBals) external {
        require(msg.sender == adjudicator, "can only be called by the adjudicator");
        uint256 n = parts.length;
        require(n == newBals.length, "participants length should equal balances");

        uint256 sumHeld = balances[channelID];
        if (sumHeld != 0) {
            balances[channelID] = 0;
            sumHeld &= AMOUNT_MASK;
        }
        uint256 sumOutcome = 0;
        for (uint256 i = 0; i < n; i++) {
            uint256 stored = balances[fundingIDOf(channelID, parts[i])];
            require(stored & SETTLED_MARK == 0, "trying to set already settled channel");
            sumHeld += stored;
            sumOutcome += newBals[i];
        }
        bool funded = sumHeld >= sumOutcome;
        for (uint256 i = 0; i < n; i++) {
            bytes32 fundingID = fundingIDOf(channelID, parts[i]);
            uint256 amount = funded ? newBals[i] : balances[fundingID];
            // A zero amount is stored as plain zero (no mark): settled-ness then comes from the
            // Adjudicator, and clearing a slot is cheaper than marking it.
            balances[fundingID] = amount == 0 ? 0 : amount | SETTLED_MARK;
        }
        emit OutcomeSet(channelID);
    }

    /// @notice Pays `authorization.amount` of the participant's holdings to the receiver. Anyone may
    /// submit a valid authorization.
    function withdraw(WithdrawalAuth calldata authorization, bytes calldata signature) external nonReentrant {
        bytes32 fundingID = fundingIDOf(authorization.channelID, authorization.participant);
        uint256 stored = balances[fundingID];
        require(stored & SETTLED_MARK != 0 || concluded(authorization.channelID), "channel not settled");
        require(
            Sig.signer(keccak256(abi.encode(authorization)), signature) == authorization.participant,
            "signature verification failed"
        );
        uint256 amount = authorization.amount;
        uint256 held = stored & AMOUNT_MASK;
        require(held >= amount, "insufficient funds");
        uint256 rest = held - amount;
        balances[fundingID] = rest == 0 ? 0 : rest | (stored & SETTLED_MARK);
        withdrawEnact(authorization.receiver, amount);
        emit Withdrawn(fundingID, amount, authorization.receiver);
    }

    /// @dev Validates a deposit (e.g. the ETH value sent).
    function depositCheck(bytes32 fundingID, uint256 amount) internal view virtual;

    /// @dev Receives the deposited asset.
    function depositEnact(bytes32 fundingID, uint256 amount) internal virtual;

    /// @dev Pays out.
    function withdrawEnact(address payable receiver, uint256 amount) internal virtual;

    function fundingIDOf(bytes32 channelID, address participant) internal pure returns (bytes32 id) {
        assembly ("memory-safe") {
            mstore(0x00, channelID)
            mstore(0x20, participant)
            id := keccak256(0x00, 0x40)
        }
    }

    function concluded(bytes32 channelID) internal view returns (bool) {
        (,,,, uint8 phase,) = DisputeRegistry(adjudicator).disputes(channelID);
        return phase == PHASE_CONCLUDED;
    }
}
