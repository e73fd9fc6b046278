// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title The token bills are paid in: one unit is one money unit of the market (1e-7 EUR).
/// @notice Its issuer (in a deployment, the bank or e-money institution behind it) mints against euros.
contract EnergyToken is ERC20 {
    address public immutable issuer;

    error NotIssuer(address caller);

    constructor() ERC20("snippet euro", "sEUR") {
        issuer = msg.sender;
    }

    function decimals() public pure override returns (uint8) {
        return 7;
    }

    /// @notice Issues `amount` to `to`: the issuer only.
    function mint(address to, uint256 amount) external {
        if (msg.sender != issuer) revert NotIssuer(msg.sender);
        _mint(to, amount);
    }
}
