/**
 * The broker's configuration file (broker.json): where it listens and stores, the nodes it drives and
 * the operator key it signs with, the slot calendar it runs and the community's billing model. Paths
 * are relative to the file. Also how a declared calendar becomes the fixed {@link CalendarSettings}
 * at the market's first start.
 * @module
 */
import { z } from "zod";
import { BILLING_MODELS, type BillingModel } from "../../billing/types.ts";
import { idField, integerField, oneOfField } from "../../validation/index.ts";
import { configRelative, configStore, listenSchema, loadServiceConfig, pathField } from "../service.ts";
import { type CalendarSettings, calendarSettingsSchema } from "./calendar.ts";

const MS_PER_MINUTE = 60_000;

/** The calendar as an operator declares it: the slot times, the pace, and where slot 0 starts. */
export const declaredCalendarSchema = z
  .strictObject({
    slotMinutes: calendarSettingsSchema.shape.slotMinutes,
    gateMinutes: calendarSettingsSchema.shape.gateMinutes,
    graceMinutes: calendarSettingsSchema.shape.graceMinutes,
    speed: calendarSettingsSchema.shape.speed.default(1),
    /**
     * Slot 0's start: an ISO 8601 time at a slot boundary (a replay of a scenario's days), or "next"
     * (the live market: the first slot boundary of the wall clock whose gate is still ahead).
     */
    origin: z
      .string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not a string` })
      .refine((origin) => origin === "next" || !Number.isNaN(Date.parse(origin)), {
        error: (issue) => `${JSON.stringify(issue.input)} is neither "next" nor an ISO 8601 time`,
      }),
    /** Wall seconds between the broker's first start and the market's first planning window. */
    startDelaySeconds: integerField(0, 86_400, "negative", "above a day").default(0),
    slots: calendarSettingsSchema.shape.slots,
  })
  .superRefine((calendar, context) => {
    if (calendar.origin === "next" || Number.isNaN(Date.parse(calendar.origin))) return;
    if (Date.parse(calendar.origin) % (calendar.slotMinutes * MS_PER_MINUTE) !== 0)
      context.addIssue({
        code: "custom",
        path: ["origin"],
        message: `${calendar.origin} is not at a slot boundary (slots start every ${calendar.slotMinutes} minutes from midnight UTC)`,
      });
  });
export type DeclaredCalendar = z.infer<typeof declaredCalendarSchema>;

export const brokerConfigSchema = z.strictObject({
  /** The HTTP API (with the health route `GET /health`); port 0: any free port. */
  listen: listenSchema,
  /** A PGlite folder, or a postgres:// URL. */
  store: pathField,
  /** The nodes' configuration (nodes.json), whose registry lists the community. */
  nodes: pathField,
  /** A key file in the format of registry.keys.json; the broker uses only the operator's key from it. */
  keys: pathField,
  /** The operator's party id in the registry: the broker signs its jobs on the nodes with its key. */
  operator: idField.default("operator"),
  calendar: declaredCalendarSchema,
  billingModel: oneOfField(BILLING_MODELS as [BillingModel, ...BillingModel[]]),
  /** A ledger folder the slots' results are posted to; absent: no posting. */
  ledger: pathField.optional(),
});
export type BrokerConfig = z.infer<typeof brokerConfigSchema>;

/**
 * Reads broker.json and resolves its paths against the file's folder (a PostgreSQL URL stays as it is).
 * @throws {@link ValidationError} naming the file and each bad field.
 */
export function loadBrokerConfig(path: string): BrokerConfig {
  const config = loadServiceConfig(path, brokerConfigSchema);
  const at = (file: string) => configRelative(path, file);
  return {
    ...config,
    store: configStore(path, config.store),
    nodes: at(config.nodes),
    keys: at(config.keys),
    ...(config.ledger === undefined ? {} : { ledger: at(config.ledger) }),
  };
}

/**
 * The calendar the market runs, fixed at its first start (wall time `firstStartMs`):
 *
 * - an ISO origin: market time reads `origin − L` (one slot length before slot 0) `startDelaySeconds`
 *   after the first start, so that slot 0 has a whole planning window before its gate, and then runs
 *   `speed` times the wall clock;
 * - "next": slot 0 starts at the first boundary of the wall clock's slots whose gate is at least
 *   `startDelaySeconds` away, and market time reads the wall time there (at speed 1, the wall clock).
 */
export function calendarSettingsOf(declared: DeclaredCalendar, firstStartMs: number): CalendarSettings {
  const slotMs = declared.slotMinutes * MS_PER_MINUTE;
  const delayMs = declared.startDelaySeconds * 1000;
  const common = {
    slotMinutes: declared.slotMinutes,
    gateMinutes: declared.gateMinutes,
    graceMinutes: declared.graceMinutes,
    speed: declared.speed,
    ...(declared.slots === undefined ? {} : { slots: declared.slots }),
  };
  if (declared.origin === "next") {
    const gateWallMs = Math.ceil((declared.gateMinutes * MS_PER_MINUTE) / declared.speed);
    const originMs = Math.ceil((firstStartMs + delayMs + gateWallMs) / slotMs) * slotMs;
    return { ...common, originMs, wallAtOriginMs: originMs };
  }
  return {
    ...common,
    originMs: Date.parse(declared.origin),
    wallAtOriginMs: firstStartMs + delayMs + Math.ceil(slotMs / declared.speed),
  };
}
