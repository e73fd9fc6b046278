/**
 * A live run's outputs as `snippet simulate` writes them: each slot's record put together from what
 * the households kept on their own devices (their order, commitments, reading and bill, with the
 * slot's public figures), which only the person who runs every home of a demo deployment holds. The
 * bilateral trades are listed as the reference lists them: sellers by id, each in its priority order.
 * @module
 */
import type { HouseholdSlotRecord, SlotRecord } from "../billing/record.ts";
import { compareIds } from "../market/auction.ts";
import type { OwnSlotRecord } from "../roles/household/records.ts";

/**
 * The run's slot records `[0, slots)` from every household's own records, households in the
 * scenario's order.
 * @throws an Error naming the household and slot a record is missing for, or whose public part
 * differs between households (they all read the same board).
 */
export function slotRecordsOf(
  householdIds: readonly string[],
  ownRecords: ReadonlyMap<string, readonly OwnSlotRecord[]>,
  slots: number,
): SlotRecord[] {
  const byIndex = householdIds.map((id) => {
    const records = new Map((ownRecords.get(id) ?? []).map((record) => [record.index, record]));
    return { id, records };
  });
  const result: SlotRecord[] = [];
  for (let index = 0; index < slots; index++) {
    const rows = byIndex.map(({ id, records }) => {
      const record = records.get(index);
      if (record === undefined) throw new Error(`household ${id} kept no record of slot ${index}`);
      return record;
    });
    const first = rows[0];
    if (first === undefined) throw new Error("a run needs at least one household");
    for (const row of rows) {
      if (publicKey(row) !== publicKey(first))
        throw new Error(
          `household ${row.own.id} read other public figures of slot ${index} than ${first.own.id}`,
        );
    }
    const households = rows.map((row) => row.own);
    result.push({
      index,
      slot: first.slot,
      prices: first.prices,
      clearingPrice: first.clearingPrice,
      communityVolumeWh: first.communityVolumeWh,
      bilateral: bilateralTrades(households),
      ...(first.zones === undefined ? {} : { zones: first.zones }),
      households,
    });
  }
  return result;
}

function publicKey(record: OwnSlotRecord): string {
  const { slot, prices, clearingPrice, communityVolumeWh, zones } = record;
  return JSON.stringify({ slot, prices, clearingPrice, communityVolumeWh, zones });
}

/** The slot's bilateral trades from the sellers' commitments: sellers by id, each in its priority order. */
function bilateralTrades(households: readonly HouseholdSlotRecord[]): SlotRecord["bilateral"] {
  return [...households]
    .sort((a, b) => compareIds(a.id, b.id))
    .flatMap((household) =>
      household.committed.bilateral
        .filter((trade) => trade.side === "sell")
        .map((trade) => ({
          seller: household.id,
          buyer: trade.partner,
          volumeWh: trade.volumeWh,
          price: trade.price,
        })),
    );
}
