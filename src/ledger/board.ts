/**
 * A community ledger's folder: where its contracts are and who is registered (`deployment.json`), the
 * development keys a simulation plays the parties with (`keys.json`, owner-only), the embedded chain
 * (`chain.json`), and the public board — what the nodes publish beside each posting so anyone can
 * check it: per slot the signed result, its public inputs and its lines' leaves (`slots.jsonl`), per
 * period the bills' leaves (`periods.jsonl`). A demonstration run also records the faults it injected
 * (`faults.jsonl`). Every file is validated when read.
 * @module
 */
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { z } from "zod";
import { BILLING_MODELS } from "../billing/types.ts";
import { parseJsonText, parseWith, ValidationError } from "../validation/index.ts";
import { LINE_FIELDS, type SlotLine } from "./lines.ts";
import type { SlotResult } from "./slot-result.ts";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "an address (0x and 40 hex digits)") as unknown as z.ZodType<Address>;
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "32 bytes (0x and 64 hex digits)") as unknown as z.ZodType<Hex>;
const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, "hex bytes") as unknown as z.ZodType<Hex>;
const integer = z.number().int();

const deploymentSchema = z.strictObject({
  version: z.literal(1),
  /** null: the embedded chain saved in chain.json. */
  rpcUrl: z.string().url().nullable(),
  chainId: integer.positive(),
  ledger: address,
  token: address,
  operator: address,
  supplier: address,
  nodes: z.array(address).length(3),
  threshold: integer.min(1).max(3),
  model: z.enum(BILLING_MODELS as [string, ...string[]]),
  disputeWindowSeconds: integer.nonnegative(),
  disputeBond: z.string().regex(/^\d+$/, "money units as a decimal string"),
  households: z.array(z.strictObject({ id: z.string().min(1), address, meter: address })),
  /** The simulation run whose store holds the households' own data. */
  run: z.strictObject({ db: z.string(), id: z.string() }).optional(),
});

/** Where a community's ledger is and who it knows (`deployment.json`). */
export type Deployment = z.infer<typeof deploymentSchema> & { model: (typeof BILLING_MODELS)[number] };

const keysSchema = z.strictObject({
  payer: bytes32,
  supplier: bytes32,
  nodes: z.array(bytes32).length(3),
  households: z.record(z.string(), bytes32),
  meters: z.record(z.string(), bytes32),
});

/** The development keys a simulation plays every party with (`keys.json`). */
export type DeploymentKeys = z.infer<typeof keysSchema>;

const resultSchema = z.strictObject({
  slot: z.string().datetime({ offset: true }),
  period: z.string().regex(/^\d{4}-\d{2}$/),
  inputs: bytes32,
  clearingPrice: integer.nullable(),
  volumeWh: integer.nonnegative(),
  feedIn: integer.nonnegative(),
  retail: integer.nonnegative(),
  totalDeviationWh: integer,
  sharers: integer.nonnegative(),
  sharersDeviationWh: integer.nonnegative(),
  linesRoot: bytes32,
});

const slotEntrySchema = z.strictObject({
  /** The slot's position in the run. */
  index: integer.nonnegative(),
  result: resultSchema,
  /** What `inputs` commits to. */
  publicInputs: z.strictObject({ networkFee: integer.nonnegative(), households: integer.nonnegative() }),
  signatures: z.array(hex),
  /** One per registered household, in registration order. */
  leaves: z.array(bytes32),
});

/** A slot as the board publishes it. */
export type SlotEntry = Omit<z.infer<typeof slotEntrySchema>, "result"> & { result: SlotResult };

const periodEntrySchema = z.strictObject({
  period: z.string().regex(/^\d{4}-\d{2}$/),
  billsRoot: bytes32,
  signatures: z.array(hex),
  leaves: z.array(bytes32),
});

/** A billing period as the board publishes it. */
export type PeriodEntry = z.infer<typeof periodEntrySchema>;

const faultSchema = z.strictObject({
  slot: z.string(),
  household: z.string(),
  line: z.record(z.string(), z.string().regex(/^-?\d+$/)),
});

/** The files of a ledger folder. */
export class LedgerFolder {
  /** The board as read once (a year's board is large), kept up to date by this folder's appends. */
  #slots: Map<string, SlotEntry> | undefined;
  #periods: Map<string, PeriodEntry> | undefined;

  constructor(readonly dir: string) {}

  get chainPath(): string {
    return join(this.dir, "chain.json");
  }

  exists(): boolean {
    return existsSync(join(this.dir, "deployment.json"));
  }

  writeDeployment(deployment: Deployment, keys: DeploymentKeys): void {
    writeFileSync(join(this.dir, "deployment.json"), `${JSON.stringify(deployment, null, 2)}\n`);
    const keysPath = join(this.dir, "keys.json");
    writeFileSync(keysPath, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
    chmodSync(keysPath, 0o600);
  }

  deployment(): Deployment {
    return this.#read("deployment.json", deploymentSchema) as Deployment;
  }

  keys(): DeploymentKeys {
    return this.#read("keys.json", keysSchema);
  }

  appendSlot(entry: SlotEntry): void {
    appendFileSync(join(this.dir, "slots.jsonl"), `${JSON.stringify(entry)}\n`);
    this.#slots?.set(entry.result.slot, entry);
  }

  appendPeriod(entry: PeriodEntry): void {
    appendFileSync(join(this.dir, "periods.jsonl"), `${JSON.stringify(entry)}\n`);
    this.#periods?.set(entry.period, entry);
  }

  /** Records a fault a run injected: the line the nodes committed in place of the household's true one. */
  appendFault(fault: { slot: string; household: string; line: SlotLine }): void {
    const line = Object.fromEntries(LINE_FIELDS.map((field) => [field, String(fault.line[field])]));
    appendFileSync(join(this.dir, "faults.jsonl"), `${JSON.stringify({ ...fault, line })}\n`);
  }

  /** The injected faults, by `slot|household`. */
  faults(): Map<string, SlotLine> {
    return new Map(
      this.#lines("faults.jsonl", faultSchema).map((fault) => [
        `${fault.slot}|${fault.household}`,
        Object.fromEntries(LINE_FIELDS.map((field) => [field, BigInt(fault.line[field] ?? 0)])) as SlotLine,
      ]),
    );
  }

  /** The board's slots, by slot start. */
  slots(): ReadonlyMap<string, SlotEntry> {
    this.#slots ??= new Map(
      this.#lines("slots.jsonl", slotEntrySchema).map((entry) => [entry.result.slot, entry as SlotEntry]),
    );
    return this.#slots;
  }

  /** The board's periods, by period. */
  periods(): ReadonlyMap<string, PeriodEntry> {
    this.#periods ??= new Map(
      this.#lines("periods.jsonl", periodEntrySchema).map((entry) => [entry.period, entry]),
    );
    return this.#periods;
  }

  #read<T>(name: string, schema: z.ZodType<T>): T {
    const path = join(this.dir, name);
    if (!existsSync(path))
      throw new ValidationError([{ path, message: "missing: is this a ledger folder (simulate --ledger)?" }]);
    return parsed(path, schema, readFileSync(path, "utf8"));
  }

  #lines<T>(name: string, schema: z.ZodType<T>): T[] {
    const path = join(this.dir, name);
    if (!existsSync(path)) return [];
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line, i) => parsed(`${path}:${i + 1}`, schema, line));
  }
}

/** Parses one file or line, naming it in every problem. */
function parsed<T>(where: string, schema: z.ZodType<T>, text: string): T {
  try {
    return parseWith(schema, parseJsonText(text));
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(error.issues.map((issue) => ({ ...issue, path: `${where}: ${issue.path}` })));
  }
}
