/**
 * The programs a node runs on a client's request: each names its public parameters, how many
 * shared input words it takes, and what it opens or returns to the client as shares.
 * @module
 */
import { z } from "zod";
import { integerField, parseWith } from "../validation/index.ts";
import { concat, mul, type Shared, slice } from "./arithmetic.ts";
import { type KeptBills, periodBillsProgram, periodCloseProgram, slotBillsProgram } from "./billing/kept.ts";
import { billProgram } from "./billing/program.ts";
import { searchClearingPrice } from "./clearing/price-search.ts";
import { clearProgram } from "./clearing/program.ts";
import { equals, lessThan, MAX_COMPARE_BITS } from "./compare.ts";
import type { MeterIntake } from "./metering/intake.ts";
import { meterReadingsProgram, meterTotalsProgram } from "./metering/program.ts";
import type { Party } from "./party.ts";
import type { RegisteredParty, Registry } from "./registry.ts";
import { shuffle } from "./shuffle.ts";
import { concatWords } from "./words.ts";

/** What a program gives back: public results and shares for the client that asked. */
export interface ProgramResult {
  public?: unknown;
  outputs?: Shared;
}

/** What a node knows about a job besides its inputs: who asked, and what the node keeps. */
export interface JobContext {
  readonly job: string;
  /** The registered party that signed the request, if it was signed. */
  readonly requester?: RegisteredParty;
  /** Absent on a node without a registry: it serves only programs on the client's own inputs. */
  readonly registry?: Registry;
  readonly meters?: MeterIntake;
  readonly bills?: KeptBills;
}

/** A computation the nodes run together on one client's shared inputs, or on what they keep. */
export interface Program<Params> {
  readonly description: string;
  readonly params: z.ZodType<Params>;
  /** Shared input words the client must send for these parameters. */
  inputWords(params: Params): number;
  /**
   * Why this node will not run it for this request (who asks, what the node lacks); checked by all
   * three nodes when the job's turn comes, so they refuse together. Absent: anyone may run it.
   */
  refuse?(params: Params, context: JobContext): string | undefined;
  run(party: Party, params: Params, inputs: Shared, context?: JobContext): Promise<ProgramResult>;
}

/** The most values one request may carry (a 10^6-value comparison's inputs are 2·10^6 words). */
export const MAX_PROGRAM_VALUES = 4_000_000;

const countField = integerField(1, MAX_PROGRAM_VALUES, "not a positive count", `above ${MAX_PROGRAM_VALUES}`);
const bitsField = integerField(2, MAX_COMPARE_BITS, "not a bit length", `above ${MAX_COMPARE_BITS} bits`);

const multiply: Program<{ n: number; depth: number }> = {
  description:
    "x·y^depth element-wise for inputs x, y of n values: depth dependent rounds of n multiplications",
  params: z.strictObject({ n: countField, depth: integerField(1, 64, "not a positive depth", "above 64") }),
  inputWords: ({ n }) => 2 * n,
  async run(party, { n, depth }, inputs) {
    const y = slice(inputs, n, 2 * n);
    let product = slice(inputs, 0, n);
    for (let round = 0; round < depth; round++) product = await mul(party, product, y);
    return { outputs: product };
  },
};

/** A program on two input vectors a, b of n values each, with a bit length. */
function pairwise(
  description: string,
  operation: (party: Party, a: Shared, b: Shared, bits: number) => Promise<Shared>,
): Program<{ n: number; bits: number }> {
  return {
    description,
    params: z.strictObject({ n: countField, bits: bitsField }),
    inputWords: ({ n }) => 2 * n,
    run: async (party, { n, bits }, inputs) => ({
      outputs: await operation(party, slice(inputs, 0, n), slice(inputs, n, 2 * n), bits),
    }),
  };
}

const compare = pairwise(
  "[a < b] for inputs a, b of n values whose difference fits `bits` signed bits",
  lessThan,
);
const equal = pairwise(
  "[a = b] for inputs a, b of n values, deciding on the low `bits` bits of a − b",
  equals,
);

const shuffleRows: Program<{ rows: number; columns: number }> = {
  description: "a secret random permutation of `rows` rows of `columns` values, given column by column",
  params: z.strictObject({
    rows: countField,
    columns: integerField(1, 16, "not a column count", "above 16"),
  }),
  inputWords: ({ rows, columns }) => rows * columns,
  async run(party, { rows, columns }, inputs) {
    const shuffled = await shuffle(
      party,
      Array.from({ length: columns }, (_, k) => slice(inputs, k * rows, (k + 1) * rows)),
    );
    return {
      outputs: {
        own: concatWords(shuffled.map((c) => c.own)),
        next: concatWords(shuffled.map((c) => c.next)),
      },
    };
  },
};

const auctionSearch: Program<{ buys: number; sells: number; volumeBits: number }> = {
  description:
    "the search-based double auction of the MP-SPDZ anchor: p* = max{c : D(c) ≥ S(c)} and fills of the " +
    "orders strictly better than p*; inputs: buy volumes, sell volumes, then buy limits and sell limits − 1 " +
    "as XOR-shared bit words",
  params: z.strictObject({
    buys: countField,
    sells: countField,
    volumeBits: integerField(1, 32, "not a volume bit length", "above 32 bits"),
  }),
  inputWords: ({ buys, sells }) => 2 * (buys + sells),
  async run(party, { buys, sells, volumeBits }, inputs) {
    const result = await searchClearingPrice(party, inputs, buys, sells, volumeBits);
    return {
      public: { clearingPrice: result.clearingPrice },
      outputs: concat([result.buyFills, result.sellFills]),
    };
  },
};

/** Every program a node runs, by name. */
export const PROGRAMS: Readonly<Record<string, Program<unknown>>> = {
  multiply: multiply as Program<unknown>,
  compare: compare as Program<unknown>,
  equals: equal as Program<unknown>,
  shuffle: shuffleRows as Program<unknown>,
  "auction-search": auctionSearch as Program<unknown>,
  clear: clearProgram as Program<unknown>,
  bill: billProgram as Program<unknown>,
  "meter-totals": meterTotalsProgram as Program<unknown>,
  "meter-readings": meterReadingsProgram as Program<unknown>,
  "period-close": periodCloseProgram as Program<unknown>,
  "period-bills": periodBillsProgram as Program<unknown>,
  "slot-bills": slotBillsProgram as Program<unknown>,
};

/** Parses a request's program name and parameters, with errors that name the field. */
export function resolveProgram(
  name: string,
  params: unknown,
): { program: Program<unknown>; params: unknown; inputWords: number } {
  const program = PROGRAMS[name];
  if (program === undefined) {
    throw new RangeError(
      `unknown program ${JSON.stringify(name)}; known: ${Object.keys(PROGRAMS).join(", ")}`,
    );
  }
  // Wrapped so that errors read `params.n: …`.
  const parsed = parseWith(z.object({ params: program.params }), { params }).params;
  return { program, params: parsed, inputWords: program.inputWords(parsed) };
}
