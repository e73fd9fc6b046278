/**
 * Group totals on running nodes: the DSO asks for every feeder zone's import and export of a slot, a
 * supplier for its portfolio's; each signs its request and alone rebuilds the totals.
 * @module
 */
import type { Signer } from "../../private/keys.ts";
import type { MeterTotalsPublic } from "../../private/metering/program.ts";
import type { NodeClient } from "../mpc-node/client.ts";

/** A group's totals as its party rebuilds them; a withheld group has none. */
export interface GroupTotals {
  readonly id: string;
  readonly meters: number;
  readonly totals: { readonly importWh: number; readonly exportWh: number } | null;
}

/** The DSO's zone totals (`by: "zone"`) or a supplier's portfolio totals (`by: "supplier"`) of a slot. */
export async function meterTotals(
  client: NodeClient,
  slot: string,
  by: "zone" | "supplier",
  signer: Signer,
): Promise<GroupTotals[]> {
  const outcome = await client.run("meter-totals", { slot, by }, new BigUint64Array(0), { signer });
  const { groups } = outcome.public as MeterTotalsPublic;
  return groups.map(({ id, meters, withheld }, g) => ({
    id,
    meters,
    totals: withheld
      ? null
      : { importWh: Number(outcome.outputs[g]), exportWh: Number(outcome.outputs[groups.length + g]) },
  }));
}
