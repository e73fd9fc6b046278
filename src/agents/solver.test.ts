import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { propertyOptions } from "../../test/support/property.ts";
import { highsSolver, type LinearProgram, type LpSolution, type LpSolver, workerSolver } from "./solver.ts";

const TOLERANCE = 1e-6;

/** A program from dense rows (`rows[i][j]` is A's entry at row i, column j). */
function program(spec: {
  cost: readonly number[];
  colLower: readonly number[];
  colUpper: readonly number[];
  rows: readonly (readonly number[])[];
  rowLower: readonly number[];
  rowUpper: readonly number[];
}): LinearProgram {
  const starts = [0];
  const indices: number[] = [];
  const values: number[] = [];
  spec.cost.forEach((_, j) => {
    spec.rows.forEach((row, i) => {
      const value = row[j] ?? 0;
      if (value !== 0) {
        indices.push(i);
        values.push(value);
      }
    });
    starts.push(indices.length);
  });
  return {
    colCost: Float64Array.from(spec.cost),
    colLower: Float64Array.from(spec.colLower),
    colUpper: Float64Array.from(spec.colUpper),
    rowLower: Float64Array.from(spec.rowLower),
    rowUpper: Float64Array.from(spec.rowUpper),
    starts: Int32Array.from(starts),
    indices: Int32Array.from(indices),
    values: Float64Array.from(values),
  };
}

/** min 2x + 3y subject to x + y ≥ 4, 0 ≤ x ≤ 3, y ≥ 0: x = 3, y = 1, the row's dual 3, x's reduced cost −1. */
const tiny = program({
  cost: [2, 3],
  colLower: [0, 0],
  colUpper: [3, Number.POSITIVE_INFINITY],
  rows: [[1, 1]],
  rowLower: [4],
  rowUpper: [Number.POSITIVE_INFINITY],
});

function optimal(solution: LpSolution): Extract<LpSolution, { status: "optimal" }> {
  assert.equal(solution.status, "optimal", solution.status === "optimal" ? "" : solution.detail);
  return solution as Extract<LpSolution, { status: "optimal" }>;
}

function objective(lp: LinearProgram, colValue: Float64Array): number {
  return lp.colCost.reduce((sum, cost, j) => sum + cost * (colValue[j] as number), 0);
}

/** Row activities A·x of a program in CSC form. */
function activities(lp: LinearProgram, colValue: Float64Array): Float64Array {
  const rows = new Float64Array(lp.rowLower.length);
  for (let j = 0; j < lp.colCost.length; j++) {
    for (let k = lp.starts[j] as number; k < (lp.starts[j + 1] as number); k++) {
      const row = lp.indices[k] as number;
      rows[row] = (rows[row] as number) + (lp.values[k] as number) * (colValue[j] as number);
    }
  }
  return rows;
}

/** The solution meets every column and row bound, within the tolerance. */
function assertFeasible(lp: LinearProgram, colValue: Float64Array): void {
  colValue.forEach((value, j) => {
    assert.ok(value >= (lp.colLower[j] as number) - TOLERANCE, `column ${j} at ${value} is below its bound`);
    assert.ok(value <= (lp.colUpper[j] as number) + TOLERANCE, `column ${j} at ${value} is above its bound`);
  });
  activities(lp, colValue).forEach((activity, i) => {
    assert.ok(
      activity >= (lp.rowLower[i] as number) - TOLERANCE,
      `row ${i} at ${activity} is below its bound`,
    );
    assert.ok(
      activity <= (lp.rowUpper[i] as number) + TOLERANCE,
      `row ${i} at ${activity} is above its bound`,
    );
  });
}

/** `colDual = cost − Aᵀ·rowDual`, as LpSolution documents it. */
function assertReducedCosts(lp: LinearProgram, solution: Extract<LpSolution, { status: "optimal" }>): void {
  for (let j = 0; j < lp.colCost.length; j++) {
    let expected = lp.colCost[j] as number;
    for (let k = lp.starts[j] as number; k < (lp.starts[j + 1] as number); k++)
      expected -= (lp.values[k] as number) * (solution.rowDual[lp.indices[k] as number] as number);
    assert.ok(
      Math.abs((solution.colDual[j] as number) - expected) < TOLERANCE,
      `column ${j}: reduced cost ${solution.colDual[j]} is not cost − Aᵀ·rowDual = ${expected}`,
    );
  }
}

/**
 * A covering program with a known optimum: min Σ cost_j·x_j subject to Σ x_j ≥ demand,
 * 0 ≤ x_j ≤ upper_j; the cheapest columns fill first.
 */
const coveringProgram = fc
  .array(fc.record({ cost: fc.integer({ min: 1, max: 100 }), upper: fc.integer({ min: 1, max: 50 }) }), {
    minLength: 1,
    maxLength: 6,
  })
  .chain((columns) =>
    fc.integer({ min: 0, max: columns.reduce((sum, column) => sum + column.upper, 0) }).map((demand) => {
      let left = demand;
      let optimum = 0;
      for (const column of [...columns].sort((a, b) => a.cost - b.cost)) {
        const take = Math.min(left, column.upper);
        optimum += take * column.cost;
        left -= take;
      }
      const lp = program({
        cost: columns.map((column) => column.cost),
        colLower: columns.map(() => 0),
        colUpper: columns.map((column) => column.upper),
        rows: [columns.map(() => 1)],
        rowLower: [demand],
        rowUpper: [Number.POSITIVE_INFINITY],
      });
      return { lp, optimum };
    }),
  );

/** The LpSolver contract, registered once per implementation. */
function runSolverContract(name: string, make: () => Promise<LpSolver>): void {
  describe(`LpSolver contract: ${name}`, () => {
    let solver: LpSolver;
    before(async () => {
      solver = await make();
    });
    after(() => solver.close());

    it("finds the known optimum of a tiny program with its duals and reduced costs", async () => {
      const solution = optimal(await solver.solve(tiny));
      assert.ok(Math.abs((solution.colValue[0] as number) - 3) < TOLERANCE, `x = ${solution.colValue[0]}`);
      assert.ok(Math.abs((solution.colValue[1] as number) - 1) < TOLERANCE, `y = ${solution.colValue[1]}`);
      assert.ok(Math.abs((solution.rowDual[0] as number) - 3) < TOLERANCE, `row dual ${solution.rowDual[0]}`);
      assert.ok(Math.abs((solution.colDual[0] as number) + 1) < TOLERANCE, `x's dual ${solution.colDual[0]}`);
      assert.ok(Math.abs(solution.colDual[1] as number) < TOLERANCE, `y's dual ${solution.colDual[1]}`);
    });

    it("gives a binding upper row a negative dual in a maximisation written as a minimisation", async () => {
      // max x + y subject to x + 2y ≤ 4 and 3x + y ≤ 6: x = 8/5, y = 6/5; duals −2/5 and −1/5.
      const lp = program({
        cost: [-1, -1],
        colLower: [0, 0],
        colUpper: [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
        rows: [
          [1, 2],
          [3, 1],
        ],
        rowLower: [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
        rowUpper: [4, 6],
      });
      const solution = optimal(await solver.solve(lp));
      const expected = { x: 8 / 5, y: 6 / 5, first: -2 / 5, second: -1 / 5 };
      assert.ok(Math.abs((solution.colValue[0] as number) - expected.x) < TOLERANCE);
      assert.ok(Math.abs((solution.colValue[1] as number) - expected.y) < TOLERANCE);
      assert.ok(Math.abs((solution.rowDual[0] as number) - expected.first) < TOLERANCE);
      assert.ok(Math.abs((solution.rowDual[1] as number) - expected.second) < TOLERANCE);
      assertReducedCosts(lp, solution);
    });

    it("solves equality rows exactly", async () => {
      // min x + y subject to x − y = 1 and x + y = 5: x = 3, y = 2.
      const lp = program({
        cost: [1, 1],
        colLower: [0, 0],
        colUpper: [10, 10],
        rows: [
          [1, -1],
          [1, 1],
        ],
        rowLower: [1, 5],
        rowUpper: [1, 5],
      });
      const solution = optimal(await solver.solve(lp));
      assert.ok(Math.abs((solution.colValue[0] as number) - 3) < TOLERANCE);
      assert.ok(Math.abs((solution.colValue[1] as number) - 2) < TOLERANCE);
    });

    it("reports an infeasible program as infeasible, with no values", async () => {
      // x + y ≥ 4 cannot hold with x, y ≤ 1.
      const solution = await solver.solve({ ...tiny, colUpper: Float64Array.from([1, 1]) });
      assert.equal(solution.status, "infeasible");
      assert.ok(!("colValue" in solution));
    });

    it("reports a program whose cost falls without bound as unbounded", async () => {
      const solution = await solver.solve({
        ...tiny,
        colCost: Float64Array.from([-1, 3]),
        colUpper: Float64Array.from([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]),
      });
      assert.equal(solution.status, "unbounded");
    });

    it("answers many programs solved at once, each with its own optimum", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(coveringProgram, { minLength: 2, maxLength: 24 }), async (cases) => {
          const solutions = await Promise.all(cases.map(({ lp }) => solver.solve(lp)));
          solutions.forEach((solution, index) => {
            const { lp, optimum } = cases[index] as (typeof cases)[number];
            const found = optimal(solution);
            assert.equal(found.colValue.length, lp.colCost.length, `program ${index}: one value per column`);
            assertFeasible(lp, found.colValue);
            const cost = objective(lp, found.colValue);
            assert.ok(
              Math.abs(cost - optimum) < TOLERANCE,
              `program ${index}: cost ${cost}, optimum ${optimum}`,
            );
            assertReducedCosts(lp, found);
          });
        }),
        propertyOptions(0.1),
      );
    });
  });
}

runSolverContract("highsSolver (in this thread)", () => highsSolver());
runSolverContract("workerSolver (2 threads)", () => workerSolver(2));
runSolverContract("workerSolver (1 thread)", () => workerSolver(1));

/** Small general programs: bounded columns, rows with random bounds; some are infeasible. */
const generalProgram = fc
  .record({
    columns: fc.integer({ min: 1, max: 5 }),
    rows: fc.integer({ min: 1, max: 4 }),
  })
  .chain(({ columns, rows }) =>
    fc.record({
      cost: fc.array(fc.integer({ min: -10, max: 10 }), { minLength: columns, maxLength: columns }),
      colUpper: fc.array(fc.integer({ min: 1, max: 10 }), { minLength: columns, maxLength: columns }),
      matrix: fc.array(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: columns, maxLength: columns }),
        {
          minLength: rows,
          maxLength: rows,
        },
      ),
      rowBounds: fc.array(
        fc
          .tuple(fc.integer({ min: -20, max: 20 }), fc.integer({ min: 0, max: 20 }))
          .map(([lower, width]) => ({
            lower,
            upper: lower + width,
          })),
        { minLength: rows, maxLength: rows },
      ),
    }),
  )
  .map(({ cost, colUpper, matrix, rowBounds }) =>
    program({
      cost,
      colLower: cost.map(() => 0),
      colUpper,
      rows: matrix,
      rowLower: rowBounds.map((bound) => bound.lower),
      rowUpper: rowBounds.map((bound) => bound.upper),
    }),
  );

describe("workerSolver against highsSolver", () => {
  let pool: LpSolver;
  let reference: LpSolver;
  before(async () => {
    [pool, reference] = await Promise.all([workerSolver(2), highsSolver()]);
  });
  after(() => Promise.all([pool.close(), reference.close()]));

  it("gives each of many concurrent random programs the in-thread solver's status and cost", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(generalProgram, { minLength: 2, maxLength: 30 }), async (programs) => {
        const fromPool = await Promise.all(programs.map((lp) => pool.solve(lp)));
        for (const [index, lp] of programs.entries()) {
          const expected = await reference.solve(lp);
          const actual = fromPool[index] as LpSolution;
          assert.equal(actual.status, expected.status, `program ${index}`);
          if (actual.status !== "optimal" || expected.status !== "optimal") continue;
          assertFeasible(lp, actual.colValue);
          const cost = objective(lp, actual.colValue);
          const expectedCost = objective(lp, expected.colValue);
          assert.ok(
            Math.abs(cost - expectedCost) < TOLERANCE,
            `program ${index}: ${cost} vs ${expectedCost}`,
          );
        }
      }),
      propertyOptions(0.1),
    );
  });

  it("still answers after a batch of infeasible programs", async () => {
    const infeasible = { ...tiny, colUpper: Float64Array.from([1, 1]) };
    const statuses = (await Promise.all([1, 2, 3, 4].map(() => pool.solve(infeasible)))).map((s) => s.status);
    assert.deepEqual(statuses, ["infeasible", "infeasible", "infeasible", "infeasible"]);
    const solution = optimal(await pool.solve(tiny));
    assert.ok(Math.abs(objective(tiny, solution.colValue) - 9) < TOLERANCE);
  });
});
