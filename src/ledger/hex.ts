/**
 * Hex and bytes as the ledger writes them (0x-prefixed, lower case), without viem: the nodes and the
 * households' devices hash lines and build trees with these, and loading viem would cost them a
 * third of a second at start.
 * @module
 */
import type { Hex } from "viem";

export function hexToBytes(hex: Hex | string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.slice(2), "hex"));
}

export function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}
