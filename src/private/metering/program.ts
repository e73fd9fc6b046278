/**
 * What the nodes give out of the readings they keep (seed step 4, distribution), each to its own
 * party only and as shares, so the nodes open nothing:
 * - `meter-totals` to the DSO, every feeder zone's import and export of a slot; to a supplier, its
 *   portfolio's. The groups come from the registry, never from the request, and a group with fewer
 *   reported meters than the registry's `minGroupMeters` is withheld: no one can ask for a total
 *   that is one household's reading.
 * - `meter-readings` to a household, its own meter's readings of the slots it names.
 * Sums of shares are shares of the sum: no round between the nodes. Also the intake of a meter's
 * reading and the operator's close of a slot's metering (`meter-close`), which refuses implausible
 * readings on shares, opening one bit per meter (plausibility.ts).
 * @module
 */
import { z } from "zod";
import { idField, oneOfField, slotTimeField } from "../../validation/index.ts";
import { askedSlotsField, refuseUnkept, refuseWithoutRegistry } from "../access.ts";
import type { JobContext, Replier, SnippetProgram } from "../context.ts";
import { METER_CLOSE_PROGRAM, type MeterIntake, readingJob } from "./intake.ts";
import { implausibleReadings } from "./plausibility.ts";

const meterTotalsParamsSchema = z.strictObject({
  slot: slotTimeField,
  /** The DSO's feeder zones, or the asking supplier's portfolio. */
  by: oneOfField(["zone", "supplier"]),
});
type MeterTotalsParams = z.infer<typeof meterTotalsParamsSchema>;

/** What the asking party learns besides the totals: the groups, how many meters each covers, which are withheld. */
export interface MeterTotalsPublic {
  readonly slot: string;
  readonly groups: readonly { readonly id: string; readonly meters: number; readonly withheld: boolean }[];
}

export const meterTotalsProgram: SnippetProgram<MeterTotalsParams> = {
  description:
    "a slot's import and export totals by feeder zone (to the DSO) or of the asking supplier's portfolio, " +
    "from the readings the nodes keep; out, as shares to the asking party: each group's import, then each " +
    "group's export (0 for a withheld group)",
  params: meterTotalsParamsSchema,
  inputWords: () => 0,
  refuse({ slot, by }, context) {
    const role = by === "zone" ? "dso" : "supplier";
    return (
      refuseWithoutRegistry(context) ??
      (context.requester?.role === role
        ? undefined
        : `only the ${role === "dso" ? "DSO" : "supplier"} asks totals by ${by}`) ??
      refuseUnkept(context, slot)
    );
  },
  async run(_party, { slot, by }, _inputs, context) {
    const { registry, meters, requester } = context as Required<JobContext>;
    const stored = meters.readings(slot);
    if (stored === undefined) throw new Error(`the readings of slot ${slot} are not kept`);
    const groupOfMeter = new Map<string, string>();
    for (const meter of registry.meters.values()) {
      if (by === "zone") groupOfMeter.set(meter.id, meter.zone);
      else if (meter.supplier === requester.id) groupOfMeter.set(meter.id, requester.id);
    }
    const groups = [...new Set(groupOfMeter.values())].sort();
    const reported = new Map(groups.map((group) => [group, [] as number[]]));
    for (const [meter, k] of stored.index) {
      const group = groupOfMeter.get(meter);
      if (group !== undefined) reported.get(group)?.push(k);
    }
    const totals = {
      own: new BigUint64Array(2 * groups.length),
      next: new BigUint64Array(2 * groups.length),
    };
    const described = groups.map((id, g) => {
      const positions = reported.get(id) ?? [];
      const withheld = positions.length < registry.minGroupMeters;
      if (!withheld)
        for (const [offset, column] of [
          [0, stored.importWh],
          [groups.length, stored.exportWh],
        ] as const)
          for (const part of ["own", "next"] as const)
            totals[part][offset + g] = sumAt(column[part], positions);
      return { id, meters: positions.length, withheld };
    });
    const figures: MeterTotalsPublic = { slot, groups: described };
    return { public: figures, outputs: totals };
  },
};

const meterReadingsParamsSchema = z.strictObject({ slots: askedSlotsField });
type MeterReadingsParams = z.infer<typeof meterReadingsParamsSchema>;

/** Which of the asked slots have no reading of the household's meter (not reported, or no longer kept). */
export interface MeterReadingsPublic {
  readonly meter: string;
  readonly missing: readonly string[];
}

export const meterReadingsProgram: SnippetProgram<MeterReadingsParams> = {
  description:
    "the asking household's own meter readings of the slots it names, from the readings the nodes keep; " +
    "out, as shares to it: importWh of every slot, then exportWh (0 where missing)",
  params: meterReadingsParamsSchema,
  inputWords: () => 0,
  refuse({ slots }, context) {
    const problem = refuseWithoutRegistry(context);
    if (problem !== undefined) return problem;
    const { requester, registry, meters } = context as Required<JobContext>;
    if (requester?.role !== "household" || !registry.meterOf.has(requester.id))
      return "only a household with a meter asks for its readings";
    const open = slots.find((slot) => !meters.isClosed(slot));
    return open === undefined ? undefined : `metering of slot ${open} is not closed`;
  },
  async run(_party, { slots }, _inputs, context) {
    const { registry, meters, requester } = context as Required<JobContext>;
    const meter = registry.meterOf.get(requester.id) as string;
    const readings = {
      own: new BigUint64Array(2 * slots.length),
      next: new BigUint64Array(2 * slots.length),
    };
    const missing: string[] = [];
    slots.forEach((slot, t) => {
      const stored = meters.readings(slot);
      const k = stored?.index.get(meter);
      if (stored === undefined || k === undefined) {
        missing.push(slot);
        return;
      }
      for (const part of ["own", "next"] as const) {
        readings[part][t] = stored.importWh[part][k] as bigint;
        readings[part][slots.length + t] = stored.exportWh[part][k] as bigint;
      }
    });
    const figures: MeterReadingsPublic = { meter, missing };
    return { public: figures, outputs: readings };
  },
};

function sumAt(column: BigUint64Array, positions: readonly number[]): bigint {
  let sum = 0n;
  for (const k of positions) sum += column[k] as bigint;
  return BigInt.asUintN(64, sum);
}

/**
 * Takes a meter's reading into the intake and answers the meter: held, or refused with the reason.
 * A message that does not even name a meter and a slot answers as an unreadable request.
 */
export function takeReading(
  meters: MeterIntake | undefined,
  meter: Replier,
  header: Record<string, unknown>,
  body: Uint8Array,
): string | undefined {
  const sealed = header.reading;
  const named =
    typeof sealed === "object" && sealed !== null && "sender" in sealed && "slot" in sealed
      ? { meter: String(sealed.sender), slot: String(sealed.slot) }
      : undefined;
  if (named === undefined || idField.safeParse(named.meter).success === false) {
    const message = "bad reading: it names no meter and slot";
    meter.send({ type: "error", job: "", message });
    return message;
  }
  const refusal =
    meters === undefined ? { reason: "this node keeps no meter registry" } : meters.accept(sealed, body);
  meter.send({
    type: "reading",
    job: readingJob(named.slot),
    meter: named.meter,
    refused: refusal?.reason ?? null,
    ...(refusal?.code === undefined ? {} : { code: refusal.code }),
  });
  return refusal?.reason;
}

/**
 * The operator closes a slot's metering: the three nodes keep the readings all of them hold, less
 * those their plausibility check refuses (one bit opened per meter), which they report. Asked again
 * for a slot it closed, the nodes answer the same from what they keep and change nothing: a broker
 * that restarted before it stored the answer gets it.
 */
export const meterCloseProgram: SnippetProgram<{ slot: string }> = {
  description:
    `${METER_CLOSE_PROGRAM}: closes a slot's metering, keeping the readings all three nodes hold except ` +
    "those above their connection's capacity, which are reported (one bit opened per meter); operator " +
    "only, once (a repeat answers the same)",
  params: z.strictObject({ slot: slotTimeField }),
  inputWords: () => 0,
  refuse({ slot }, context) {
    const { meters } = context;
    if (meters === undefined) return "this node keeps no meter registry";
    if (context.requester?.role !== "operator") return "only the operator closes a slot's metering";
    return meters.isClosed(slot) && meters.closedAnswer(slot) === undefined
      ? `metering of slot ${slot} was closed and its readings are no longer kept`
      : undefined;
  },
  held: ({ slot }, context) => context.meters?.held(slot) ?? [],
  async run(party, { slot }, _inputs, context, agreed = new Set<string>()) {
    const { meters, registry } = context as Required<JobContext>;
    const again = meters.isClosed(slot) ? meters.closedAnswer(slot) : undefined;
    if (again !== undefined) return { public: again };
    const implausible = await implausibleReadings(party, meters.pending(slot, agreed), registry);
    return { public: meters.close(slot, agreed, implausible) };
  },
};
