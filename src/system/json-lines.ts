/**
 * An append-only file of JSON records, one per line: what a service keeps of its own (a meter's
 * buffer, a supplier's or the DSO's results). An append is one write of whole lines, made durable
 * (fdatasync) before it resolves when asked; a line torn by a crash mid-write is dropped when the
 * file is opened again, so a record is either wholly there or not at all.
 * @module
 */
import { closeSync as closeFd, ftruncateSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { type FileHandle, open, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { OperationalError } from "./errors.ts";

export class JsonLinesFile {
  /** Appends in order, one at a time. */
  #queue: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private handle: FileHandle,
  ) {}

  /**
   * Opens (creating it and its folder) the file at `path`; @returns it and the records it holds.
   * @throws {@link OperationalError} naming the line when a line other than a torn last one is not JSON.
   */
  static async open(path: string): Promise<{ file: JsonLinesFile; records: unknown[] }> {
    mkdirSync(dirname(path), { recursive: true });
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT")
        throw new OperationalError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code})`);
    }
    const complete = text.lastIndexOf("\n") + 1;
    if (complete < text.length) {
      // The last write was cut short by a crash: what it held was never acknowledged.
      const fd = openSync(path, "r+");
      try {
        ftruncateSync(fd, Buffer.byteLength(text.slice(0, complete)));
      } finally {
        closeFd(fd);
      }
    }
    const records = text
      .slice(0, complete)
      .split("\n")
      .slice(0, -1)
      .map((line, index) => {
        try {
          return JSON.parse(line) as unknown;
        } catch {
          throw new OperationalError(`${path} is damaged: line ${index + 1} is not JSON`);
        }
      });
    return { file: new JsonLinesFile(path, await open(path, "a")), records };
  }

  /** Appends `records`; with `durable`, resolves only once they are on disk (they survive a power cut). */
  append(records: readonly unknown[], options: { durable: boolean }): Promise<void> {
    if (records.length === 0) return this.#queue;
    const text = records.map((record) => `${JSON.stringify(record)}\n`).join("");
    const done = this.#queue.then(async () => {
      await this.handle.write(text);
      if (options.durable) await this.handle.datasync();
    });
    this.#queue = done.catch(() => undefined);
    return done;
  }

  /** Replaces the whole file with `records` at once (a crash leaves the old file or the new one). */
  rewrite(records: readonly unknown[]): Promise<void> {
    const done = this.#queue.then(async () => {
      const temporary = `${this.path}.new`;
      const next = await open(temporary, "w");
      try {
        await next.write(records.map((record) => `${JSON.stringify(record)}\n`).join(""));
        await next.datasync();
      } finally {
        await next.close();
      }
      await rename(temporary, this.path);
      await this.handle.close();
      this.handle = await open(this.path, "a");
    });
    this.#queue = done.catch(() => undefined);
    return done;
  }

  /** Waits for the appends in hand and closes the file. */
  async close(): Promise<void> {
    await this.#queue;
    await this.handle.close();
  }
}
