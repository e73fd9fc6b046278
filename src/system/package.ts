/**
 * Where the package's own files are, from the sources or from the CLI's bundle in dist/ alike.
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder holding package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("snippet cannot find its package folder");
    dir = parent;
  }
  return dir;
}
