/**
 * The edge on a real Docker engine: the volume owner, the secrets job, the config job and nginx,
 * created from exactly the inputs the program records under mocks (prod's stack file with a
 * `files` certificate), in the order and the way the Docker provider creates them: ContainerCreate
 * with the Config and HostConfig it builds from those inputs, the network connects, one archive
 * per upload, start, then wait for the exit (oneShot jobs) or for `healthy` (nginx). What runs on
 * Docker here and nowhere else: the tmpfs owned by 101 (`uid=,gid=,mode=0700`), the
 * `ip_unprivileged_port_start` sysctl with and without a network, nginx entirely as 101:101 on 80
 * and 443 with a read-only root, no capability and no-new-privileges, the `nofile` ulimit, the
 * access log on /dev/stdout as non-root, uploads copied in at / as the provider does, the
 * read-only site volume, the healthcheck, and the reload: a new certificate installed by a new
 * secrets job is served by the same nginx container, and a config nginx refuses fails its job
 * while nginx serves on. Two things the options do not decide on Docker: 20.10 and later set
 * ip_unprivileged_port_start to 0 in every container with a network namespace of its own anyway
 * (so the sysctl shows only in HostConfig here), and runc gives a tmpfs over a directory the image has the directory's mode
 * (the owner from `uid=`/`gid=` holds, `mode=0700` does not).
 *
 * Opt-in like images.test.ts: VPN_IMAGE_TESTS=1 and root; otherwise every test is reported as
 * skipped, never as passed. beforeAll runs prepare.sh (idempotent), which also builds
 * vpn-test/nginx:forky: nginx 1.30 from the chroot of tests/tools/nginx/prepare.sh with busybox as
 * /bin/sh and its applets (wget, mv -T, ...) first on PATH, standing in for nginx:1.28.0-alpine,
 * since Docker Hub is out of reach.
 *
 *   VPN_IMAGE_TESTS=1 npm run test:images -- tests/images/edge
 *
 * Containers are created through the Engine API (the socket of DOCKER_HOST, default
 * /var/run/docker.sock) because the CLI cannot express what the provider sends: an exec-form
 * healthcheck (`--health-cmd` is always CMD-SHELL) and a multi-element entrypoint. Everything else
 * goes through Debian's client (/usr/bin/docker, override with VPN_DOCKER). Containers, volumes,
 * networks and temp dirs are removed afterwards; the images are kept as the next run's cache.
 */
import { spawnSync } from "child_process";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { TLSSocket } from "tls";
import { TestCertificate, makeCertificate } from "../certs";
import { labelsOf, reveal, runProgram, servicesWith } from "../program/harness";
import { PROJECT, cliConfig } from "../stackFiles";
import { freePort } from "../tools/freePort";
import { docker, dockerOk, engineCeilings, imageTestsSkipReason, run, sleep, tail } from "./docker";
import { Obj, dockerApi, isObj, num, objects, onlyKeys, str, stringMap, strings } from "./engine";

const PREPARE = path.join(__dirname, "prepare.sh");
/** What stands in for the image the program names. */
const IMAGE = "vpn-test/nginx:forky";
const PRODUCTION_IMAGE = "nginx:1.28.0-alpine";
const DOMAIN = "vpn.example.com";
const PREFIX = `vpn-edge-test-${process.pid.toString()}`;
/**
 * The edge's containers by their `vpn-enterprise.service` label, in the order `up` creates them;
 * `nginx-secrets-files` is the carrier of the secrets job's files (the label `nginx-secrets` and the
 * role `files`), which hands them to the nginx user before the job runs (components/carrier.ts).
 */
const SERVICES = [
  "nginx-volume-owner",
  "nginx-secrets-files",
  "nginx-secrets",
  "nginx-config",
  "nginx",
] as const;
type Service = (typeof SERVICES)[number];
type Inputs = Record<string, unknown>;
/** A job's exit must come well within this. */
const JOB_WITHIN_MS = 60000;
/** A new generation must be served within this (the program's reloadCheckSeconds is 5). */
const RELOAD_WITHIN_MS = 15000;

const reason = imageTestsSkipReason("edge image tests");

const timings: string[] = [];
/** Where this engine could not do what the program asks (printed at the end, see the ulimits). */
const engineNotes: string[] = [];
const containers = new Set<string>();
const volumes = new Set<string>();
const networks = new Set<string>();
const tempDirs = new Set<string>();

function tempDir(what: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vpn-edge-image-${what}-`));
  tempDirs.add(dir);
  return dir;
}

// ---- The program's containers ----------------------------------------------------------------

/**
 * Runs the program for prod with a `files` certificate; the edge's containers' inputs, revealed.
 * Where this engine cannot grant prod's open-file limit, the stack asks for what it can, as the
 * config job's check tells a user to (see engineCeilings).
 */
async function edgeContainers(cert: TestCertificate): Promise<Record<Service, Inputs>> {
  const tlsConfig = { mode: "files", certificate: cert.certPem, privateKey: cert.keyPem };
  const nofile = engineCeilings().nofile;
  const lowered = nofile !== undefined && nofile < 65535;
  if (lowered) engineNotes.push(`services.nginx.workerRlimitNofile set to ${nofile.toString()}`);
  const config = {
    ...(lowered
      ? servicesWith("prod", { nginx: { workerRlimitNofile: nofile } })
      : cliConfig("prod")),
    [`${PROJECT}:tls`]: JSON.stringify(tlsConfig),
  };
  const r = await runProgram(config, "prod");
  if (r.error) throw r.error;
  const recorded = r.resources.filter((x) => x.type === "docker:index/container:Container");
  const found = SERVICES.map((service): [Service, Inputs] => {
    const carrier = service.endsWith("-files");
    const label = carrier ? service.replace(/-files$/, "") : service;
    const matches = recorded.filter(
      (c) =>
        labelsOf(c)["vpn-enterprise.service"] === label &&
        (labelsOf(c)["vpn-enterprise.role"] === "files") === carrier,
    );
    if (matches.length !== 1) {
      throw new Error(`the program records ${matches.length.toString()} ${service} containers`);
    }
    return [service, reveal(matches[0].inputs) as Inputs];
  });
  return Object.fromEntries(found) as Record<Service, Inputs>;
}

// ---- Inputs -> what the provider sends ---------------------------------------------------------

interface Upload {
  readonly file: string;
  readonly content: string;
  readonly permissions: string;
}

/** Where this run puts what the program names. */
interface Environment {
  /** The program's volume name -> this run's volume. */
  volume(name: string): string;
  /** The program's network (id) -> this run's network. */
  network(name: string): string;
  /** A published container port ("443/tcp") -> the loopback port this run publishes it on. */
  hostPort(containerPort: string): number;
  /** The highest value of a ulimit this engine can grant, when it has one (see engineCeilings). */
  ulimitCeiling(name: string): number | undefined;
}

/** A container as the provider creates it. */
interface Translated {
  /** The container's Config and HostConfig, as the provider's ContainerCreate sends them. */
  readonly create: { Config: Inputs; HostConfig: Inputs };
  /** networksAdvanced: connected after create, once the default bridge is disconnected. */
  readonly networks: readonly { readonly name: string; readonly aliases: readonly string[] }[];
  /** Copied in after create, before start. */
  readonly uploads: readonly Upload[];
  /** attach: `up` waits for the exit and records the exit code and output. */
  readonly oneShot: boolean;
  /** wait: `up` waits this long for `healthy`. */
  readonly waitTimeoutSeconds?: number;
}

/** A Go duration as the provider writes it ("10s", "1m30s", "1h0m0s") in nanoseconds. */
function goDurationNs(text: string): number {
  const parts = [...text.matchAll(/(\d+)(h|ms|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new Error(`not a Go duration: ${text}`);
  }
  const unit: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]], 0);
}

/**
 * What `up` does with a container's inputs, key by key, as the provider's create does it (Config
 * and HostConfig, then the networks, the uploads, start, and waiting). Inputs this test does not
 * need to reproduce are named in IGNORED with the reason; any other key fails the test.
 */
function translate(inputs: Inputs, env: Environment): Translated {
  const Config: Obj = { Image: IMAGE, Labels: {} };
  // The provider always sends Init (false unless `init`).
  const HostConfig: Obj = { Init: false };
  const nets: { name: string; aliases: string[] }[] = [];
  let uploads: Upload[] = [];
  // Set by the handlers below (an object: TypeScript does not follow assignments in callbacks).
  const flow: { oneShot: boolean; wait: boolean; waitTimeoutSeconds?: number } = {
    oneShot: false,
    wait: false,
  };
  const IGNORED: Record<string, string> = {
    name: "each container gets this run's name",
    destroyGraceSeconds: "the stop timeout of a delete; the test removes with docker rm -f",
    mustRun: "false for the jobs: an exited job is what `up` expects",
    logs: "with attach: `up` records the output, the test reads docker logs",
  };
  const keys: Record<string, (v: unknown, key: string) => void> = {
    image: (v, k) => {
      if (!str(v, k).includes(PRODUCTION_IMAGE)) throw new Error(`${k}: ${String(v)}`);
    },
    hostname: (v, k) => (Config.Hostname = str(v, k)),
    user: (v, k) => (Config.User = str(v, k)),
    envs: (v, k) => (Config.Env = strings(v, k)),
    entrypoints: (v, k) => (Config.Entrypoint = strings(v, k)),
    command: (v, k) => (Config.Cmd = strings(v, k)),
    labels: (v, k) => {
      for (const l of objects(v, k)) {
        onlyKeys(l, ["label", "value"], k);
        (Config.Labels as Obj)[str(l.label, k)] = str(l.value, k);
      }
    },
    stopTimeout: (v, k) => (Config.StopTimeout = num(v, k)),
    healthcheck: (v, k) => {
      if (!isObj(v)) throw new Error(`${k}: expected an object`);
      onlyKeys(v, ["tests", "interval", "timeout", "startPeriod", "retries"], k);
      Config.Healthcheck = {
        Test: strings(v.tests, `${k}.tests`),
        Interval: goDurationNs(str(v.interval, `${k}.interval`)),
        Timeout: goDurationNs(str(v.timeout, `${k}.timeout`)),
        StartPeriod: goDurationNs(str(v.startPeriod, `${k}.startPeriod`)),
        Retries: num(v.retries, `${k}.retries`),
      };
    },
    readOnly: (v) => (HostConfig.ReadonlyRootfs = v === true),
    tmpfs: (v, k) => (HostConfig.Tmpfs = stringMap(v, k)),
    sysctls: (v, k) => (HostConfig.Sysctls = stringMap(v, k)),
    securityOpts: (v, k) => (HostConfig.SecurityOpt = strings(v, k)),
    capabilities: (v, k) => {
      if (!isObj(v)) throw new Error(`${k}: expected an object`);
      onlyKeys(v, ["adds", "drops"], k);
      HostConfig.CapAdd = strings(v.adds ?? [], `${k}.adds`);
      HostConfig.CapDrop = strings(v.drops ?? [], `${k}.drops`);
    },
    ulimits: (v, k) =>
      (HostConfig.Ulimits = objects(v, k).map((u) => {
        onlyKeys(u, ["name", "soft", "hard"], k);
        const limit = { Name: str(u.name, k), Soft: num(u.soft, k), Hard: num(u.hard, k) };
        const ceiling = env.ulimitCeiling(limit.Name);
        if (ceiling === undefined || limit.Hard <= ceiling) return limit;
        engineNotes.push(
          `ulimit ${limit.Name} ${limit.Hard.toString()} lowered to ${ceiling.toString()}: this dockerd lacks CAP_SYS_RESOURCE and its own hard limit is ${ceiling.toString()}`,
        );
        return { ...limit, Soft: Math.min(limit.Soft, ceiling), Hard: ceiling };
      })),
    memory: (v, k) => (HostConfig.Memory = num(v, k) * 1024 * 1024),
    memorySwap: (v, k) => {
      const mb = num(v, k);
      HostConfig.MemorySwap = mb > 0 ? mb * 1024 * 1024 : mb;
    },
    memoryReservation: (v, k) => (HostConfig.MemoryReservation = num(v, k) * 1024 * 1024),
    shmSize: (v, k) => (HostConfig.ShmSize = num(v, k) * 1024 * 1024),
    cpus: (v, k) => (HostConfig.NanoCpus = Math.round(Number(str(v, k)) * 1e9)),
    logDriver: (v, k) =>
      (HostConfig.LogConfig = { ...(HostConfig.LogConfig as Obj), Type: str(v, k) }),
    logOpts: (v, k) =>
      (HostConfig.LogConfig = { ...(HostConfig.LogConfig as Obj), Config: stringMap(v, k) }),
    restart: (v, k) => (HostConfig.RestartPolicy = { Name: str(v, k), MaximumRetryCount: 0 }),
    networkMode: (v, k) => (HostConfig.NetworkMode = str(v, k)),
    networksAdvanced: (v, k) => {
      for (const n of objects(v, k)) {
        onlyKeys(n, ["name", "aliases"], k);
        nets.push({ name: env.network(str(n.name, k)), aliases: strings(n.aliases ?? [], k) });
      }
    },
    ports: (v, k) => {
      const exposed: Obj = {};
      const bindings: Record<string, Obj[]> = {};
      for (const p of objects(v, k)) {
        onlyKeys(p, ["internal", "external", "ip", "protocol"], k);
        const port = `${num(p.internal, k).toString()}/${str(p.protocol ?? "tcp", k)}`;
        exposed[port] = {};
        // Loopback and a free port instead of the program's 0.0.0.0:80 and :443.
        (bindings[port] ??= []).push({ HostIp: "127.0.0.1", HostPort: String(env.hostPort(port)) });
      }
      Config.ExposedPorts = exposed;
      HostConfig.PortBindings = bindings;
    },
    volumes: (v, k) => {
      const declared: Obj = {};
      const binds: string[] = [];
      for (const vol of objects(v, k)) {
        onlyKeys(vol, ["volumeName", "containerPath", "readOnly"], k);
        const target = str(vol.containerPath, `${k}.containerPath`);
        declared[target] = {};
        if (vol.volumeName !== undefined) {
          const mode = vol.readOnly === true ? "ro" : "rw";
          binds.push(`${env.volume(str(vol.volumeName, k))}:${target}:${mode}`);
        }
      }
      Config.Volumes = declared;
      HostConfig.Binds = binds;
    },
    uploads: (v, k) =>
      (uploads = objects(v, k).map((u) => {
        // No owner or group: the program never asks the provider for them (see carrier.ts).
        onlyKeys(u, ["file", "content", "permissions"], k);
        return {
          file: str(u.file, k),
          content: str(u.content, k),
          permissions: str(u.permissions, k),
        };
      })),
    attach: (v) => (flow.oneShot = v === true),
    wait: (v) => (flow.wait = v === true),
    waitTimeout: (v, k) => (flow.waitTimeoutSeconds = num(v, k)),
  };
  onlyKeys(inputs, [...Object.keys(keys), ...Object.keys(IGNORED)], "container inputs");
  for (const [key, value] of Object.entries(inputs)) {
    if (value !== undefined && key in keys) keys[key](value, key);
  }
  return {
    create: { Config, HostConfig },
    networks: nets,
    uploads,
    oneShot: flow.oneShot,
    waitTimeoutSeconds: flow.wait ? (flow.waitTimeoutSeconds ?? 60) : undefined,
  };
}

// ---- Creating and running, as `up` does ---------------------------------------------------------

/** Uploads Docker refused the way the provider copies them, with Docker's answer. */
const refusedUploads: string[] = [];

function tarOf(dir: string, members: string[]): Buffer {
  const r = spawnSync("tar", ["--numeric-owner", "-C", dir, "-c", ...members], {
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`tar -C ${dir}: ${r.stderr.toString()}`);
  return r.stdout;
}

/**
 * The provider's uploads: per file an archive holding only that file (its mode, owned by root),
 * copied in at `/`. Where Docker refuses that, the refusal is
 * recorded (see the test of uploads) and the same archive is extracted at the file's directory
 * instead, so the rest of the edge is still checked.
 */
function upload(container: string, uploads: readonly Upload[]): void {
  for (const u of uploads) {
    const dir = tempDir("upload");
    const rel = u.file.replace(/^\/+/, "");
    const local = path.join(dir, rel);
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.writeFileSync(local, u.content);
    fs.chmodSync(local, parseInt(u.permissions, 8));
    fs.chownSync(local, 0, 0);
    const atRoot = docker(["cp", "-", `${container}:/`], 60000, tarOf(dir, [rel]));
    if (atRoot.status === 0) continue;
    refusedUploads.push(`${container} ${u.file}: ${atRoot.out.trim()}`);
    const parent = path.posix.dirname(u.file);
    const again = docker(
      ["cp", "-", `${container}:${parent}`],
      60000,
      tarOf(path.join(dir, parent), [path.posix.basename(u.file)]),
    );
    if (again.status !== 0) throw new Error(`docker cp ${u.file} -> ${container}: ${again.out}`);
  }
}

/** Creates the container (not started): create, network connects and uploads, as the provider. */
async function create(name: string, t: Translated): Promise<string> {
  containers.add(name);
  // The API's body is the Config with the HostConfig in it (the Go client's configWrapper).
  const body = { ...t.create.Config, HostConfig: t.create.HostConfig };
  const r = await dockerApi("POST", `/containers/create?name=${encodeURIComponent(name)}`, body);
  if (r.status !== 201) {
    throw new Error(
      `create ${name} -> HTTP ${r.status.toString()}: ${r.body}\n${JSON.stringify(body)}`,
    );
  }
  if (t.networks.length > 0) {
    dockerOk(["network", "disconnect", "bridge", name]);
    for (const n of t.networks) {
      dockerOk(["network", "connect", ...n.aliases.flatMap((a) => ["--alias", a]), n.name, name]);
    }
  }
  upload(name, t.uploads);
  return (JSON.parse(r.body) as { Id: string }).Id;
}

interface JobRun {
  readonly exitCode: number;
  readonly logs: string;
}

/** A oneShot job: create, start, wait for the exit; its exit code and output. */
async function runJob(name: string, t: Translated): Promise<JobRun> {
  if (!t.oneShot) throw new Error(`${name} is not a oneShot job (attach is not set)`);
  const start = Date.now();
  await create(name, t);
  dockerOk(["start", name]);
  const waited = docker(["wait", name], JOB_WITHIN_MS);
  if (waited.status !== 0) throw new Error(`docker wait ${name}: ${waited.out}`);
  const logs = docker(["logs", name]).out;
  timings.push(`${name}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return { exitCode: Number(waited.out.trim()), logs };
}

const inspectField = (container: string, format: string) =>
  dockerOk(["inspect", "-f", format, container]);

/** Waits for Docker's health status `healthy` within the provider's wait timeout. */
async function waitHealthy(name: string, withinSeconds: number): Promise<void> {
  const deadline = Date.now() + withinSeconds * 1000;
  let last = "";
  while (Date.now() < deadline) {
    const running = inspectField(name, "{{.State.Running}}");
    last = inspectField(name, "{{if .State.Health}}{{.State.Health.Status}}{{end}}");
    if (last === "healthy" || last === "unhealthy" || running !== "true") break;
    await sleep(1000);
  }
  if (last !== "healthy") {
    const state = docker(["inspect", "-f", "{{json .State}}", name]).out;
    const logs = docker(["logs", "--tail", "40", name]).out;
    throw new Error(`${name} is "${last}", not healthy\nstate: ${state}\nlogs:\n${logs}`);
  }
}

// ---- Talking to the edge -------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** HTTPS: the SHA-256 fingerprint of the certificate the server presented. */
  readonly fingerprint?: string;
}

/** One request on a fresh connection to 127.0.0.1:port with Host (and SNI) vpn.example.com. */
function request(scheme: "http" | "https", port: number, urlPath: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = {
      host: "127.0.0.1",
      port,
      path: urlPath,
      headers: { Host: DOMAIN },
      agent: false as const,
      timeout: 10000,
    };
    const onAnswer = (res: http.IncomingMessage) => {
      const socket = res.socket;
      const fingerprint =
        socket instanceof TLSSocket ? socket.getPeerX509Certificate()?.fingerprint256 : undefined;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          fingerprint,
        });
      });
    };
    const req =
      scheme === "https"
        ? https.request({ ...options, servername: DOMAIN, rejectUnauthorized: false }, onAnswer)
        : http.request(options, onAnswer);
    req.on("timeout", () => req.destroy(new Error(`${scheme} ${urlPath}: no answer in 10 s`)));
    req.on("error", reject);
    req.end();
  });
}

const fingerprintOf = (cert: TestCertificate) => new X509Certificate(cert.certPem).fingerprint256;

const suite = reason === undefined ? describe : describe.skip;

suite("the edge's containers on a real Docker engine", () => {
  const suiteStart = Date.now();
  let certs: { first: TestCertificate; second: TestCertificate };
  let first: Record<Service, Inputs>;
  let second: Record<Service, Inputs>;
  let env: Environment;
  const ports = new Map<string, number>();
  const name = (service: Service) => `${PREFIX}-${service}`;
  const jobs = new Map<Service, JobRun>();
  let setupError = "";
  let server = { id: "", startedAt: "" };
  let serverSpec: Translated | undefined;

  const requireServer = () => {
    if (setupError !== "") throw new Error(setupError);
  };
  const port = (containerPort: string) => {
    const p = ports.get(containerPort);
    if (p === undefined) throw new Error(`${containerPort} is not published`);
    return p;
  };
  const serverState = () => ({
    id: inspectField(name("nginx"), "{{.Id}}"),
    startedAt: inspectField(name("nginx"), "{{.State.StartedAt}}"),
  });

  beforeAll(async () => {
    const prepared = run("bash", [PREPARE], 900000);
    process.stderr.write(`prepare.sh (${prepared.seconds.toFixed(1)} s):\n${prepared.out}\n`);
    if (prepared.status !== 0) {
      throw new Error(`prepare.sh failed (${String(prepared.status)}):\n${tail(prepared.out)}`);
    }
    timings.push(`prepare.sh: ${prepared.seconds.toFixed(1)} s`);

    const programStart = Date.now();
    certs = {
      first: makeCertificate(DOMAIN, tempDir("cert")),
      second: makeCertificate(DOMAIN, tempDir("cert")),
    };
    first = await edgeContainers(certs.first);
    second = await edgeContainers(certs.second);
    timings.push(`two program runs: ${((Date.now() - programStart) / 1000).toFixed(1)} s`);

    const ceilings = engineCeilings();
    const volumeNames = new Map<string, string>();
    const networkNames = new Map<string, string>();
    for (const p of ["80/tcp", "443/tcp"]) ports.set(p, await freePort());
    env = {
      volume: (v) => {
        let mine = volumeNames.get(v);
        if (mine === undefined) {
          mine = `${PREFIX}-${v}`;
          volumes.add(mine);
          dockerOk(["volume", "create", mine]);
          volumeNames.set(v, mine);
        }
        return mine;
      },
      network: (n) => {
        let mine = networkNames.get(n);
        if (mine === undefined) {
          mine = `${PREFIX}-net${networkNames.size.toString()}`;
          networks.add(mine);
          dockerOk(["network", "create", mine]);
          networkNames.set(n, mine);
        }
        return mine;
      },
      hostPort: port,
      ulimitCeiling: (n) => ceilings[n],
    };

    // `up`: each job once the previous one exited 0, then nginx until healthy.
    try {
      for (const service of SERVICES.slice(0, 4)) {
        const job = await runJob(name(service), translate(first[service], env));
        jobs.set(service, job);
        if (job.exitCode !== 0) {
          throw new Error(`${service} exited ${job.exitCode.toString()}:\n${tail(job.logs)}`);
        }
      }
      const t = translate(first.nginx, env);
      serverSpec = t;
      const start = Date.now();
      await create(name("nginx"), t);
      dockerOk(["start", name("nginx")]);
      if (t.waitTimeoutSeconds === undefined) throw new Error("nginx: `wait` is not set");
      await waitHealthy(name("nginx"), t.waitTimeoutSeconds);
      timings.push(`nginx healthy after ${((Date.now() - start) / 1000).toFixed(1)} s`);
      server = serverState();
    } catch (e) {
      setupError = e instanceof Error ? e.message : String(e);
    }
  }, 900000);

  afterAll(() => {
    for (const c of containers) docker(["rm", "-fv", c]);
    for (const v of volumes) docker(["volume", "rm", "-f", v]);
    for (const n of networks) docker(["network", "rm", n]);
    for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
    timings.push(`whole suite: ${((Date.now() - suiteStart) / 1000).toFixed(1)} s`);
    process.stderr.write(`edge image test timings:\n  ${timings.join("\n  ")}\n`);
    if (engineNotes.length > 0) {
      process.stderr.write(
        `edge image test, what this engine could not grant:\n  ${[...new Set(engineNotes)].join("\n  ")}\n`,
      );
    }
  }, 120000);

  test("a new certificate changes only the secrets job's inputs (and its carrier's)", () => {
    for (const service of SERVICES) {
      const same = JSON.stringify(first[service]) === JSON.stringify(second[service]);
      expect({ service, same }).toEqual({ service, same: !service.startsWith("nginx-secrets") });
    }
  });

  test("the image stands in for nginx:1.28.0-alpine (nothing where the program mounts)", () => {
    const r = docker([
      ...["run", "--rm", "--network", "none", "--entrypoint", "sh", IMAGE, "-c"],
      'for p in /etc/nginx/site /staging /var/www/acme; do [ -e "$p" ] && echo "present: $p"; done; readlink -f /bin/sh; which wget; echo checked',
    ]);
    expect(r.out.trim().split("\n")).toEqual([
      "/usr/local/bin/busybox",
      "/usr/local/bin/wget",
      "checked",
    ]);
  });

  test("the uploads, copied in as the provider does (one archive per file at /), are accepted", () => {
    requireServer();
    // Docker checks the extraction point, not where a file lands: with a read-only root it refuses
    // an archive extracted at / even when the file's directory is a volume.
    expect(refusedUploads).toEqual([]);
  });

  test("the volume owner, the secrets' carrier, the secrets job and the config job exit 0, in that order", () => {
    requireServer();
    expect(jobs.get("nginx-volume-owner")?.exitCode).toBe(0);
    expect(jobs.get("nginx-secrets-files")?.exitCode).toBe(0);
    const secrets = jobs.get("nginx-secrets");
    expect(secrets?.exitCode).toBe(0);
    expect(secrets?.logs).toMatch(/edge: secrets generation gen-\w+ is current \(previous: none\)/);
    const config = jobs.get("nginx-config");
    expect(config?.exitCode).toBe(0);
    expect(config?.logs).toContain("test is successful");
    expect(config?.logs).toMatch(/edge: config generation gen-\w+ is current \(previous: none\)/);
  });

  test("the jobs ran as the program asks: no network, the sysctl, the owned tmpfs, secrets from their carrier", () => {
    requireServer();
    const config = JSON.parse(inspectField(name("nginx-config"), "{{json .HostConfig}}")) as Record<
      string,
      unknown
    >;
    expect(config).toMatchObject({
      NetworkMode: "none",
      // Writable, so the provider's uploads (extracted at /) are accepted; see components/edge/nginx.ts.
      ReadonlyRootfs: false,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      Sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
      Tmpfs: expect.objectContaining({
        "/var/cache/nginx": "rw,noexec,nosuid,size=16m,uid=101,gid=101,mode=0700",
      }) as unknown,
    });
    // The config job's files go to its own layer; the secrets come from their carrier's volume,
    // read-only, owned by the nginx user.
    const mounts = (name: string) =>
      (JSON.parse(inspectField(name, "{{json .Mounts}}")) as { Destination: string; RW: boolean }[])
        .map((m) => [m.Destination, m.RW])
        .sort();
    expect(mounts(name("nginx-config"))).toEqual([["/etc/nginx/site", true]]);
    expect(mounts(name("nginx-secrets"))).toEqual([
      ["/etc/nginx/site", true],
      ["/staging", false],
    ]);
    const carrier = name("nginx-secrets-files");
    expect(inspectField(carrier, "{{.State.ExitCode}}")).toBe("0");
    expect(JSON.parse(inspectField(carrier, "{{json .HostConfig.CapAdd}}"))).toEqual(["CAP_CHOWN"]);
  });

  test("nginx turns healthy under Docker's own healthcheck (busybox wget as 101)", () => {
    requireServer();
    expect(inspectField(name("nginx"), "{{.State.Health.Status}}")).toBe("healthy");
    const log = JSON.parse(inspectField(name("nginx"), "{{json .State.Health.Log}}")) as {
      ExitCode: number;
    }[];
    expect(log.length).toBeGreaterThan(0);
    expect(log.every((l) => l.ExitCode === 0)).toBe(true);
  });

  test("HTTP: /health answers 200 and everything else 301 to https://vpn.example.com", async () => {
    requireServer();
    const health = await request("http", port("80/tcp"), "/health");
    expect([health.status, health.body]).toEqual([200, "ok\n"]);
    const other = await request("http", port("80/tcp"), "/some/page?x=1");
    expect(other.status).toBe(301);
    expect(other.headers.location).toBe(`https://${DOMAIN}/some/page?x=1`);
  });

  test("HTTPS serves the configured certificate, HSTS, /admin/ 404, /api/ 502 without backends", async () => {
    requireServer();
    const https443 = port("443/tcp");
    const health = await request("https", https443, "/health");
    expect(health.status).toBe(200);
    expect(health.fingerprint).toBe(fingerprintOf(certs.first));
    const admin = await request("https", https443, "/admin/");
    expect(admin.status).toBe(404);
    expect(admin.headers["strict-transport-security"]).toMatch(/^max-age=\d+/);
    // nginx started although no backend name resolves (`resolve`): the route answers 502.
    const api = await request("https", https443, "/api/x");
    expect(api.status).toBe(502);
    expect(api.headers["strict-transport-security"]).toMatch(/^max-age=\d+/);
  });

  test("the access log reaches docker logs: /dev/stdout opened as 101", async () => {
    requireServer();
    const marker = `/api/access-log-${Date.now().toString()}`;
    await request("https", port("443/tcp"), marker);
    let logs = "";
    for (let i = 0; i < 10 && !logs.includes(marker); i++) {
      await sleep(300);
      logs = docker(["logs", name("nginx")]).out;
    }
    const line = logs.split("\n").find((l) => l.includes(marker));
    expect(line).toBeDefined();
    expect(JSON.parse(line ?? "{}")).toMatchObject({ uri: marker, status: "502" });
  });

  test("nginx's container: 101:101, read-only root, no capability, the tmpfs, sysctl and ulimits", () => {
    requireServer();
    const c = name("nginx");
    expect(inspectField(c, "{{.Config.User}}")).toBe("101:101");
    const host = JSON.parse(inspectField(c, "{{json .HostConfig}}")) as Record<string, unknown>;
    expect(host).toMatchObject({
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      Sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
      Tmpfs: {
        "/tmp": "rw,noexec,nosuid,size=64m",
        "/var/cache/nginx": "rw,noexec,nosuid,size=160m,uid=101,gid=101,mode=0700",
      },
    });
    expect(host.CapAdd ?? []).toEqual([]);
    // The ulimits as the program asks, unless this engine cannot grant them (engineNotes says so).
    type Ulimit = { Name: string; Soft: number; Hard: number };
    const asked = (first.nginx.ulimits as { name: string; soft: number; hard: number }[]).map(
      (u): Ulimit => ({ Name: u.name, Soft: u.soft, Hard: u.hard }),
    );
    const sent = (serverSpec?.create.HostConfig.Ulimits ?? []) as Ulimit[];
    expect(host.Ulimits).toEqual(sent);
    for (const [i, u] of sent.entries()) {
      if (u.Hard !== asked[i].Hard) expect(engineNotes.join("\n")).toContain(`ulimit ${u.Name}`);
    }
    const nofile = sent.find((u) => u.Name === "nofile");
    expect(nofile).toBeDefined();
    // Inside: what the kernel applied.
    const facts = dockerOk([
      ...["exec", c, "sh", "-c"],
      [
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start",
        "stat -c '%n %u:%g' /var/cache/nginx /var/cache/nginx/client_body_temp /var/cache/nginx/proxy",
        "grep '^Max open files' /proc/1/limits | tr -s ' ' | cut -d' ' -f4,5",
        "touch /probe 2>/dev/null && echo 'root writable'",
        "touch /etc/nginx/site/probe 2>/dev/null && echo 'site volume writable'",
        "stat -c '%a %u:%g' /etc/nginx/site/secrets/current/tls.key",
        "echo checked",
      ].join("; "),
    ]);
    expect(facts.split("\n")).toEqual([
      "0",
      "/var/cache/nginx 101:101",
      "/var/cache/nginx/client_body_temp 101:101",
      "/var/cache/nginx/proxy 101:101",
      `${String(nofile?.Soft)} ${String(nofile?.Hard)}`,
      "400 101:101",
      "checked",
    ]);
    // The kernel's options. Not the mode: runc gives a tmpfs over a directory the image has (the
    // alpine image has /var/cache/nginx) that directory's mode; the owner is what nginx needs.
    const cacheMount = dockerOk(["exec", c, "grep", " /var/cache/nginx ", "/proc/mounts"]);
    expect(cacheMount).toMatch(
      /^tmpfs \/var\/cache\/nginx tmpfs \S*noexec\S*size=163840k\S*uid=101,gid=101/,
    );
    const mounts = JSON.parse(inspectField(c, "{{json .Mounts}}")) as {
      Destination: string;
      RW: boolean;
      Name: string;
    }[];
    const site = mounts.find((m) => m.Destination === "/etc/nginx/site");
    expect(site).toMatchObject({ RW: false, Name: `${PREFIX}-vpn-enterprise-prod-edge-site` });
  });

  test("no process in nginx's container runs as root or holds a capability", () => {
    requireServer();
    const c = name("nginx");
    const status = dockerOk([
      ...["exec", c, "sh", "-c"],
      "for s in /proc/[0-9]*/status; do grep -h -E '^(Name|Uid|Gid|CapEff|CapPrm|NoNewPrivs):' $s 2>/dev/null | tr -s '\\t' ' ' | paste -s -d'|'; done",
    ]);
    const procs = status.split("\n").filter((l) => l !== "");
    expect(procs.length).toBeGreaterThanOrEqual(3);
    for (const p of procs) {
      expect(p).toMatch(/Uid: 101 101 101 101\|Gid: 101 101 101 101\|/);
      expect(p).toMatch(/CapPrm: 0{16}\|CapEff: 0{16}\|NoNewPrivs: 1/);
    }
    // PID 1 is the nginx master (the entrypoint exec'd it).
    expect(dockerOk(["exec", c, "cat", "/proc/1/cmdline"])).toMatch(/^nginx: master process/);
    // As the host sees them.
    const top = dockerOk(["top", c, "-eo", "pid,uid,gid,comm"]).split("\n").slice(1);
    expect(top.length).toBeGreaterThanOrEqual(3);
    for (const line of top) expect(line.trim().split(/\s+/).slice(1, 3)).toEqual(["101", "101"]);
  });

  test(
    "a new certificate from a new secrets job is served by the same nginx, without a restart",
    async () => {
      requireServer();
      const secrets = name("nginx-secrets");
      const carrier = name("nginx-secrets-files");
      // deleteBeforeReplace: the old job and carrier go before their replacements are created.
      dockerOk(["rm", "-fv", secrets, carrier]);
      const handed = await runJob(carrier, translate(second["nginx-secrets-files"], env));
      expect(handed.exitCode).toBe(0);
      const job = await runJob(secrets, translate(second["nginx-secrets"], env));
      expect(job.exitCode).toBe(0);
      expect(job.logs).toMatch(/edge: secrets generation gen-\w+ is current \(previous: gen-\w+\)/);
      const deadline = Date.now() + RELOAD_WITHIN_MS;
      let served = "";
      while (Date.now() < deadline) {
        served = (await request("https", port("443/tcp"), "/health")).fingerprint ?? "";
        if (served === fingerprintOf(certs.second)) break;
        await sleep(500);
      }
      timings.push(
        `new certificate served ${((Date.now() - deadline + RELOAD_WITHIN_MS) / 1000).toFixed(1)} s after the job`,
      );
      expect(served).toBe(fingerprintOf(certs.second));
      expect(serverState()).toEqual(server);
      expect(inspectField(name("nginx"), "{{.RestartCount}}")).toBe("0");
      expect(docker(["logs", name("nginx")]).out).toContain("edge: reloaded for generation");
    },
    JOB_WITHIN_MS + RELOAD_WITHIN_MS + 30000,
  );

  test(
    "a config nginx refuses fails the config job with nginx's message; nginx serves on",
    async () => {
      requireServer();
      const current = () =>
        dockerOk(["exec", name("nginx"), "readlink", "/etc/nginx/site/config/current"]);
      const before = current();
      const recorded = first["nginx-config"];
      const uploads = (recorded.uploads as Upload[]).map((u) =>
        u.file === "/staging/site.conf"
          ? { ...u, content: `${u.content}bogus_directive on;\n` }
          : u,
      );
      expect(uploads).not.toEqual(recorded.uploads);
      const config = name("nginx-config");
      dockerOk(["rm", "-fv", config]);
      const job = await runJob(config, translate({ ...recorded, uploads }, env));
      expect(job.exitCode).not.toBe(0);
      expect(job.logs).toMatch(
        /unknown directive "bogus_directive" in \/etc\/nginx\/site\/config\/gen-\w+\/site\.conf/,
      );
      expect(job.logs).not.toContain("is current");
      // Longer than the entrypoint's check interval: nothing moved, nothing reloaded.
      await sleep(6000);
      expect(current()).toBe(before);
      const health = await request("https", port("443/tcp"), "/health");
      expect([health.status, health.fingerprint]).toEqual([200, fingerprintOf(certs.second)]);
      expect((await request("http", port("80/tcp"), "/health")).status).toBe(200);
      expect(serverState()).toEqual(server);
      expect(inspectField(name("nginx"), "{{.State.Health.Status}}")).toBe("healthy");
    },
    JOB_WITHIN_MS + 30000,
  );
});
