/**
 * What every snippet program is told about a job besides its inputs: who asked and what the node
 * keeps (its registry, the orders of open slots, the kept commitments, the meters' readings, the kept
 * bills and lines) and its ledger key; and the channel a node answers a client on.
 * @module
 */
import type { Program } from "../mpc/programs.ts";
import type { KeptBills } from "./billing/kept.ts";
import type { IntentIntake } from "./clearing/intake.ts";
import type { KeptCommitments } from "./clearing/kept.ts";
import type { MeterIntake } from "./metering/intake.ts";
import type { RegisteredParty, Registry } from "./registry.ts";

/** What a node knows about a job besides its inputs: who asked, and what the node keeps. */
export interface JobContext {
  readonly job: string;
  /** The registered party that signed the request, if it was signed. */
  readonly requester?: RegisteredParty;
  /** Absent on a node without a registry: it serves only programs on the client's own inputs. */
  readonly registry?: Registry;
  /** The households' sealed intents of open slots. */
  readonly intents?: IntentIntake<Replier>;
  /** Each household's commitments of the slots cleared lately. */
  readonly commitments?: KeptCommitments;
  readonly meters?: MeterIntake;
  readonly bills?: KeptBills;
  /** This node's ledger identity, when it has a ledger key: it opens households' lines and signs postings. */
  readonly ledger?: NodeLedger;
}

/** A node's ledger key (secp256k1, 0x-hex) and the key of its openings' stream derived from it. */
export interface NodeLedger {
  readonly key: `0x${string}`;
  readonly streamKey: Uint8Array;
}

/** Where a node's answers to one client go: a header and, for shares, a body. */
export interface Replier {
  send(header: unknown, body?: Uint8Array): void;
}

/**
 * Handles a client message that is not a job request (a household's intent, a meter's reading) and
 * answers it; @returns why it was refused (the node counts refusals against the connection), or
 * undefined when it was taken.
 */
export type IntakeHandler = (
  client: Replier,
  header: Record<string, unknown>,
  body: Uint8Array,
) => string | undefined;

/** A snippet program: its context is a {@link JobContext}. */
export type SnippetProgram<Params> = Program<Params, JobContext>;
