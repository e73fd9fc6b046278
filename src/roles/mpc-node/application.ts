/**
 * What snippet's nodes serve: every program of src/private, the intake of households' orders and
 * meters' readings, and each job's context — the node's registry and what it keeps (the orders of
 * open slots, the meters' readings, the bills).
 * @module
 */
import type { PartyId } from "../../mpc/transport/types.ts";
import { KeptBills } from "../../private/billing/kept.ts";
import { OrderIntake } from "../../private/clearing/intake.ts";
import { holdOrder } from "../../private/clearing/slot.ts";
import type { Replier } from "../../private/context.ts";
import { MeterIntake } from "../../private/metering/intake.ts";
import { takeReading } from "../../private/metering/program.ts";
import { PROGRAMS } from "../../private/programs.ts";
import type { Registry } from "../../private/registry.ts";
import type { NodeApplication } from "./node.ts";

/** The application of node `party`, serving from `registry` (without one, only programs on a client's own inputs). */
export function snippetApplication(party: PartyId, registry: Registry | undefined): NodeApplication {
  const orders = new OrderIntake<Replier>();
  const kept =
    registry === undefined
      ? {}
      : { registry, meters: new MeterIntake(party, registry), bills: new KeptBills() };
  return {
    programs: PROGRAMS,
    intake: {
      order: (client, header, body) => holdOrder(orders, client, header, body),
      reading: (client, header) => takeReading(kept.meters, client, header),
    },
    context: (job, requester) => ({
      job,
      orders,
      ...(requester === undefined ? {} : { requester }),
      ...kept,
    }),
  };
}
