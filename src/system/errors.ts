/**
 * Operational errors: a service cannot go on for a reason its operator can fix (a node down, a port
 * in use, a wrong key, a locked store, a closed period). The CLI prints the message — one sentence
 * naming the cause — and exits 1, with no stack trace.
 * @module
 */
export class OperationalError extends Error {
  override readonly name = "OperationalError";
}
