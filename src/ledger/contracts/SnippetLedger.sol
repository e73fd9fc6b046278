// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title The community market's ledger: slot results and period bills as the MPC nodes sign them,
/// and the payments that settle the bills.
/// @notice Per slot, one record: a commitment to the inputs, the public results and the Merkle root
/// of the fills. Per billing period, the Merkle root of the bills. Each is accepted only with the
/// EIP-712 signatures of at least `threshold` registered nodes, and only once. Households and the
/// supplier keep token deposits here; a period's bill moves money between a household's deposit and
/// the supplier's once, against its proof, so balances after settlement equal the bills exactly.
/// Personal data stays off chain: a household proves its fill and its bill against the roots.
contract SnippetLedger is EIP712 {
    using SafeERC20 for IERC20;

    bytes32 private constant SLOT_RESULT_TYPEHASH = keccak256(
        "SlotResult(uint64 slot,bytes32 inputs,int64 clearingPrice,uint64 volumeWh,bytes32 fillsRoot)"
    );
    bytes32 private constant PERIOD_BILLS_TYPEHASH = keccak256("PeriodBills(uint32 period,bytes32 billsRoot)");

    /// @notice Whether an address is one of the MPC nodes' signing keys.
    mapping(address => bool) public isNode;
    /// @notice How many distinct nodes must sign a result.
    uint8 public immutable threshold;
    /// @notice The token bills are paid in (one unit = one money unit, 1e-7 EUR).
    IERC20 public immutable token;
    /// @notice The households' supplier: it receives what they owe and pays what they are owed.
    address public immutable supplier;

    /// @notice The EIP-712 struct hash of each posted slot's result, by slot start (Unix seconds).
    mapping(uint64 => bytes32) public posted;
    /// @notice The Merkle root of each period's bills, by period (YYYYMM).
    mapping(uint32 => bytes32) public billsRoot;
    /// @notice Token held for each account, to pay or receive bills.
    mapping(address => uint256) public deposits;
    /// @notice Whether a household's bill of a period is settled.
    mapping(uint32 => mapping(address => bool)) public settled;

    /// @param clearingPrice the price in price units, or -1 when the community did not trade.
    event SlotPosted(uint64 indexed slot, bytes32 inputs, int64 clearingPrice, uint64 volumeWh, bytes32 fillsRoot);
    event PeriodPosted(uint32 indexed period, bytes32 billsRoot);
    event Settled(uint32 indexed period, address indexed household, int256 money);

    error BadNodeSet();
    error SlotAlreadyPosted(uint64 slot);
    error PeriodAlreadyPosted(uint32 period);
    error PeriodNotPosted(uint32 period);
    error UnknownSigner(address signer);
    error DuplicateSigner(address signer);
    error NotEnoughSigners(uint256 signers, uint256 needed);
    error AlreadySettled(uint32 period, address household);
    error NotInBills(uint32 period, address household, int256 money);
    error DepositTooSmall(address account, uint256 deposit, uint256 needed);

    constructor(address[] memory nodes, uint8 threshold_, IERC20 token_, address supplier_)
        EIP712("snippet", "1")
    {
        if (threshold_ == 0 || threshold_ > nodes.length) revert BadNodeSet();
        for (uint256 i = 0; i < nodes.length; ++i) {
            if (nodes[i] == address(0) || isNode[nodes[i]]) revert BadNodeSet();
            isNode[nodes[i]] = true;
        }
        threshold = threshold_;
        token = token_;
        supplier = supplier_;
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
        _requireNodes(structHash, signatures);
        posted[slot] = structHash;
        emit SlotPosted(slot, inputs, clearingPrice, volumeWh, fillsRoot);
    }

    /// @notice Records a period's bills root signed by the nodes; refuses a second one for the period.
    function postPeriod(uint32 period, bytes32 root, bytes[] calldata signatures) external {
        if (billsRoot[period] != bytes32(0)) revert PeriodAlreadyPosted(period);
        _requireNodes(keccak256(abi.encode(PERIOD_BILLS_TYPEHASH, period, root)), signatures);
        billsRoot[period] = root;
        emit PeriodPosted(period, root);
    }

    /// @notice Adds `amount` of the sender's tokens to its deposit (approve the ledger first).
    function deposit(uint256 amount) external {
        deposits[msg.sender] += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Takes `amount` of the sender's deposit back.
    function withdraw(uint256 amount) external {
        uint256 held = deposits[msg.sender];
        if (held < amount) revert DepositTooSmall(msg.sender, held, amount);
        deposits[msg.sender] = held - amount;
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Settles a household's bill of a period against the posted root, once: what it owes
    /// (money > 0) moves from its deposit to the supplier's, what it is owed (money < 0) the other way.
    function settle(uint32 period, address household, int256 money, bytes32[] calldata proof) external {
        bytes32 root = billsRoot[period];
        if (root == bytes32(0)) revert PeriodNotPosted(period);
        if (settled[period][household]) revert AlreadySettled(period, household);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(household, money))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert NotInBills(period, household, money);
        settled[period][household] = true;
        (address payer, address payee, uint256 amount) =
            money >= 0 ? (household, supplier, uint256(money)) : (supplier, household, uint256(-money));
        uint256 held = deposits[payer];
        if (held < amount) revert DepositTooSmall(payer, held, amount);
        deposits[payer] = held - amount;
        deposits[payee] += amount;
        emit Settled(period, household, money);
    }

    /// @dev Reverts unless at least `threshold` distinct registered nodes signed the struct.
    function _requireNodes(bytes32 structHash, bytes[] calldata signatures) private view {
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
    }
}
