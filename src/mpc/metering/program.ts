/**
 * The `meter-totals` program (seed step 4, distribution): the import and export of a slot's meters
 * summed by group — the DSO's feeder zones, or a supplier's portfolio — returned as shares to the
 * client that asked, so that only the DSO (or the supplier) learns its totals and the nodes learn
 * nothing. Sums of shares are shares of the sum: no round between the nodes.
 * @module
 */
import { z } from "zod";
import { integerField } from "../../validation/index.ts";
import { type Shared, slice } from "../arithmetic.ts";
import type { Program } from "../programs.ts";

const MAX_METERS = 1_000_000;
const MAX_GROUPS = 10_000;

export const meterTotalsParamsSchema = z
  .strictObject({
    /** The slot's meters that reported, in the order of their shares. */
    meters: integerField(1, MAX_METERS, "not a meter count", `above ${MAX_METERS}`),
    groups: integerField(1, MAX_GROUPS, "not a group count", `above ${MAX_GROUPS}`),
    /** Each meter's group, or −1 for a meter outside every group (another supplier's customer). */
    groupOf: z.array(integerField(-1, MAX_GROUPS - 1, "not a group index", "not a group index")),
  })
  .superRefine((params, context) => {
    if (params.groupOf.length !== params.meters)
      context.addIssue({
        code: "custom",
        path: ["groupOf"],
        message: `has ${params.groupOf.length} entries for ${params.meters} meters`,
      });
    params.groupOf.forEach((group, m) => {
      if (group >= params.groups)
        context.addIssue({
          code: "custom",
          path: ["groupOf", m],
          message: `${group} is not below groups ${params.groups}`,
        });
    });
  });
export type MeterTotalsParams = z.infer<typeof meterTotalsParamsSchema>;

export const meterTotalsProgram: Program<MeterTotalsParams> = {
  description:
    "import and export totals of a slot's meters by group (zones, a portfolio); inputs: importWh of every " +
    "meter, then exportWh; out, as shares to the client: each group's import, then each group's export",
  params: meterTotalsParamsSchema,
  inputWords: ({ meters }) => 2 * meters,
  async run(_party, { meters, groups, groupOf }, inputs) {
    const totals = { own: new BigUint64Array(2 * groups), next: new BigUint64Array(2 * groups) };
    const add = (column: Shared, offset: number) => {
      for (let m = 0; m < meters; m++) {
        const group = groupOf[m] as number;
        if (group < 0) continue;
        totals.own[offset + group] = (totals.own[offset + group] as bigint) + (column.own[m] as bigint);
        totals.next[offset + group] = (totals.next[offset + group] as bigint) + (column.next[m] as bigint);
      }
    };
    add(slice(inputs, 0, meters), 0);
    add(slice(inputs, meters, 2 * meters), groups);
    return { outputs: totals };
  },
};
