// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title The community market's ledger: slot results and period bills as the MPC nodes sign them,
/// the payments that settle the bills, and the disputes that correct them.
/// @notice Per slot, one record: a commitment to the public inputs, the public results and
/// aggregates, and the Merkle root of every household's slot line (its order, reading, fill,
/// commitments and bill), each committed as the three nodes' salted digests of their own shares.
/// Per billing period, the Merkle root of the bills. Each is accepted only with the EIP-712
/// signatures of at least `threshold` registered nodes, and only once. A household that finds its
/// slot bill wrong opens its line's shares here: the contract recomputes the bill (UCS,
/// spec/billing.md) from the line, its meter's signed reading and the slot's aggregates, corrects
/// the period's statement and flags the nodes that signed, or rejects the claim and keeps its bond.
/// Settlement opens when the period's dispute window closes.
contract SnippetLedger is EIP712 {
    using SafeERC20 for IERC20;

    /// @notice A slot's public result. Prices in price units (0.01 ct/kWh), energy in Wh.
    /// @dev `clearingPrice` is -1 when the community did not trade; `sharers` and
    /// `sharersDeviationWh` count the households on the side that caused `totalDeviationWh`.
    struct SlotResult {
        uint64 slot;
        uint32 period;
        bytes32 inputs;
        int64 clearingPrice;
        uint64 volumeWh;
        uint32 feedIn;
        uint32 retail;
        int64 totalDeviationWh;
        uint32 sharers;
        uint64 sharersDeviationWh;
        bytes32 linesRoot;
    }

    /// @notice A meter's reading of a slot, as the meter signs it (EIP-712).
    struct MeterReading {
        uint64 slot;
        uint64 importWh;
        uint64 exportWh;
    }

    struct Period {
        bytes32 billsRoot;
        uint64 postedAt;
    }

    bytes32 private constant SLOT_RESULT_TYPEHASH = keccak256(
        "SlotResult(uint64 slot,uint32 period,bytes32 inputs,int64 clearingPrice,uint64 volumeWh,uint32 feedIn,uint32 retail,int64 totalDeviationWh,uint32 sharers,uint64 sharersDeviationWh,bytes32 linesRoot)"
    );
    bytes32 private constant PERIOD_BILLS_TYPEHASH = keccak256("PeriodBills(uint32 period,bytes32 billsRoot)");
    bytes32 private constant METER_READING_TYPEHASH =
        keccak256("MeterReading(uint64 slot,uint64 importWh,uint64 exportWh)");

    /// @dev A line's fields, in the order each node's opening packs its shares (8 bytes each).
    uint256 private constant IMPORT = 2;
    uint256 private constant EXPORT = 3;
    uint256 private constant BOUGHT = 5;
    uint256 private constant SOLD = 6;
    uint256 private constant COMMITMENT_MONEY = 7;
    uint256 private constant BILL_MONEY = 8;
    /// @notice A node's opening of a line: its 9 shares (uint64, big-endian) and its 32-byte salt.
    uint256 public constant OPENING_BYTES = 9 * 8 + 32;

    /// @notice Whether an address is one of the MPC nodes' signing keys.
    mapping(address => bool) public isNode;
    /// @notice How many distinct nodes must sign a result.
    uint8 public immutable threshold;
    /// @notice The token bills are paid in (one unit = one money unit, 1e-7 EUR).
    IERC20 public immutable token;
    /// @notice The households' supplier: it receives what they owe and pays what they are owed.
    address public immutable supplier;
    /// @notice Who registers households and their meters (the community's operator).
    address public immutable operator;
    /// @notice Whether deviation pools are shared by |d| (`ucs-proportional`) rather than equally.
    bool public immutable proportional;
    /// @notice How long after a period's bills are posted its slots can be disputed, seconds.
    uint64 public immutable disputeWindow;
    /// @notice What filing a dispute holds from the household's deposit; kept when the claim is false.
    uint256 public immutable disputeBond;

    /// @notice Each registered household's meter signing key.
    mapping(address => address) public meterOf;
    /// @notice The EIP-712 struct hash of each posted slot's result, by slot start (Unix seconds).
    mapping(uint64 => bytes32) public posted;
    /// @notice Each posted period's bills root and posting time, by period (YYYYMM).
    mapping(uint32 => Period) public periods;
    /// @notice Token held for each account, to pay or receive bills.
    mapping(address => uint256) public deposits;
    /// @notice Whether a household's bill of a period is settled.
    mapping(uint32 => mapping(address => bool)) public settled;
    /// @notice Whether a household has disputed a slot (once each).
    mapping(uint64 => mapping(address => bool)) public disputed;
    /// @notice What upheld disputes add to a household's period bill (negative: it was overcharged).
    mapping(uint32 => mapping(address => int256)) public corrections;
    /// @notice How many wrong results each node signed, as upheld disputes found.
    mapping(address => uint256) public flags;

    event HouseholdRegistered(address indexed household, address meter);
    event SlotPosted(uint64 indexed slot, SlotResult result);
    event PeriodPosted(uint32 indexed period, bytes32 billsRoot);
    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event Settled(uint32 indexed period, address indexed household, int256 money);
    event DisputeUpheld(uint64 indexed slot, address indexed household, int256 statedMoney, int256 correctMoney);
    event DisputeRejected(uint64 indexed slot, address indexed household, int256 money);
    event NodeFlagged(address indexed node, uint64 indexed slot);

    error BadNodeSet();
    error NotOperator(address caller);
    error BadRegistration(address household);
    error NotRegistered(address household);
    error SlotAlreadyPosted(uint64 slot);
    error PeriodAlreadyPosted(uint32 period);
    error PeriodNotPosted(uint32 period);
    error DisputeWindowOpen(uint32 period, uint64 closesAt);
    error DisputeWindowClosed(uint32 period, uint64 closedAt);
    error UnknownSigner(address signer);
    error DuplicateSigner(address signer);
    error NotEnoughSigners(uint256 signers, uint256 needed);
    error NotThePostedResult(uint64 slot);
    error AlreadyDisputed(uint64 slot, address household);
    error BadOpening(uint256 node);
    error NotInLines(uint64 slot, address household);
    error BadMeterSignature(address household, address signer);
    error AlreadySettled(uint32 period, address household);
    error NotInBills(uint32 period, address household, int256 money);
    error DepositTooSmall(address account, uint256 deposit, uint256 needed);

    /// @param terms the supplier, the billing model, the dispute window (seconds) and bond (money units).
    constructor(address[] memory nodes, uint8 threshold_, IERC20 token_, Terms memory terms)
        EIP712("snippet", "1")
    {
        if (threshold_ == 0 || threshold_ > nodes.length) revert BadNodeSet();
        for (uint256 i = 0; i < nodes.length; ++i) {
            if (nodes[i] == address(0) || isNode[nodes[i]]) revert BadNodeSet();
            isNode[nodes[i]] = true;
        }
        threshold = threshold_;
        token = token_;
        supplier = terms.supplier;
        operator = msg.sender;
        proportional = terms.proportional;
        disputeWindow = terms.disputeWindow;
        disputeBond = terms.disputeBond;
    }

    /// @notice The community's terms, fixed at deployment.
    struct Terms {
        address supplier;
        bool proportional;
        uint64 disputeWindow;
        uint256 disputeBond;
    }

    /// @notice Registers households with their meters' signing keys (operator only; a meter may be replaced).
    function registerHouseholds(address[] calldata households, address[] calldata meters) external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        if (households.length != meters.length) revert BadRegistration(address(0));
        for (uint256 i = 0; i < households.length; ++i) {
            if (households[i] == address(0) || meters[i] == address(0)) revert BadRegistration(households[i]);
            meterOf[households[i]] = meters[i];
            emit HouseholdRegistered(households[i], meters[i]);
        }
    }

    /// @notice Records a slot's result signed by the nodes; refuses a second record of the slot.
    function postSlot(SlotResult calldata result, bytes[] calldata signatures) external {
        if (posted[result.slot] != bytes32(0)) revert SlotAlreadyPosted(result.slot);
        bytes32 structHash = _slotHash(result);
        _requireNodes(structHash, signatures);
        posted[result.slot] = structHash;
        emit SlotPosted(result.slot, result);
    }

    /// @notice Records a period's bills root signed by the nodes; refuses a second one for the period.
    /// Its dispute window opens now.
    function postPeriod(uint32 period, bytes32 root, bytes[] calldata signatures) external {
        if (periods[period].billsRoot != bytes32(0)) revert PeriodAlreadyPosted(period);
        _requireNodes(keccak256(abi.encode(PERIOD_BILLS_TYPEHASH, period, root)), signatures);
        periods[period] = Period(root, uint64(block.timestamp));
        emit PeriodPosted(period, root);
    }

    /// @notice Adds `amount` of the sender's tokens to its deposit (approve the ledger first).
    function deposit(uint256 amount) external {
        deposits[msg.sender] += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(msg.sender, amount);
    }

    /// @notice Adds the sender's tokens to others' deposits, such as a supplier prepaying its
    /// customers' bills or a household's bank topping it up (approve the ledger first).
    function depositFor(address[] calldata accounts, uint256[] calldata amounts) external {
        if (accounts.length != amounts.length) revert BadRegistration(address(0));
        uint256 total;
        for (uint256 i = 0; i < accounts.length; ++i) {
            deposits[accounts[i]] += amounts[i];
            total += amounts[i];
            emit Deposited(accounts[i], amounts[i]);
        }
        token.safeTransferFrom(msg.sender, address(this), total);
    }

    /// @notice Takes `amount` of the sender's deposit back.
    function withdraw(uint256 amount) external {
        _take(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice Disputes the sender's bill of a posted slot. `openings` are the three nodes' openings of
    /// the sender's line (as each node gave them to it), `proof` its path to the slot's lines root,
    /// and `signatures` those the slot was posted with. With a `meterSignature`, `reading` is its
    /// meter's signed reading of the slot and replaces the line's; without, the line's reading stands.
    /// The bond is held from the sender's deposit: returned with the correction when the recomputed
    /// bill differs from the line's, kept for the supplier when it does not.
    function dispute(
        SlotResult calldata result,
        bytes[] calldata signatures,
        bytes[3] calldata openings,
        bytes32[] calldata proof,
        MeterReading calldata reading,
        bytes calldata meterSignature
    ) external {
        bytes32 structHash = _slotHash(result);
        if (posted[result.slot] != structHash) revert NotThePostedResult(result.slot);
        uint64 postedAt = periods[result.period].postedAt;
        if (postedAt != 0 && block.timestamp > postedAt + disputeWindow) {
            revert DisputeWindowClosed(result.period, postedAt + disputeWindow);
        }
        if (meterOf[msg.sender] == address(0)) revert NotRegistered(msg.sender);
        if (disputed[result.slot][msg.sender]) revert AlreadyDisputed(result.slot, msg.sender);
        disputed[result.slot][msg.sender] = true;
        int64[9] memory line = _openLine(result, openings, proof);
        if (meterSignature.length != 0) {
            address signer = ECDSA.recover(_hashTypedDataV4(_readingHash(reading)), meterSignature);
            if (signer != meterOf[msg.sender] || reading.slot != result.slot) {
                revert BadMeterSignature(msg.sender, signer);
            }
            line[IMPORT] = int64(reading.importWh);
            line[EXPORT] = int64(reading.exportWh);
        }
        _take(msg.sender, disputeBond);
        _resolve(result, structHash, signatures, line);
    }

    /// @dev Recomputes the disputed bill: a false claim forfeits the bond to the supplier; a true one
    /// gets it back, corrects the period's statement and flags every node that signed the result.
    function _resolve(
        SlotResult calldata result,
        bytes32 structHash,
        bytes[] calldata signatures,
        int64[9] memory line
    ) private {
        int256 stated = line[BILL_MONEY];
        int256 correct = _slotBill(result, line);
        if (correct == stated) {
            deposits[supplier] += disputeBond;
            emit DisputeRejected(result.slot, msg.sender, stated);
            return;
        }
        deposits[msg.sender] += disputeBond;
        corrections[result.period][msg.sender] += correct - stated;
        emit DisputeUpheld(result.slot, msg.sender, stated, correct);
        bytes32 digest = _hashTypedDataV4(structHash);
        for (uint256 i = 0; i < signatures.length; ++i) {
            address node = ECDSA.recover(digest, signatures[i]);
            if (isNode[node]) {
                flags[node] += 1;
                emit NodeFlagged(node, result.slot);
            }
        }
    }

    /// @notice Settles a household's bill of a period, with the corrections its upheld disputes made,
    /// once the dispute window has closed: what it owes moves from its deposit to the supplier's,
    /// what it is owed the other way.
    function settle(uint32 period, address household, int256 money, bytes32[] calldata proof) external {
        Period storage posting = periods[period];
        if (posting.billsRoot == bytes32(0)) revert PeriodNotPosted(period);
        uint64 closesAt = posting.postedAt + disputeWindow;
        if (block.timestamp <= closesAt) revert DisputeWindowOpen(period, closesAt);
        if (settled[period][household]) revert AlreadySettled(period, household);
        bytes32 leaf = keccak256(abi.encode(period, household, money));
        if (!MerkleProof.verifyCalldata(proof, posting.billsRoot, leaf)) {
            revert NotInBills(period, household, money);
        }
        settled[period][household] = true;
        int256 owed = money + corrections[period][household];
        (address payer, address payee, uint256 amount) =
            owed >= 0 ? (household, supplier, uint256(owed)) : (supplier, household, uint256(-owed));
        _take(payer, amount);
        deposits[payee] += amount;
        emit Settled(period, household, owed);
    }

    /// @dev Checks the three openings against the line's leaf and returns the line's values: the sum
    /// of the three nodes' shares in Z_2^64, read as signed.
    function _openLine(SlotResult calldata result, bytes[3] calldata openings, bytes32[] calldata proof)
        private
        view
        returns (int64[9] memory line)
    {
        for (uint256 node = 0; node < 3; ++node) {
            if (openings[node].length != OPENING_BYTES) revert BadOpening(node);
        }
        bytes32 leaf = keccak256(
            abi.encode(msg.sender, keccak256(openings[0]), keccak256(openings[1]), keccak256(openings[2]))
        );
        if (!MerkleProof.verifyCalldata(proof, result.linesRoot, leaf)) revert NotInLines(result.slot, msg.sender);
        for (uint256 field = 0; field < 9; ++field) {
            uint64 sum;
            unchecked {
                for (uint256 node = 0; node < 3; ++node) {
                    sum += uint64(bytes8(openings[node][field * 8:field * 8 + 8]));
                }
            }
            line[field] = int64(sum);
        }
    }

    /// @dev The household's slot bill under UCS (spec/billing.md), from its line and the slot's aggregates.
    function _slotBill(SlotResult calldata result, int64[9] memory line) private view returns (int256) {
        int256 feedIn = int256(uint256(result.feedIn));
        int256 retail = int256(uint256(result.retail));
        int256 imported = line[IMPORT];
        int256 exported = line[EXPORT];
        int256 bought = line[BOUGHT];
        int256 sold = line[SOLD];
        if (bought == 0 && sold == 0) return imported * retail - exported * feedIn;
        int256 d = (exported - sold) - (imported - bought);
        int256 dp = result.clearingPrice >= 0 ? int256(result.clearingPrice) : (feedIn + retail) / 2;
        int256 bill = int256(line[COMMITMENT_MONEY]) - dp * d;
        int256 td = result.totalDeviationWh;
        if ((td < 0 && d < 0) || (td > 0 && d > 0)) {
            uint256 pool = td < 0 ? uint256(-td) * uint256(retail - dp) : uint256(td) * uint256(dp - feedIn);
            uint256 share = proportional
                ? (pool * uint256(d < 0 ? -d : d)) / result.sharersDeviationWh
                : pool / result.sharers;
            bill += int256(share);
        }
        return bill;
    }

    function _slotHash(SlotResult calldata result) private pure returns (bytes32) {
        return keccak256(abi.encode(SLOT_RESULT_TYPEHASH, result));
    }

    function _readingHash(MeterReading calldata reading) private pure returns (bytes32) {
        return keccak256(abi.encode(METER_READING_TYPEHASH, reading));
    }

    /// @dev Takes `amount` from an account's deposit; reverts when it holds less.
    function _take(address account, uint256 amount) private {
        uint256 held = deposits[account];
        if (held < amount) revert DepositTooSmall(account, held, amount);
        deposits[account] = held - amount;
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
