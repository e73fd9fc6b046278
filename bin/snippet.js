#!/usr/bin/env node
// The `snippet` command. It runs a bundle of src/ (dist/snippet.js), which esbuild rebuilds in a few
// milliseconds whenever a source file is newer, so the CLI starts fast and never runs stale code.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bundle = join(root, "dist", "snippet.js");

function newestModification(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestModification(path) : statSync(path).mtimeMs);
  }
  return newest;
}

if (!existsSync(bundle) || statSync(bundle).mtimeMs < newestModification(join(root, "src"))) {
  const { buildSync } = await import("esbuild");
  const [output] = buildSync({
    entryPoints: [join(root, "src", "cli", "main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    // Dependencies load from node_modules as they are (PGlite needs its WASM files beside it), all but
    // zod: a bundled zod starts in a fraction of the 130 ms its full package takes to import.
    external: Object.keys(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).dependencies).filter(
      (name) => name !== "zod",
    ),
    write: false,
    outfile: bundle,
    logLevel: "error",
  }).outputFiles;
  // Write then rename, so that a process starting alongside never imports half a file.
  mkdirSync(join(root, "dist"), { recursive: true });
  const partial = `${bundle}.${process.pid}.partial`;
  writeFileSync(partial, output.contents);
  renameSync(partial, bundle);
}

const { main } = await import(pathToFileURL(bundle).href);
process.exitCode = await main(process.argv.slice(2));
