/** What the real-Docker suites share: the client, running it, and their opt-in rule. */
import { spawnSync } from "child_process";
import * as fs from "fs";

/** Debian's client (20.10, the engine's own API, BuildKit built in) unless VPN_DOCKER says. */
export const DOCKER =
  process.env.VPN_DOCKER ?? (fs.existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker");

export interface Run {
  status: number | null;
  out: string;
  seconds: number;
}

/** Runs a program; stdout and stderr together, and how long it took. */
export function run(cmd: string, args: string[], timeoutMs = 120000, input?: Buffer): Run {
  const start = Date.now();
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    env: { ...process.env, DOCKER_BUILDKIT: "1" },
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    input,
  });
  const out = `${r.stdout}${r.stderr}${r.error ? `\n${String(r.error)}` : ""}`;
  return { status: r.status, out, seconds: (Date.now() - start) / 1000 };
}

export const docker = (args: string[], timeoutMs?: number, input?: Buffer) =>
  run(DOCKER, args, timeoutMs, input);

export const tail = (text: string, lines = 60) =>
  text.trimEnd().split("\n").slice(-lines).join("\n");

/** `docker ...` that must succeed; its stdout+stderr, trimmed. */
export function dockerOk(args: string[], timeoutMs?: number): string {
  const r = docker(args, timeoutMs);
  if (r.status !== 0) {
    throw new Error(`docker ${args.join(" ")} -> ${String(r.status)}\n${tail(r.out)}`);
  }
  return r.out.trim();
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Why a real-Docker suite does not run here, or undefined when it does: it needs VPN_IMAGE_TESTS=1
 * and root. The reason is printed, and the suite is then reported as skipped, never as passed.
 */
export function imageTestsSkipReason(suite: string): string | undefined {
  const reason =
    process.env.VPN_IMAGE_TESTS !== "1"
      ? "VPN_IMAGE_TESTS=1 is not set (run as root: VPN_IMAGE_TESTS=1 npm run test:images)"
      : process.getuid?.() !== 0
        ? "not root (prepare.sh installs packages and starts dockerd)"
        : undefined;
  if (reason !== undefined) {
    process.stderr.write(`${suite} NOT RUN (reported as skipped): ${reason}\n`);
  }
  return reason;
}

/**
 * The most this engine can grant of each ulimit, where it cannot raise limits: a dockerd without
 * CAP_SYS_RESOURCE (as in some sandboxes, never a root dockerd on a host) cannot give a container
 * more than its own hard limit, and runc then refuses to start it ("error setting rlimit type 7:
 * operation not permitted"). Empty when dockerd may raise limits or its process is not readable here.
 */
export function engineCeilings(): Record<string, number | undefined> {
  let status: string;
  let limits: string;
  try {
    const pid = fs.readFileSync("/var/run/docker.pid", "utf8").trim();
    status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    limits = fs.readFileSync(`/proc/${pid}/limits`, "utf8");
  } catch {
    return {};
  }
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const CAP_SYS_RESOURCE = 24n;
  if (capEff === undefined || ((BigInt(`0x${capEff}`) >> CAP_SYS_RESOURCE) & 1n) === 1n) return {};
  const hard = (label: string) => {
    const m = new RegExp(`^${label}\\s+\\S+\\s+(\\d+)`, "m").exec(limits);
    return m ? Number(m[1]) : undefined;
  };
  return { nofile: hard("Max open files"), nproc: hard("Max processes") };
}
