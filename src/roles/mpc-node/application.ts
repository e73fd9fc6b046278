/**
 * What snippet's nodes serve: every program of src/private, the intake of households' slot intents
 * (and of single orders, for the community stage alone) and of meters' readings, and each job's
 * context — the node's registry and what it keeps (the intents and orders of open slots, the
 * meters' readings, the bills).
 * @module
 */
import type { PartyId } from "../../mpc/transport/types.ts";
import { KeptBills } from "../../private/billing/kept.ts";
import { IntentIntake } from "../../private/clearing/intake.ts";
import { holdIntent } from "../../private/clearing/intents.ts";
import type { Replier } from "../../private/context.ts";
import { MeterIntake } from "../../private/metering/intake.ts";
import { takeReading } from "../../private/metering/program.ts";
import { PROGRAMS } from "../../private/programs.ts";
import type { Registry } from "../../private/registry.ts";
import type { NodeApplication } from "./node.ts";

/** The application of node `party`, serving from `registry` (without one, only programs on a client's own inputs). */
export function snippetApplication(party: PartyId, registry: Registry | undefined): NodeApplication {
  const intents = new IntentIntake<Replier>();

  const kept =
    registry === undefined
      ? {}
      : { registry, meters: new MeterIntake(party, registry), bills: new KeptBills() };
  return {
    programs: PROGRAMS,
    intake: {
      intent: (client, header, body) => holdIntent(intents, registry, party, client, header, body),
      reading: (client, header) => takeReading(kept.meters, client, header),
    },
    context: (job, requester) => ({
      job,
      intents,
      ...(requester === undefined ? {} : { requester }),
      ...kept,
    }),
  };
}
