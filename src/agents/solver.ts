/**
 * The linear-programming port of the planners: a program in column-compressed form goes in, the primal
 * values and the duals come out. HiGHS (WASM) solves it, in this thread or on a pool of worker threads.
 * @module
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import loadHighs, { type Highs } from "highs";

/** `minimise cost·x` subject to `rowLower <= A·x <= rowUpper` and `colLower <= x <= colUpper`; A in CSC form. */
export interface LinearProgram {
  readonly colCost: Float64Array;
  readonly colLower: Float64Array;
  readonly colUpper: Float64Array;
  readonly rowLower: Float64Array;
  readonly rowUpper: Float64Array;
  /** Column `j`'s entries are `starts[j] .. starts[j + 1]` of `indices` (rows) and `values`. */
  readonly starts: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

/** The outcome of a solve; values and duals only when optimal. */
export type LpSolution =
  | {
      readonly status: "optimal";
      readonly colValue: Float64Array;
      /** `colDual = cost − Aᵀ·rowDual`: the reduced costs. */
      readonly colDual: Float64Array;
      /** The objective's change per unit of each row's bound. */
      readonly rowDual: Float64Array;
    }
  | { readonly status: "infeasible" | "unbounded" | "failed"; readonly detail: string };

/** Solves linear programs; `close` frees what it holds (WASM instances, threads). */
export interface LpSolver {
  solve(program: LinearProgram): Promise<LpSolution>;
  close(): Promise<void>;
}

/** Solves one program with a loaded HiGHS runtime, synchronously. */
export function solveWith(highs: Highs, program: LinearProgram): LpSolution {
  const numCols = program.colCost.length;
  const numRows = program.rowLower.length;
  const model = highs.createModel({
    numCols,
    numRows,
    colCost: program.colCost,
    colLower: program.colLower,
    colUpper: program.colUpper,
    rowLower: program.rowLower,
    rowUpper: program.rowUpper,
    matrix: {
      format: "csc",
      numRows,
      numCols,
      starts: program.starts,
      indices: program.indices,
      values: program.values,
    },
  });
  try {
    model.options.set("output_flag", false);
    model.run();
    const status = model.getModelStatus();
    const codes = highs.constants.modelStatus;
    if (status === codes.optimal) {
      const { colValue, colDual, rowDual } = model.getSolution();
      return { status: "optimal", colValue, colDual, rowDual };
    }
    if (status === codes.infeasible) return { status: "infeasible", detail: "infeasible" };
    if (status === codes.unbounded || status === codes.unboundedOrInfeasible)
      return { status: "unbounded", detail: "unbounded" };
    return { status: "failed", detail: `HiGHS model status ${status}` };
  } finally {
    model.dispose();
  }
}

/** HiGHS in the calling thread. */
export async function highsSolver(): Promise<LpSolver> {
  const highs = await loadHighs();
  return {
    solve: async (program) => solveWith(highs, program),
    close: async () => {},
  };
}

/** A request to a solver thread and its answer. */
export interface SolveRequest {
  readonly id: number;
  readonly program: LinearProgram;
}
export interface SolveReply {
  readonly id: number;
  readonly solution: LpSolution;
}

/**
 * HiGHS on `threads` worker threads (default: one per core), each with its own WASM instance;
 * programs are handed to the least busy thread, so a slot's households plan in parallel.
 */
export async function workerSolver(threads = availableParallelism()): Promise<LpSolver> {
  const fromSource = import.meta.url.endsWith(".ts");
  const script = new URL(fromSource ? "./solver-worker.ts" : "./solver-worker.js", import.meta.url);
  // Under tsx (tests, benchmarks) a worker does not inherit its TypeScript loader (tsx issue #354), so
  // it registers tsx first; in the CLI's bundle the worker is plain JS beside this chunk.
  const spawn = (): Worker =>
    fromSource
      ? new Worker(
          `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); });`,
          { eval: true },
        )
      : new Worker(script);
  const pending = new Map<number, (solution: LpSolution) => void>();
  const load: number[] = [];
  const workers = await Promise.all(
    Array.from({ length: Math.max(1, threads) }, async (_, w) => {
      const worker = spawn();
      load[w] = 0;
      worker.on("message", ({ id, solution }: SolveReply) => {
        load[w] = (load[w] as number) - 1;
        pending.get(id)?.(solution);
        pending.delete(id);
      });
      worker.on("error", (error) => {
        for (const resolve of pending.values())
          resolve({ status: "failed", detail: `solver thread failed: ${error.message}` });
        pending.clear();
      });
      await new Promise<void>((resolve) => worker.once("online", () => resolve()));
      return worker;
    }),
  );
  let nextId = 0;
  return {
    solve(program) {
      const id = nextId++;
      let target = 0;
      for (let w = 1; w < workers.length; w++) if ((load[w] as number) < (load[target] as number)) target = w;
      load[target] = (load[target] as number) + 1;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        (workers[target] as Worker).postMessage({ id, program } satisfies SolveRequest);
      });
    },
    close: async () => {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
