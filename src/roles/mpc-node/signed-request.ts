/**
 * Signed job requests: a registered party signs what it asks for (job id, program, parameters) and
 * when, with its Ed25519 key, so that each node knows who asks before it runs a program whose
 * outputs only some parties may have. A request is good for {@link REQUEST_WINDOW_MS} and once: a
 * node refuses a job id it has already taken.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { z } from "zod";
import { signJson, verifyJson } from "../../private/keys.ts";
import type { RegisteredParty, Registry } from "../../private/registry.ts";
import { idField } from "../../validation/index.ts";

const DOMAIN = "snippet-request-v1";

/** How far a request's time may be from the node's clock, ms. */
export const REQUEST_WINDOW_MS = 5 * 60_000;

export const requestAuthSchema = z.strictObject({
  party: idField,
  /** When it was signed, ms since the epoch. */
  issuedAt: z.number().int().nonnegative(),
  signature: z.string().regex(/^[0-9a-f]{128}$/, { error: () => "is not an Ed25519 signature in hex" }),
});
export type RequestAuth = z.infer<typeof requestAuthSchema>;

/** What a party signs. */
export interface SignedPart {
  readonly job: string;
  readonly program: string;
  readonly params: unknown;
}

/** Signs a request as `party`. */
export function signRequest(request: SignedPart, party: string, key: KeyObject, nowMs: number): RequestAuth {
  return { party, issuedAt: nowMs, signature: signJson(DOMAIN, signedValue(request, party, nowMs), key) };
}

/** A node's check of signed requests against its registry, remembering the job ids it took. */
export class RequestGuard {
  /** Job ids taken, with the time after which they could no longer be replayed anyway. */
  private readonly taken = new Map<string, number>();

  /** @param onTaken told of each job id taken, to make it durable */
  constructor(
    private readonly registry: Registry | undefined,
    private readonly clock: () => number,
    private readonly onTaken?: (key: string, expiresAtMs: number) => void,
  ) {}

  /** Takes a job id again, from the node's store, until it would no longer be replayable anyway. */
  restoreTaken(key: string, expiresAtMs: number): void {
    if (expiresAtMs >= this.clock()) this.taken.set(key, expiresAtMs);
  }

  /** The job ids taken that could still be replayed, with when they expire. */
  takenIds(): [key: string, expiresAtMs: number][] {
    const now = this.clock();
    return [...this.taken].filter(([, expiresAtMs]) => expiresAtMs >= now);
  }

  /** Whether the node serves registered parties (then every request must be signed). */
  get servesRegistry(): boolean {
    return this.registry !== undefined;
  }

  /**
   * The party that signed `request`, nobody when unsigned, or why the signature is refused; without
   * taking its job id (a node checks a request when it arrives, and takes it when it runs).
   */
  verify(
    request: SignedPart & { auth?: RequestAuth | undefined },
  ): { requester?: RegisteredParty } | { problem: string } {
    const { auth } = request;
    if (auth === undefined) return {};
    const party = this.registry?.parties.get(auth.party);
    if (party === undefined) return { problem: `party ${auth.party} is not registered` };
    const now = this.clock();
    const ageS = Math.round((now - auth.issuedAt) / 1000);
    if (now - auth.issuedAt > REQUEST_WINDOW_MS)
      return {
        problem: `the request was signed ${ageS} s ago, beyond the ${REQUEST_WINDOW_MS / 1000} s it is good for`,
      };
    if (auth.issuedAt - now > REQUEST_WINDOW_MS)
      return { problem: `the request is dated ${-ageS} s ahead of this node's clock` };
    if (
      !verifyJson(DOMAIN, signedValue(request, auth.party, auth.issuedAt), auth.signature, party.signingKey)
    )
      return { problem: `the request is not signed by ${auth.party}` };
    return { requester: party };
  }

  /** {@link verify}, then takes the job id: a request signed once runs once. */
  check(
    request: SignedPart & { auth?: RequestAuth | undefined },
  ): { requester?: RegisteredParty } | { problem: string } {
    const verified = this.verify(request);
    const { auth } = request;
    if ("problem" in verified || auth === undefined) return verified;
    const now = this.clock();
    // Taken ids are kept in about the order they expire: drop the expired ones from the front, not
    // scan them all on every request.
    for (const [job, expiry] of this.taken) {
      if (expiry >= now) break;
      this.taken.delete(job);
    }
    // Job ids are the signer's own: another party's use of an id cannot burn it.
    const taken = `${auth.party} ${request.job}`;
    if (this.taken.has(taken)) return { problem: `job ${request.job} was already taken: a replay` };
    this.taken.set(taken, auth.issuedAt + REQUEST_WINDOW_MS);
    this.onTaken?.(taken, auth.issuedAt + REQUEST_WINDOW_MS);
    return verified;
  }
}

function signedValue(request: SignedPart, party: string, issuedAt: number) {
  return { job: request.job, program: request.program, params: request.params, party, issuedAt };
}
