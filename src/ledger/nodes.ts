/**
 * The three MPC nodes' part in the ledger, as a simulation plays it: each node's secp256k1 signing
 * key, and each node's opening of every household's slot line — its own share of each field and a
 * salt, both drawn from a keyed stream of its own, so a node gives a household the same opening
 * whenever it asks (openings.ts). The third node's share makes the three add up to the line. A node
 * service keeps its shares of every line from billing and draws only its salt from the stream.
 * @module
 */
import type { Address, Hex, LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { LINE_FIELDS, type Openings, openingOf, type SlotLine } from "./lines.ts";
import { openingStream, openingStreamKey, SHARE_BYTES } from "./openings.ts";

export class LedgerNodes {
  readonly accounts: readonly LocalAccount[];
  /** Each node's key for its shares and salts, derived from its signing key. */
  private readonly streamKeys: readonly Uint8Array[];

  /** @param keys the three nodes' secp256k1 private keys. */
  constructor(keys: readonly Hex[]) {
    if (keys.length !== 3) throw new RangeError(`the ledger takes three nodes, not ${keys.length}`);
    this.accounts = keys.map((key) => privateKeyToAccount(key));
    this.streamKeys = keys.map(openingStreamKey);
  }

  get addresses(): Address[] {
    return this.accounts.map((account) => account.address);
  }

  /** The three nodes' openings of a household's line of a slot. */
  openings(slot: string, household: Address, line: SlotLine): Openings {
    const streams = this.streamKeys.map((key) => openingStream(key, slot, household));
    const drawn = streams.map((stream) => {
      const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
      return LINE_FIELDS.map((_, field) => view.getBigUint64(field * 8));
    });
    const [first, second] = drawn as [bigint[], bigint[]];
    const third = LINE_FIELDS.map((field, i) => line[field] - (first[i] as bigint) - (second[i] as bigint));
    const shares = [first, second, third];
    return shares.map((own, node) =>
      openingOf(own, (streams[node] as Buffer).subarray(SHARE_BYTES)),
    ) as unknown as Openings;
  }
}
