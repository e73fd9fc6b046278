/**
 * Access rules the programs on what the nodes keep share: a node must keep a registry, a slot's
 * readings must be closed and still kept, and a party asks for at most a month of its own slots.
 * @module
 */
import { z } from "zod";
import { slotTimeField } from "../validation/index.ts";
import type { JobContext } from "./context.ts";

/** How many slots a household may ask for at once: a 31-day month of 15-minute slots. */
const MAX_ASKED_SLOTS = 31 * 96;

/** The slots a household asks for its own figures of. */
export const askedSlotsField = z
  .array(slotTimeField)
  .min(1, { error: () => "is empty" })
  .max(MAX_ASKED_SLOTS, { error: () => `lists more than ${MAX_ASKED_SLOTS} slots` });

/** A node without a registry keeps no readings and knows no parties. */
export function refuseWithoutRegistry(context: JobContext): string | undefined {
  return context.registry === undefined || context.meters === undefined || context.bills === undefined
    ? "this node keeps no meter registry"
    : undefined;
}

/** Whether a closed slot's readings are still there. */
export function refuseUnkept(context: JobContext, slot: string): string | undefined {
  if (!context.meters?.isClosed(slot)) return `metering of slot ${slot} is not closed`;
  return context.meters.readings(slot) === undefined
    ? `the readings of slot ${slot} are no longer kept`
    : undefined;
}
