/**
 * The engine's side of programs: what a program is (public parameters, the shared input words it
 * takes, an access rule, a run on a party), the generic programs every node offers (multiply,
 * compare, equals, shuffle), and the lookup of a request's program in a table with its parameters
 * checked. Applications (src/private) add their own programs with their own job context.
 * @module
 */
import { z } from "zod";
import { integerField, parseWith } from "../validation/index.ts";
import { mul, type Shared, slice } from "./arithmetic.ts";
import { equals, lessThan, MAX_COMPARE_BITS } from "./compare.ts";
import type { Party } from "./party.ts";
import { shuffle } from "./shuffle.ts";
import { concatWords } from "./words.ts";

/** What a program gives back: public results and shares for the client that asked. */
export interface ProgramResult {
  public?: unknown;
  outputs?: Shared;
}

/**
 * A computation the nodes run together on one client's shared inputs, or on what they keep.
 * `Context` is what the application tells a program about the job besides its inputs (who asked,
 * what the node keeps); the engine passes it through without looking at it.
 */
export interface Program<Params, Context = unknown> {
  readonly description: string;
  readonly params: z.ZodType<Params>;
  /** Shared input words the client must send for these parameters. */
  inputWords(params: Params): number;
  /**
   * Why this node will not run it for this request (who asks, what the node lacks); checked by all
   * three nodes when the job's turn comes, so they refuse together. Absent: anyone may run it.
   */
  refuse?(params: Params, context: Context): string | undefined;
  /**
   * For a program on what the nodes hold (orders, readings): the keys of what this node holds for
   * the job. The three exchange them and run on those all three hold, given to `run` as `agreed`.
   */
  held?(params: Params, context: Context): string[];
  run(
    party: Party,
    params: Params,
    inputs: Shared,
    context?: Context,
    agreed?: ReadonlySet<string>,
  ): Promise<ProgramResult>;
}

/** Programs by name. */
export type ProgramTable<Context> = Readonly<Record<string, Program<unknown, Context>>>;

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

/** The engine's own programs, which any application may offer: they need no context. */
export const ENGINE_PROGRAMS: ProgramTable<unknown> = {
  multiply: multiply as Program<unknown>,
  compare: compare as Program<unknown>,
  equals: equal as Program<unknown>,
  shuffle: shuffleRows as Program<unknown>,
};

/** Parses a request's program name and parameters against a table, with errors that name the field. */
export function resolveProgram<Context>(
  table: ProgramTable<Context>,
  name: string,
  params: unknown,
): { program: Program<unknown, Context>; params: unknown; inputWords: number } {
  const program = table[name];
  if (program === undefined) {
    throw new RangeError(`unknown program ${JSON.stringify(name)}; known: ${Object.keys(table).join(", ")}`);
  }
  // Wrapped so that errors read `params.n: …`.
  const parsed = parseWith(z.object({ params: program.params }), { params }).params;
  return { program, params: parsed, inputWords: program.inputWords(parsed) };
}
