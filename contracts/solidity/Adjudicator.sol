// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {App} from "./App.sol";
import {AssetHolder} from "./AssetHolder.sol";
import {Channel} from "./Channel.sol";
import {Sig} from "./Sig.sol";

/// @title Adjudicator
/// @notice Dispute registry of Perun channels. Keeps one `Dispute` record per channel, runs the
/// refutation and force-execution timeline and, when a channel concludes, pushes its final outcome
/// to the asset holders named in the state. Holds no funds.
contract Adjudicator {
    enum Phase {
        DISPUTE,
        FORCEEXEC,
        CONCLUDED
    }

    /// @dev Fields 0-4 share one storage slot, `stateHash` uses a second one. A zero `timeout`
    /// (equivalently, a zero `stateHash`) means "not registered".
    struct Dispute {
        uint64 timeout;
        uint64 challengeDuration;
        uint64 version;
        bool hasApp;
        uint8 phase;
        bytes32 stateHash;
    }

    /// @dev `sigs[i]` is participant i's signature on `state`.
    struct SignedState {
        Channel.Params params;
        Channel.State state;
        bytes[] sigs;
    }

    /// @notice Dispute record per channel ID.
    mapping(bytes32 channelID => Dispute) public disputes;

    /// @dev Re-entrancy lock (transient storage). Conclusions call out to the asset holders named in
    /// a state, which are arbitrary contracts.
    bool private transient locked;

    /// @notice Emitted whenever a channel's dispute record is written.
    event ChannelUpdate(bytes32 indexed channelID, uint64 version, uint8 phase, uint64 timeout);

    modifier nonReentrant() {
        require(!locked, "reentrant call");
        locked = true;
        _;
        locked = false;
    }

    // ---------------------------------------------------------------------------------------------
    // register

    /// @notice Registers a ledger channel and its sub-channels (depth-first pre-order, following
    /// `outcome.locked`), or refutes a registered dispute with newer states.
    function register(SignedState calldata channel, SignedState[] calldata subChannels) external nonReentrant {
        require(channel.params.ledgerChannel, "not ledger");
        registerTree(channel, subChannels, 0);
    }

    function registerTree(SignedState calldata ch, SignedState[] calldata subs, uint256 next)
        internal
        returns (uint256)
    {
        registerSingle(ch);
        Channel.Allocation calldata outcome = ch.state.outcome;
        uint256 n = outcome.locked.length;
        for (uint256 s = 0; s < n; s++) {
            require(next < subs.length, "subChannels: too short");
            Channel.SubAlloc calldata alloc = outcome.locked[s];
            SignedState calldata sub = subs[next];
            next++;
            require(alloc.ID == sub.state.channelID, "invalid sub-channel id");
            requireEqualAddresses(outcome.assets, sub.state.outcome.assets);
            requireEqualUints(alloc.balances, totals(sub.state.outcome));
            next = registerTree(sub, subs, next);
        }
        return next;
    }

    function registerSingle(SignedState calldata ss) internal {
        Channel.Params calldata params = ss.params;
        Channel.State calldata state = ss.state;
        bytes32 id = requireValidParams(params, state);
        bytes32 stateHash = hashStateInternal(state);
        requireAllSigned(params.participants, stateHash, ss.sigs);
        if (params.virtualChannel) {
            require(params.app == address(0), "cannot have app");
            require(state.outcome.locked.length == 0, "cannot have locked funds");
        }

        Dispute storage stored = disputes[id];
        uint64 timeout;
        if (stored.timeout != 0) {
            if (stored.stateHash == stateHash) return; // unchanged: nothing to do
            require(stored.version < state.version, "invalid version");
            require(stored.phase == uint8(Phase.DISPUTE), "incorrect phase");
            require(block.timestamp < stored.timeout, "refutation timeout passed");
            timeout = state.isFinal ? uint64(block.timestamp) : stored.timeout;
        } else {
            timeout = state.isFinal ? uint64(block.timestamp) : addTimeout(block.timestamp, params.challengeDuration);
        }
        storeDispute(id, timeout, params, state.version, Phase.DISPUTE, stateHash);
    }

    // ---------------------------------------------------------------------------------------------
    // progress

    /// @notice Advances a registered app channel by one version, signed by the acting participant and
    /// validated by the channel's app.
    function progress(
        Channel.Params calldata params,
        Channel.State calldata stateOld,
        Channel.State calldata state,
        uint256 actorIdx,
        bytes calldata sig
    ) external nonReentrant {
        Dispute storage stored = disputes[state.channelID];
        uint64 timeout = stored.timeout;
        require(timeout != 0, "not registered");
        uint8 phase = stored.phase;
        if (phase == uint8(Phase.DISPUTE)) {
            require(block.timestamp >= timeout, "timeout not passed");
        } else if (phase == uint8(Phase.FORCEEXEC)) {
            require(block.timestamp < timeout, "timeout passed");
        } else {
            revert("invalid phase");
        }
        require(params.app != address(0), "must have app");
        require(actorIdx < params.participants.length, "actorIdx out of range");
        bytes32 id = requireValidParams(params, state);
        require(stored.stateHash == hashStateInternal(stateOld), "wrong old state");
        bytes32 stateHash = hashStateInternal(state);
        require(Sig.signer(stateHash, sig) == params.participants[actorIdx], "invalid signature");
        requireValidTransition(params, stateOld, state, actorIdx);

        uint64 newTimeout =
            state.isFinal ? uint64(block.timestamp) : addTimeout(block.timestamp, params.challengeDuration);
        storeDispute(id, newTimeout, params, state.version, Phase.FORCEEXEC, stateHash);
    }

    function requireValidTransition(
        Channel.Params calldata params,
        Channel.State calldata from,
        Channel.State calldata to,
        uint256 actorIdx
    ) internal pure {
        require(to.version == from.version + 1, "version must increment by one");
        require(!from.isFinal, "cannot progress from final state");
        Channel.Allocation calldata a = from.outcome;
        Channel.Allocation calldata b = to.outcome;
        requireEqualAddresses(a.assets, b.assets);
        uint256 nAssets = a.assets.length;
        require(a.balances.length == nAssets && b.balances.length == nAssets, "balances length mismatch");
        uint256 nParts = params.participants.length;
        for (uint256 i = 0; i < nAssets; i++) {
            uint256[] calldata ra = a.balances[i];
            uint256[] calldata rb = b.balances[i];
            require(ra.length == nParts && rb.length == nParts, "balances length mismatch");
            uint256 sumA = 0;
            uint256 sumB = 0;
            for (uint256 p = 0; p < nParts; p++) {
                sumA += ra[p];
                sumB += rb[p];
            }
            require(sumA == sumB, "sum of balances changed");
        }
        require(keccak256(abi.encode(a.locked)) == keccak256(abi.encode(b.locked)), "locked funds changed");
        App(params.app).validTransition(params, from, to, actorIdx);
    }

    // ---------------------------------------------------------------------------------------------
    // conclude

    /// @notice Concludes a registered ledger channel after its timeout and, with it, the listed
    /// sub-channels (depth-first pre-order), then pushes the combined outcome to the asset holders.
    function conclude(Channel.Params calldata params, Channel.State calldata state, Channel.State[] calldata subStates)
        external
        nonReentrant
    {
        require(params.ledgerChannel, "not ledger");
        bytes32 id = requireValidParams(params, state);
        Dispute memory d = disputes[id];
        require(d.stateHash == hashStateInternal(state), "invalid channel state");
        require(d.phase != uint8(Phase.CONCLUDED), "channel already concluded");
        uint64 timeout = d.timeout;
        if (d.phase == uint8(Phase.DISPUTE) && d.hasApp) {
            timeout = addTimeout(timeout, d.challengeDuration);
        }
        require(block.timestamp >= timeout, "timeout not passed yet");
        emit ChannelUpdate(id, d.version, uint8(Phase.CONCLUDED), timeout);

        if (state.outcome.locked.length == 0) {
            pushFinalOutcome(id, params.participants, state.outcome);
        } else {
            (uint256[][] memory outcome,) = collectOutcome(state, subStates, 0);
            pushOutcome(id, params.participants, state.outcome.assets, outcome);
        }

        // The root is marked concluded only after every asset holder applied the outcome, so that no
        // asset holder treats the channel as settled before its own outcome is set.
        Dispute storage stored = disputes[id];
        stored.timeout = timeout;
        stored.phase = uint8(Phase.CONCLUDED);
    }

    /// @dev Returns `state`'s balances plus the outcomes of its sub-channels (force-concluding each),
    /// mapped onto `state`'s participants.
    function collectOutcome(Channel.State calldata state, Channel.State[] calldata subs, uint256 next)
        internal
        returns (uint256[][] memory outcome, uint256)
    {
        Channel.Allocation calldata alloc = state.outcome;
        uint256 nAssets = alloc.assets.length;
        require(alloc.balances.length == nAssets, "balances length mismatch");
        outcome = new uint256[][](nAssets);
        for (uint256 a = 0; a < nAssets; a++) {
            outcome[a] = alloc.balances[a];
        }
        uint256 n = alloc.locked.length;
        for (uint256 s = 0; s < n; s++) {
            require(next < subs.length, "subStates: too short");
            Channel.SubAlloc calldata sa = alloc.locked[s];
            Channel.State calldata sub = subs[next];
            next++;
            require(sa.ID == sub.channelID, "invalid sub-channel id");
            forceConclude(sub);
            uint256[][] memory subOutcome;
            (subOutcome, next) = collectOutcome(sub, subs, next);
            require(subOutcome.length == nAssets, "address[]: unequal length");
            uint16[] calldata indexMap = sa.indexMap;
            for (uint256 a = 0; a < nAssets; a++) {
                uint256[] memory row = subOutcome[a];
                uint256[] memory target = outcome[a];
                require(row.length == indexMap.length, "invalid index map");
                for (uint256 i = 0; i < row.length; i++) {
                    uint256 j = indexMap[i];
                    require(j < target.length, "invalid index map");
                    target[j] += row[i];
                }
            }
        }
        return (outcome, next);
    }

    function forceConclude(Channel.State calldata state) internal {
        bytes32 id = state.channelID;
        Dispute storage stored = disputes[id];
        require(stored.stateHash == hashStateInternal(state), "invalid channel state");
        if (stored.phase == uint8(Phase.CONCLUDED)) return; // e.g. a virtual channel concluded via its other parent
        stored.phase = uint8(Phase.CONCLUDED);
        emit ChannelUpdate(id, stored.version, uint8(Phase.CONCLUDED), stored.timeout);
    }

    // ---------------------------------------------------------------------------------------------
    // concludeFinal

    /// @notice Concludes a ledger channel with a final state signed by all participants, overriding
    /// any running dispute.
    function concludeFinal(Channel.Params calldata params, Channel.State calldata state, bytes[] calldata sigs)
        external
        nonReentrant
    {
        require(params.ledgerChannel, "not ledger");
        require(state.isFinal, "state not final");
        require(state.outcome.locked.length == 0, "cannot have sub-channels");
        bytes32 id = requireValidParams(params, state);
        bytes32 stateHash = hashStateInternal(state);
        requireAllSigned(params.participants, stateHash, sigs);
        Dispute storage stored = disputes[id];
        if (stored.timeout != 0) {
            require(stored.phase != uint8(Phase.CONCLUDED), "channel already concluded");
        }
        uint64 now64 = uint64(block.timestamp);
        emit ChannelUpdate(id, state.version, uint8(Phase.CONCLUDED), now64);

        pushFinalOutcome(id, params.participants, state.outcome);

        // Written after the asset holders applied the outcome (see `conclude`).
        stored.timeout = now64;
        stored.challengeDuration = uint64(params.challengeDuration);
        stored.version = state.version;
        stored.hasApp = params.app != address(0);
        stored.phase = uint8(Phase.CONCLUDED);
        stored.stateHash = stateHash;
    }

    // ---------------------------------------------------------------------------------------------
    // pure helpers

    /// @notice Channel ID of `params`: keccak256 of its ABI encoding as a single tuple argument.
    function channelID(Channel.Params calldata params) public pure returns (bytes32) {
        return keccak256(abi.encode(params));
    }

    /// @notice Hash of `state` (what participants sign, with the EIP-191 prefix).
    function hashState(Channel.State calldata state) external pure returns (bytes32) {
        return hashStateInternal(state);
    }

    function hashStateInternal(Channel.State calldata state) internal pure returns (bytes32) {
        return keccak256(abi.encode(state));
    }

    // ---------------------------------------------------------------------------------------------
    // internals

    function requireValidParams(Channel.Params calldata params, Channel.State calldata state)
        internal
        pure
        returns (bytes32 id)
    {
        id = state.channelID;
        require(id == channelID(params), "invalid params");
    }

    function requireAllSigned(address[] calldata participants, bytes32 stateHash, bytes[] calldata sigs)
        internal
        view
    {
        uint256 n = participants.length;
        require(sigs.length == n, "signatures length mismatch");
        for (uint256 i = 0; i < n; i++) {
            require(Sig.signer(stateHash, sigs[i]) == participants[i], "invalid signature");
        }
    }

    function storeDispute(
        bytes32 id,
        uint64 timeout,
        Channel.Params calldata params,
        uint64 version,
        Phase phase,
        bytes32 stateHash
    ) internal {
        disputes[id] = Dispute({
            timeout: timeout,
            challengeDuration: uint64(params.challengeDuration),
            version: version,
            hasApp: params.app != address(0),
            phase: uint8(phase),
            stateHash: stateHash
        });
        emit ChannelUpdate(id, version, uint8(phase), timeout);
    }

    function pushOutcome(bytes32 id, address[] calldata participants, address[] calldata assets, uint256[][] memory outcome)
        internal
    {
        uint256 nParts = participants.length;
        for (uint256 a = 0; a < assets.length; a++) {
            require(outcome[a].length == nParts, "balances length mismatch");
            AssetHolder(assets[a]).setOutcome(id, participants, outcome[a]);
        }
    }

    function pushFinalOutcome(bytes32 id, address[] calldata participants, Channel.Allocation calldata alloc)
        internal
    {
        address[] calldata assets = alloc.assets;
        uint256 nAssets = assets.length;
        require(alloc.balances.length == nAssets, "balances length mismatch");
        uint256 nParts = participants.length;
        for (uint256 a = 0; a < nAssets; a++) {
            uint256[] calldata bals = alloc.balances[a];
            require(bals.length == nParts, "balances length mismatch");
            AssetHolder(assets[a]).setOutcome(id, participants, bals);
        }
    }

    /// @dev `start + duration` (duration truncated to 64 bits), reverting if it exceeds 64 bits.
    function addTimeout(uint256 start, uint256 duration) internal pure returns (uint64) {
        uint256 t = start + uint64(duration);
        require(t <= type(uint64).max, "overflow");
        return uint64(t);
    }

    /// @dev Per-asset total of an allocation: the participants' balances plus all locked amounts.
    function totals(Channel.Allocation calldata alloc) internal pure returns (uint256[] memory sums) {
        uint256 nAssets = alloc.balances.length;
        sums = new uint256[](nAssets);
        for (uint256 a = 0; a < nAssets; a++) {
            uint256[] calldata row = alloc.balances[a];
            uint256 sum = 0;
            for (uint256 p = 0; p < row.length; p++) {
                sum += row[p];
            }
            sums[a] = sum;
        }
        for (uint256 s = 0; s < alloc.locked.length; s++) {
            uint256[] calldata lockedBals = alloc.locked[s].balances;
            require(lockedBals.length == nAssets, "uint256[]: unequal length");
            for (uint256 a = 0; a < nAssets; a++) {
                sums[a] += lockedBals[a];
            }
        }
    }

    function requireEqualAddresses(address[] calldata a, address[] calldata b) internal pure {
        require(a.length == b.length, "address[]: unequal length");
        for (uint256 i = 0; i < a.length; i++) {
            require(a[i] == b[i], "address[]: unequal item");
        }
    }

    function requireEqualUints(uint256[] calldata a, uint256[] memory b) internal pure {
        require(a.length == b.length, "uint256[]: unequal length");
        for (uint256 i = 0; i < a.length; i++) {
            require(a[i] == b[i], "uint256[]: unequal item");
        }
    }
}
