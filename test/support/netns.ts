/**
 * A small network of its own for tests: one Linux network namespace per host, joined by veth pairs to
 * a bridge in a namespace of its own, and one veth from the test's namespace to the same bridge, so
 * the test reaches every host and the hosts reach each other — and nothing else. With netem in the
 * kernel each host's link delays its packets; without it (a kernel built without sch_netem) the lab
 * says so and the caller adds the delay where it can. Everything it made, it removes. Needs root and
 * Debian's iproute2.
 * @module
 */
import { execFileSync } from "node:child_process";

export interface NetworkLab {
  /** Host i's address on the lab network. */
  hostAddress(host: number): string;
  /** The test's own address on the lab network. */
  readonly clientAddress: string;
  /** The command prefix that runs a program on host i (`ip netns exec <ns>`). */
  wrap(host: number): string[];
  /** Whether the links delay packets by the delay asked for (netem present). */
  readonly delayed: boolean;
  /** Removes the namespaces and links. */
  close(): void;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Whether this machine can make network namespaces (root and iproute2). */
export function canMakeNetworkLab(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Makes `hosts` hosts whose links each delay packets by `oneWayDelayMs` (when netem is there). */
export function createNetworkLab(hosts: number, oneWayDelayMs: number): NetworkLab {
  // Names unique to this process, short enough for interface names (15 characters).
  const tag = `sn${process.pid % 100000}`;
  const subnet = `10.${77 + (process.pid % 100)}.0`;
  const switchNs = `${tag}sw`;
  const hostNs = (host: number) => `${tag}h${host}`;
  const made: string[] = [];
  const close = () => {
    for (const ns of made.reverse()) {
      try {
        ip("netns", "del", ns);
      } catch {
        // already gone
      }
    }
    try {
      ip("link", "del", `${tag}r`);
    } catch {
      // removed with its namespace's peer
    }
  };
  let delayed = oneWayDelayMs > 0;
  try {
    ip("netns", "add", switchNs);
    made.push(switchNs);
    ip("-n", switchNs, "link", "add", "br0", "type", "bridge");
    ip("-n", switchNs, "link", "set", "br0", "up");
    for (let host = 0; host < hosts; host++) {
      const ns = hostNs(host);
      ip("netns", "add", ns);
      made.push(ns);
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", `h${host}`, "netns", switchNs);
      ip("-n", ns, "addr", "add", `${subnet}.${host + 1}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", switchNs, "link", "set", `h${host}`, "master", "br0");
      ip("-n", switchNs, "link", "set", `h${host}`, "up");
      if (delayed) {
        try {
          execFileSync(
            "ip",
            [
              "netns",
              "exec",
              ns,
              "tc",
              "qdisc",
              "add",
              "dev",
              "eth0",
              "root",
              "netem",
              "delay",
              `${oneWayDelayMs}ms`,
            ],
            { stdio: ["ignore", "ignore", "pipe"] },
          );
        } catch {
          delayed = false;
        }
      }
    }
    ip("link", "add", `${tag}r`, "type", "veth", "peer", "name", "root", "netns", switchNs);
    ip("addr", "add", `${subnet}.254/24`, "dev", `${tag}r`);
    ip("link", "set", `${tag}r`, "up");
    ip("-n", switchNs, "link", "set", "root", "master", "br0");
    ip("-n", switchNs, "link", "set", "root", "up");
  } catch (error) {
    close();
    throw error;
  }
  return {
    hostAddress: (host) => `${subnet}.${host + 1}`,
    clientAddress: `${subnet}.254`,
    wrap: (host) => ["ip", "netns", "exec", hostNs(host)],
    delayed,
    close,
  };
}
