#!/usr/bin/env node
// The `snippet` command. It runs a bundle of src/ that esbuild rebuilds in a moment whenever a source
// file is newer, so the CLI starts fast and never runs stale code. The bundle is split: what only
// `snippet simulate` needs (charts, storage, logging) loads only when that command runs.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
// Names the current build folder; replaced atomically, so a process starting alongside a rebuild
// always finds a complete build.
const pointer = join(dist, "current");
/**
 * The dependencies bundled into dist/ rather than loaded from node_modules, those every command
 * loads: a bundled zod starts in a fraction of the 130 ms its full package takes to import, and a
 * bundled commander saves Node's CommonJS loader ~13 ms of every start.
 */
const BUNDLED = new Set(["zod", "commander"]);

/** The newest modification time of a file under `dir`: every start walks src/ with it, so it is kept lean. */
function newestModification(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Plain concatenation: path.join costs more than the stat in a process that just started.
    const path = `${dir}/${entry.name}`;
    // A file another process removed since the listing (an editor's swap file) counts as old.
    const modified = entry.isDirectory()
      ? newestModification(path)
      : (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    if (modified > newest) newest = modified;
  }
  return newest;
}

/**
 * zod's namespace lists its 60-odd translations of error messages, half of the bundled zod that every
 * start parses; the project reports errors in English only, so the list keeps just that one.
 */
const englishZodOnly = {
  name: "english-zod-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(join("node_modules", "zod"))
        ? { path: join(args.resolveDir, "..", "locales", "index.js"), namespace: "zod-locales" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(args.path, "..", "en.js"))};`,
      resolveDir: join(args.path, ".."),
    }));
  },
};

/**
 * CommonJS packages bundled into the ESM bundle (commander) `require` Node's built-in modules, which
 * esbuild's ESM output cannot do; each such require reads the module from `process.getBuiltinModule`.
 */
const builtinRequires = {
  name: "builtin-requires",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "require-call" && (args.path.startsWith("node:") || builtinModules.includes(args.path))
        ? { path: args.path, namespace: "builtin-require" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "builtin-require" }, (args) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

async function rebuild() {
  const { build: bundle } = await import("esbuild");
  const build = `build-${Date.now()}-${process.pid}`;
  await bundle({
    // The planners' solver threads start from their own entry, beside the chunks that spawn them.
    entryPoints: {
      snippet: join(root, "src", "cli", "main.ts"),
      "solver-worker": join(root, "src", "agents", "solver-worker.ts"),
    },
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    // Dependencies load from node_modules as they are (PGlite needs its WASM files beside it), all but
    // the BUNDLED ones.
    external: Object.keys(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).dependencies).filter(
      (name) => !BUNDLED.has(name),
    ),
    outdir: join(dist, build),
    logLevel: "error",
    plugins: [englishZodOnly, builtinRequires],
  });
  const partial = `${pointer}.${process.pid}.partial`;
  writeFileSync(partial, build);
  renameSync(partial, pointer);
  // Older builds go once nobody can still be starting from them.
  for (const entry of readdirSync(dist)) {
    if (
      entry.startsWith("build-") &&
      entry !== build &&
      // Another process may have just removed it: a missing entry is an old one gone.
      Date.now() - (statSync(join(dist, entry), { throwIfNoEntry: false })?.mtimeMs ?? 0) > 600_000
    ) {
      rmSync(join(dist, entry), { recursive: true, force: true });
    }
  }
}

mkdirSync(dist, { recursive: true });
// This file is a source of the build too: its options change what the bundle holds.
if (
  !existsSync(pointer) ||
  statSync(pointer).mtimeMs <
    Math.max(newestModification(join(root, "src")), statSync(fileURLToPath(import.meta.url)).mtimeMs)
)
  await rebuild();
const { main } = await import(pathToFileURL(join(dist, readFileSync(pointer, "utf8"), "snippet.js")).href);
process.exitCode = await main(process.argv.slice(2));
