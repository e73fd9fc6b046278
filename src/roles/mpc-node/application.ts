/**
 * What snippet's nodes serve: every program of src/private, the intake of households' slot intents
 * and of meters' readings, and each job's context — the node's registry and what it keeps (the
 * intents of open slots, the commitments of cleared ones, the meters' readings, the bills), every
 * change told to its recorder.
 * @module
 */
import { openingStreamKey } from "../../ledger/openings.ts";
import type { PartyId } from "../../mpc/transport/types.ts";
import { KeptBills } from "../../private/billing/kept.ts";
import type { ChangeRecorder } from "../../private/changes.ts";
import { IntentIntake } from "../../private/clearing/intake.ts";
import { holdIntent } from "../../private/clearing/intents.ts";
import { KeptCommitments } from "../../private/clearing/kept.ts";
import type { NodeLedger, Replier } from "../../private/context.ts";
import { MeterIntake } from "../../private/metering/intake.ts";
import { takeReading } from "../../private/metering/program.ts";
import { PROGRAMS } from "../../private/programs.ts";
import type { Registry } from "../../private/registry.ts";
import type { NodeApplication } from "./node-application.ts";

/** The intents each application holds, for the hand-over to the one rebuilt after it. */
const intentsOf = new WeakMap<NodeApplication, IntentIntake<Replier>>();

/**
 * The application of node `party`, serving from `registry` (without one, only programs on a client's
 * own inputs), telling `recorder` of every change; with its ledger key, it opens households' lines
 * and signs postings.
 */
export function snippetApplication(
  party: PartyId,
  registry: Registry | undefined,
  recorder?: ChangeRecorder,
  ledgerKey?: `0x${string}`,
): NodeApplication {
  const intents = new IntentIntake<Replier>(recorder);
  const ledger: NodeLedger | undefined =
    ledgerKey === undefined ? undefined : { key: ledgerKey, streamKey: openingStreamKey(ledgerKey) };
  const kept =
    registry === undefined
      ? {}
      : {
          registry,
          meters: new MeterIntake(party, registry, recorder === undefined ? {} : { recorder }),
          bills: new KeptBills(recorder),
          commitments: new KeptCommitments(recorder),
        };
  const { meters, bills, commitments } = kept;
  const application: NodeApplication = {
    programs: PROGRAMS,
    intake: {
      intent: (client, header, body) => holdIntent(intents, registry, party, client, header, body),
      reading: (client, header, body) => takeReading(meters, client, header, body),
    },
    context: (job, requester) => ({
      job,
      intents,
      ...(requester === undefined ? {} : { requester }),
      ...kept,
      ...(ledger === undefined ? {} : { ledger }),
    }),
    restore: (change) =>
      intents.restore(change) ||
      meters?.restore(change) === true ||
      bills?.restore(change) === true ||
      commitments?.restore(change) === true,
    snapshot: () => [
      ...intents.snapshot(),
      ...(meters?.snapshot() ?? []),
      ...(bills?.snapshot() ?? []),
      ...(commitments?.snapshot() ?? []),
    ],
    handOver: (next) => {
      const theirs = intentsOf.get(next);
      if (theirs !== undefined) intents.handOver(theirs);
    },
  };
  intentsOf.set(application, intents);
  return application;
}
