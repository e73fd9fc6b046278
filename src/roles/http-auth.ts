/**
 * Signed HTTP requests between roles: a registered party signs the method, path and JSON body of a
 * request with its Ed25519 registry key, exactly as it signs a job for the nodes (a fresh request id,
 * the time, once only), and sends the signature in the `x-snippet-auth` header. The receiver checks it
 * with the same {@link RequestGuard} the nodes use: unsigned, unknown, stale, forged and replayed
 * requests are refused with the reason.
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Signer } from "../private/keys.ts";
import type { RegisteredParty } from "../private/registry.ts";
import { parseJsonText, parseWith } from "../validation/index.ts";
import {
  type RequestAuth,
  type RequestGuard,
  requestAuthSchema,
  signRequest,
} from "./mpc-node/signed-request.ts";

export const AUTH_HEADER = "x-snippet-auth";

/** The signed header of a request: what a party sends besides its body. */
export function signHttpRequest(
  method: string,
  path: string,
  body: unknown,
  signer: Signer,
  nowMs: number = Date.now(),
): string {
  const id = randomUUID();
  const auth = signRequest(
    { job: id, program: `${method} ${path}`, params: body ?? null },
    signer.party,
    signer.key,
    nowMs,
  );
  return JSON.stringify({ id, ...auth });
}

/**
 * Who signed a request, or the reason it is refused (no header, a bad header, an unknown party, a
 * stale or forged signature, a replay). `body` is the parsed JSON body (null without one).
 */
export function verifyHttpRequest(
  guard: RequestGuard,
  method: string,
  path: string,
  header: string | undefined,
  body: unknown,
): { party: RegisteredParty } | { problem: string } {
  if (header === undefined) return { problem: `the request is not signed (no ${AUTH_HEADER} header)` };
  let auth: RequestAuth & { id: string };
  try {
    const parsed = parseJsonText(header) as Record<string, unknown>;
    const { id, ...rest } = parsed;
    if (typeof id !== "string" || id.length === 0 || id.length > 64)
      return { problem: `${AUTH_HEADER}.id is not a request id` };
    auth = { id, ...parseWith(requestAuthSchema, rest) };
  } catch (error) {
    return {
      problem: `${AUTH_HEADER} is malformed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const { id, ...signature } = auth;
  const checked = guard.check({
    job: id,
    program: `${method} ${path}`,
    params: body ?? null,
    auth: signature,
  });
  if ("problem" in checked) return checked;
  if (checked.requester === undefined) return { problem: "the request is not signed" };
  return { party: checked.requester };
}
