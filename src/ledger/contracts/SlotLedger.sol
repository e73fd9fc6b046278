// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title The community market's slot results, as the MPC nodes sign them.
/// @notice Per slot, one record: a commitment to the inputs, the public results and the Merkle root
/// of the fills, accepted only with the EIP-712 signatures of at least `threshold` registered nodes,
/// and only once. Personal data stays off chain: a household proves its fill against the root.
contract SlotLedger is EIP712 {
    bytes32 private constant SLOT_RESULT_TYPEHASH = keccak256(
        "SlotResult(uint64 slot,bytes32 inputs,int64 clearingPrice,uint64 volumeWh,bytes32 fillsRoot)"
    );

    /// @notice Whether an address is one of the MPC nodes' signing keys.
    mapping(address => bool) public isNode;
    /// @notice How many distinct nodes must sign a slot's result.
    uint8 public immutable threshold;
    /// @notice The EIP-712 struct hash of each posted slot's result, by slot start (Unix seconds).
    mapping(uint64 => bytes32) public posted;

    /// @param clearingPrice the price in price units, or -1 when the community did not trade.
    event SlotPosted(uint64 indexed slot, bytes32 inputs, int64 clearingPrice, uint64 volumeWh, bytes32 fillsRoot);

    error BadNodeSet();
    error SlotAlreadyPosted(uint64 slot);
    error UnknownSigner(address signer);
    error DuplicateSigner(address signer);
    error NotEnoughSigners(uint256 signers, uint256 needed);

    constructor(address[] memory nodes, uint8 threshold_) EIP712("snippet", "1") {
        if (threshold_ == 0 || threshold_ > nodes.length) revert BadNodeSet();
        for (uint256 i = 0; i < nodes.length; ++i) {
            if (nodes[i] == address(0) || isNode[nodes[i]]) revert BadNodeSet();
            isNode[nodes[i]] = true;
        }
        threshold = threshold_;
    }

    /// @notice Records a slot's result signed by the nodes; refuses a second record of the slot.
    function postSlot(
        uint64 slot,
        bytes32 inputs,
        int64 clearingPrice,
        uint64 volumeWh,
        bytes32 fillsRoot,
        bytes[] calldata signatures
    ) external {
        if (posted[slot] != bytes32(0)) revert SlotAlreadyPosted(slot);
        bytes32 structHash =
            keccak256(abi.encode(SLOT_RESULT_TYPEHASH, slot, inputs, clearingPrice, volumeWh, fillsRoot));
        bytes32 digest = _hashTypedDataV4(structHash);
        address[] memory signers = new address[](signatures.length);
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (!isNode[signer]) revert UnknownSigner(signer);
            for (uint256 j = 0; j < i; ++j) {
                if (signers[j] == signer) revert DuplicateSigner(signer);
            }
            signers[i] = signer;
        }
        if (signatures.length < threshold) revert NotEnoughSigners(signatures.length, threshold);
        posted[slot] = structHash;
        emit SlotPosted(slot, inputs, clearingPrice, volumeWh, fillsRoot);
    }
}
