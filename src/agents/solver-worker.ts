/**
 * A solver thread of `workerSolver`: loads HiGHS once, then answers each program it is sent.
 * @module
 */
import { parentPort } from "node:worker_threads";
import loadHighs from "highs";
import { type SolveReply, type SolveRequest, solveWith } from "./solver.ts";

const highs = await loadHighs();
parentPort?.on("message", ({ id, program }: SolveRequest) => {
  let reply: SolveReply;
  try {
    reply = { id, solution: solveWith(highs, program) };
  } catch (error) {
    reply = { id, solution: { status: "failed", detail: (error as Error).message } };
  }
  parentPort?.postMessage(reply);
});
