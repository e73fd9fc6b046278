/**
 * The CLI's edges: reading an input document from a file or stdin, and writing JSON with money
 * (bigint) as spec/io.md asks: a number while it is a safe integer, else a decimal string.
 * @module
 */
import { readFileSync } from "node:fs";
import { moneyToJson } from "../units/index.ts";
import { ValidationError } from "../validation/index.ts";

/**
 * Reads the text at `file`, or stdin for `-` or no file. `streams.stdin` is touched only then:
 * `process.stdin` builds a stream when first read, which costs a file-reading command ~5 ms.
 * @throws {@link ValidationError} when it cannot be read.
 */
export async function readInputText(
  file: string | undefined,
  streams: { readonly stdin: AsyncIterable<Buffer | string> },
): Promise<string> {
  if (file === undefined || file === "-") {
    const chunks: string[] = [];
    for await (const chunk of streams.stdin)
      chunks.push(typeof chunk === "string" ? chunk : chunk.toString("utf8"));
    return chunks.join("");
  }
  return readTextFile(file);
}

/** Reads the text of a file. @throws {@link ValidationError} naming the file and why it cannot be read. */
export function readTextFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new ValidationError([{ path: "(input)", message: `cannot read file ${path} (${reason})` }]);
  }
}

/** JSON text of a result on one line (`indentSpaces` 0) or indented, with bigint money written per spec/io.md. */
export function toJson(value: unknown, indentSpaces: number): string {
  const text = JSON.stringify(
    value,
    (_key, field) => (typeof field === "bigint" ? moneyToJson(field) : field),
    indentSpaces,
  );
  return `${text}\n`;
}
