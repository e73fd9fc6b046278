/**
 * The public board as the broker's HTTP API serves it and every other role reads it: the calendar,
 * each slot's tariffs and limits, its public figures once cleared, metered and billed, and the live
 * updates that announce each change. Only what live.md's "Who learns what" gives the public: no
 * intent, fill, commitment, reading or bill of any household appears here.
 * @module
 */
import { z } from "zod";
import { energyField, idField, integerField, priceField, slotTimeField } from "../../validation/index.ts";
import { calendarSettingsSchema } from "./calendar.ts";

/**
 * Where a slot is on its time line: `open` (intents go to the nodes until the gate), `cleared` (the
 * households have their commitments), `uncleared` (the nodes could not clear it: every household
 * deals with its supplier; the reason says why), `billed` (metering closed and the bills are made),
 * `posted` (the nodes' signed result is on the ledger).
 */
export const SLOT_PHASES = ["open", "cleared", "uncleared", "billed", "posted"] as const;
export type SlotPhase = (typeof SLOT_PHASES)[number];

/** The slot's tariffs: the supplier's feed-in and retail price and the DSO's network fee, money per kWh units. */
export const slotPricesSchema = z.strictObject({
  feedIn: priceField,
  retail: priceField,
  networkFee: priceField,
});
export type SlotPrices = z.infer<typeof slotPricesSchema>;

/** The DSO's limits of a feeder zone for a slot, Wh. */
export const zoneLimitSchema = z.strictObject({
  id: idField,
  exportLimitWh: energyField,
  importLimitWh: energyField,
});

const zoneFigureSchema = z.strictObject({
  id: idField,
  clearingPrice: priceField.nullable(),
  netExportWh: z.number().int(),
});

export const boardSlotSchema = z.strictObject({
  index: z.number().int().nonnegative(),
  slot: slotTimeField,
  phase: z.enum(SLOT_PHASES),
  /** Market times (ISO 8601) at which intents close and readings close. */
  gateAt: slotTimeField,
  meteringCloseAt: slotTimeField,
  /**
   * Absent only while a slot left uncleared because no tariff was published by its gate waits for it:
   * it is billed with the tariffs published later.
   */
  prices: slotPricesSchema.optional(),
  zoneLimits: z.array(zoneLimitSchema).optional(),
  /** The community's result, once cleared. */
  clearing: z
    .strictObject({
      clearingPrice: priceField.nullable(),
      volumeWh: energyField,
      zones: z.array(zoneFigureSchema).optional(),
      /** Intents that counted, were refused as invalid, and reached only some nodes (null intents). */
      intents: z.number().int().nonnegative(),
      refused: z.number().int().nonnegative(),
      leftOut: z.number().int().nonnegative(),
    })
    .optional(),
  /** Why the slot was left to the supplier (a node down, no tariff published…). */
  uncleared: z.string().optional(),
  /** The slot's metering, once closed: which meters reported (live.md lets the platform know). */
  metering: z
    .strictObject({
      reported: z.number().int().nonnegative(),
      missing: z.array(idField),
      implausible: z.array(z.strictObject({ meter: idField, reason: z.string() })),
    })
    .optional(),
  /** The billing's public figures (spec/billing.md): TD, and the sharers and their deviation. */
  billing: z
    .strictObject({
      totalDeviationWh: z.number().int(),
      sharers: z.number().int().nonnegative(),
      sharedWh: z.number().int().nonnegative(),
    })
    .optional(),
  /** The ledger posting, once posted. */
  posting: z
    .strictObject({
      transaction: z.string(),
      linesRoot: z.string(),
      signers: z.array(z.number().int().min(0).max(2)),
    })
    .optional(),
});
export type BoardSlot = z.infer<typeof boardSlotSchema>;

/** The calendar as the API serves it. */
export const calendarSchema = calendarSettingsSchema.extend({
  /** The community's billing model (spec/billing.md). */
  billingModel: z.enum(["ucs-uniform", "ucs-proportional"]),
});
export type Calendar = z.infer<typeof calendarSchema>;

/** A live update: each change of a slot on the board, numbered so a client resumes where it left off. */
export const boardEventSchema = z.strictObject({
  /** Increases by one with each event; SSE's `id`, so a reconnecting client gets what it missed. */
  seq: z.number().int().nonnegative(),
  type: z.literal("slot"),
  slot: boardSlotSchema,
});
export type BoardEvent = z.infer<typeof boardEventSchema>;

/** At most this many slots per publication. */
export const MAX_PUBLISHED_SLOTS = 96 * 31;

/** A supplier publishes its tariffs of coming slots (signed with its registry key). */
export const tariffPublicationSchema = z.strictObject({
  slots: z
    .array(z.strictObject({ slot: slotTimeField, feedIn: priceField, retail: priceField }))
    .min(1, { error: "lists no slot" })
    .max(MAX_PUBLISHED_SLOTS),
});
export type TariffPublication = z.infer<typeof tariffPublicationSchema>;

/** The DSO publishes its network fee and zone limits of coming slots (signed with its registry key). */
export const networkPublicationSchema = z.strictObject({
  slots: z
    .array(
      z.strictObject({
        slot: slotTimeField,
        networkFee: priceField,
        zoneLimits: z.array(zoneLimitSchema).optional(),
      }),
    )
    .min(1, { error: "lists no slot" })
    .max(MAX_PUBLISHED_SLOTS),
});
export type NetworkPublication = z.infer<typeof networkPublicationSchema>;

/** The public part of the registry: who is registered, the meters' places, the partnership graph, the zones. */
export const publicRegistrySchema = z.strictObject({
  minGroupMeters: integerField(1, 1_000_000, "not positive", "above 10^6"),
  parties: z.array(z.strictObject({ id: idField, role: z.string(), zone: idField.optional() })),
  meters: z.array(z.strictObject({ id: idField, household: idField, zone: idField, supplier: idField })),
  pairs: z.array(z.strictObject({ seller: idField, buyer: idField })),
  zones: z.array(zoneLimitSchema).optional(),
});
export type PublicRegistry = z.infer<typeof publicRegistrySchema>;
