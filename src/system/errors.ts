/**
 * Operational errors: a service cannot go on for a reason its operator can fix (a node down, a port
 * in use, a wrong key, a locked store, a closed period). The CLI prints the message — one sentence
 * naming the cause — and exits 1, with no stack trace.
 * @module
 */
export class OperationalError extends Error {
  override readonly name = "OperationalError";
}

/**
 * Why a server cannot listen on `host:port`, as an operational error: the port taken, the host not
 * this machine's, or the system's code. `what` names what it serves when the process serves more
 * than one thing (`"MQTT"`).
 */
export function listenError(
  error: NodeJS.ErrnoException,
  where: { readonly host: string; readonly port: number },
  what?: string,
): OperationalError {
  const serving = what === undefined ? "" : ` for ${what}`;
  return new OperationalError(
    error.code === "EADDRINUSE"
      ? `port ${where.port} on ${where.host} is already in use: stop what listens there or choose another port${serving}`
      : error.code === "EADDRNOTAVAIL"
        ? `${where.host} is not an address of this machine`
        : `cannot listen${serving} on ${where.host}:${where.port} (${error.code ?? error.message})`,
  );
}
