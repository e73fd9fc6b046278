/**
 * Boundary validation shared by every input format: zod field builders whose errors name the value
 * and the bound it broke, and a `ValidationError` that lists each problem under its JSON path
 * (`orders[3].limitPrice: 70000 is above the 16-bit price grid`).
 * @module
 */
import { type ZodType, z } from "zod";
import { MAX_ENERGY_WH, PRICE_GRID_MAX } from "../units/index.ts";

/** One problem in an input, at a JSON path such as `orders[3].limitPrice`. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** An input broke its format; `issues` lists every problem found, each under its JSON path. */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join("\n"));
    this.issues = issues;
  }
}

/** `["orders", 3, "limitPrice"]` → `orders[3].limitPrice`; the empty path is the whole input. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    text += typeof key === "number" ? `[${key}]` : `${text === "" ? "" : "."}${String(key)}`;
  }
  return text === "" ? "(input)" : text;
}

/** How a bad value reads in an error message: `"5"` for the string 5, `missing` for an absent field. */
function shown(input: unknown): string {
  return input === undefined ? "missing" : JSON.stringify(input);
}

/** An integer field in `[min, max]`; `below`/`above` finish the message when a bound is broken. */
export function integerField(min: number, max: number, below: string, above: string): z.ZodNumber {
  return z
    .number({ error: (issue) => `${shown(issue.input)} is not a number` })
    .int({ error: (issue) => `${shown(issue.input)} is not an integer` })
    .min(min, { error: (issue) => `${shown(issue.input)} is ${below}` })
    .max(max, { error: (issue) => `${shown(issue.input)} is ${above}` });
}

/** Energy in Wh: an integer in 0..MAX_ENERGY_WH. */
export const energyField: z.ZodNumber = integerField(
  0,
  MAX_ENERGY_WH,
  "negative",
  `above the per-slot maximum of ${MAX_ENERGY_WH} Wh`,
);

/** Energy in Wh that must be positive (an order's volume). */
export const positiveEnergyField: z.ZodNumber = integerField(
  1,
  MAX_ENERGY_WH,
  "not a positive volume",
  `above the per-slot maximum of ${MAX_ENERGY_WH} Wh`,
);

/** A price on the 16-bit grid. */
export const priceField: z.ZodNumber = integerField(
  0,
  PRICE_GRID_MAX,
  "below the price grid (0..65535)",
  "above the 16-bit price grid (0..65535)",
);

/** A non-empty identifier string. */
export const idField: z.ZodString = z
  .string({ error: (issue) => `${shown(issue.input)} is not a string id` })
  .min(1, { error: () => "is an empty id" });

/** An ISO 8601 slot start time such as `2026-06-01T12:00:00Z`. */
export const slotTimeField: z.ZodString = z
  .string({ error: (issue) => `${shown(issue.input)} is not a slot time string` })
  .check(
    z.refine((text) => !Number.isNaN(Date.parse(text)), {
      error: (issue) => `${shown(issue.input)} is not an ISO 8601 time`,
    }),
  );

/** One value out of a fixed list, named in the message. */
export function oneOfField<const T extends readonly [string, ...string[]]>(
  values: T,
): z.ZodEnum<{ [K in T[number]]: K }> {
  return z.enum(values, {
    error: (issue) => `${shown(issue.input)} is not one of ${values.join(", ")}`,
  });
}

/** The side of an order or trade. */
export const sideField: z.ZodEnum<{ buy: "buy"; sell: "sell" }> = oneOfField(["buy", "sell"]);

/** The format version field: only version 1 exists. */
export const versionField: z.ZodLiteral<1> = z.literal(1, {
  error: (issue) => `${shown(issue.input)} is not a supported version (this reader knows version 1)`,
});

/** Parses `value` against `schema`. @throws {@link ValidationError} listing every problem. */
export function parseWith<T>(schema: ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationErrorOf(result.error);
}

/** A zod error as a {@link ValidationError}: each issue under its JSON path, in this module's words. */
export function validationErrorOf(error: z.ZodError): ValidationError {
  return new ValidationError(
    error.issues.map((issue) =>
      issue.code === "unrecognized_keys"
        ? {
            path: formatPath(issue.path),
            message: `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}`,
          }
        : issue.code === "invalid_type" && issue.message.startsWith("Invalid input")
          ? {
              path: formatPath(issue.path),
              message: `is not ${issue.expected === "object" ? "an object" : `of type ${issue.expected}`}`,
            }
          : { path: formatPath(issue.path), message: issue.message },
    ),
  );
}

/** Parses JSON text. @throws {@link ValidationError} at path `(input)` when it is not valid JSON. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ValidationError([{ path: "(input)", message: `is not valid JSON (${reason})` }]);
  }
}

/** An error as one line for a message to a client or a log: a validation error's issues joined by "; ". */
export function describeError(error: unknown): string {
  if (error instanceof ValidationError) return error.message.replaceAll("\n", "; ");
  return error instanceof Error ? error.message : String(error);
}
