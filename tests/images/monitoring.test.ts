/**
 * The monitoring containers that read the host, on a real Docker engine: cAdvisor, the log shipper
 * (Alloy) and node-exporter, created from exactly the security inputs the program records under
 * mocks for prod (and for prod with monitoring.dockerSocket.groupId and a non-root Alloy), with a
 * probe in place of the production binary. What only a real engine shows: root with every
 * capability dropped still opens the Docker socket (root:docker 0660) and lists /var/lib/docker
 * (root's, 0710); a user without the socket's group is refused (EACCES), one with it (group_add)
 * gets the API; the socket's group does not open /var/lib/docker; the read-only root and the
 * read-only binds refuse writes; node-exporter as 65534 reads the host's /proc, /sys and / and the
 * backup job's vpn_backup.prom through the read-only backups volume, and not the dumps. And what
 * the inputs do not give: a read-only bind (`volumes[].readOnly`, the provider's `Binds` `:ro`) is
 * read-only at its top only; the mounts below it (another container's root under
 * /var/lib/docker/overlay2, the host's /dev/shm under /) stay writable.
 *
 * The production images cannot be pulled here: vpn-test/python-base:bookworm (prepare.sh) runs a
 * python3 probe with the recorded user, group_add, capabilities, security options, read-only root,
 * tmpfs, limits and binds. Containers are created through the Engine API (API 1.41, Docker 20.10's,
 * as the edge test does) with the Config and HostConfig the provider builds from those inputs.
 *
 * Opt-in like images.test.ts: VPN_IMAGE_TESTS=1 and root; otherwise every test is reported as
 * skipped, never as passed.
 *
 *   VPN_IMAGE_TESTS=1 npm run test:images -- tests/images/monitoring
 *
 * Everything this run makes is named vpn-mon-test-<pid>-* and removed afterwards (also the host's
 * /dev/disk when Docker had to create it for cAdvisor's bind, and the file written into /dev/shm).
 */
import * as fs from "fs";
import * as path from "path";
import { ProgramRun, labelsOf, reveal, runProgram, runningContainers } from "../program/harness";
import { PROJECT, cliConfig } from "../stackFiles";
import { docker, dockerOk, imageTestsSkipReason, run, tail } from "./docker";
import {
  Obj,
  dockerApi,
  dockerSocket,
  isObj,
  num,
  objects,
  onlyKeys,
  str,
  stringMap,
  strings,
} from "./engine";

const IMAGE = "vpn-test/python-base:bookworm";
const PREFIX = `vpn-mon-test-${process.pid.toString()}`;
const SOCKET = "/var/run/docker.sock";
/** A user of no group on the host (the one the program's tests use for a non-root shipper). */
const NON_ROOT = "473:473";
/** The production image each probed service names (the probe runs in IMAGE instead). */
const PRODUCTION_IMAGES: Record<string, string> = {
  cadvisor: "gcr.io/cadvisor/cadvisor:",
  alloy: "grafana/alloy:",
  "node-exporter": "prom/node-exporter:",
};

const reason = imageTestsSkipReason("monitoring image tests");

const timings: string[] = [];
const notes: string[] = [];
const containers = new Set<string>();
const volumes = new Set<string>();
/** Host paths this run made (removed afterwards when still empty, or the file itself). */
const hostLeftovers = { dirs: [] as string[], files: [] as string[] };

// ---- Inputs -> what the provider sends ---------------------------------------------------------

interface Create {
  readonly Config: Obj;
  readonly HostConfig: Obj;
}

/**
 * The Config and HostConfig the provider's ContainerCreate builds from a container's inputs, with
 * the probe in place of the production image and command. Inputs that do not bear on what the
 * probe checks are named in IGNORED with the reason; any other key fails the test.
 */
function translate(service: string, inputs: Obj, volume: (name: string) => string): Create {
  const Config: Obj = { Image: IMAGE, Labels: { "vpn-test.suite": PREFIX } };
  // The provider always sends Init (false unless `init`); no network: the probe uses the socket.
  const HostConfig: Obj = { Init: false, NetworkMode: "none" };
  const IGNORED: Record<string, string> = {
    name: "each container gets this run's name",
    command: "the probe's command replaces the production binary's",
    healthcheck: "the production image's wget probe; the probe exits before a first check",
    labels: "this run's own label instead, so nothing that finds the platform by label sees these",
    networksAdvanced: "no network: the probe talks to the engine over the unix socket only",
    restart: "the probe exits; unless-stopped would start it again",
    wait: "`up` waits for healthy; the probe is waited for until it exits",
    waitTimeout: "see wait",
    destroyGraceSeconds: "the stop timeout of a delete; the test removes with docker rm -f",
  };
  const keys: Record<string, (v: unknown, key: string) => void> = {
    image: (v, k) => {
      if (!str(v, k).includes(PRODUCTION_IMAGES[service])) throw new Error(`${k}: ${String(v)}`);
    },
    hostname: (v, k) => (Config.Hostname = str(v, k)),
    user: (v, k) => (Config.User = str(v, k)),
    groupAdds: (v, k) => (HostConfig.GroupAdd = strings(v, k)),
    envs: (v, k) => (Config.Env = strings(v, k)),
    stopTimeout: (v, k) => (Config.StopTimeout = num(v, k)),
    readOnly: (v) => (HostConfig.ReadonlyRootfs = v === true),
    privileged: (v) => (HostConfig.Privileged = v === true),
    tmpfs: (v, k) => (HostConfig.Tmpfs = stringMap(v, k)),
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
        return { Name: str(u.name, k), Soft: num(u.soft, k), Hard: num(u.hard, k) };
      })),
    memory: (v, k) => (HostConfig.Memory = num(v, k) * 1024 * 1024),
    memorySwap: (v, k) => (HostConfig.MemorySwap = num(v, k) * 1024 * 1024),
    cpus: (v, k) => (HostConfig.NanoCpus = Math.round(Number(str(v, k)) * 1e9)),
    logDriver: (v, k) =>
      (HostConfig.LogConfig = { ...(HostConfig.LogConfig as Obj), Type: str(v, k) }),
    logOpts: (v, k) =>
      (HostConfig.LogConfig = { ...(HostConfig.LogConfig as Obj), Config: stringMap(v, k) }),
    ports: (v, k) => {
      if (objects(v, k).length > 0) throw new Error(`${service} publishes ports: ${String(v)}`);
    },
    uploads: (v, k) => {
      if (objects(v, k).length > 0) throw new Error(`${service} has uploads the probe lacks`);
    },
    // The provider's Binds: `<host path or volume>:<container path>:ro|rw`.
    volumes: (v, k) => {
      const declared: Obj = {};
      const binds: string[] = [];
      for (const vol of objects(v, k)) {
        onlyKeys(vol, ["hostPath", "volumeName", "containerPath", "readOnly"], k);
        const target = str(vol.containerPath, `${k}.containerPath`);
        const source =
          vol.hostPath !== undefined ? str(vol.hostPath, k) : volume(str(vol.volumeName, k));
        declared[target] = {};
        binds.push(`${source}:${target}:${vol.readOnly === true ? "ro" : "rw"}`);
      }
      Config.Volumes = declared;
      HostConfig.Binds = binds;
    },
  };
  onlyKeys(inputs, [...Object.keys(keys), ...Object.keys(IGNORED)], `${service} inputs`);
  for (const [key, value] of Object.entries(inputs)) {
    if (value !== undefined && key in keys) keys[key](value, key);
  }
  return { Config, HostConfig };
}

// ---- The probe ------------------------------------------------------------------------------------

/**
 * Runs each [kind, path] of argv[1] and prints one `PROBE {json}` line: who it runs as (ids,
 * groups, effective capabilities, no_new_privs) and per action what happened (an errno name on
 * failure). `api` is GET /containers/json over the unix socket `path`; `write` creates a new file
 * and removes it again, `write-keep` leaves it for the test to find; `mounts` lists the mount
 * points at or below `path` with ro/rw as this container sees them.
 */
const PROBE = String.raw`
import errno, json, os, socket, sys

def failed(e):
    return {"error": errno.errorcode.get(e.errno, str(e.errno))}

def api(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        return failed(e)
    s.sendall(b"GET /containers/json HTTP/1.0\r\nHost: docker\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    listing = json.loads(body)
    names = [n for c in listing for n in c["Names"]] if isinstance(listing, list) else None
    return {"status": int(head.split(b" ")[1]), "names": names}

def listdir(path):
    try:
        return {"entries": sorted(os.listdir(path))}
    except OSError as e:
        return failed(e)

def read(path):
    try:
        with open(path, "rb") as f:
            return {"bytes": len(f.read())}
    except OSError as e:
        return failed(e)

def write(path, keep):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as e:
        return failed(e)
    os.write(fd, b"written by the monitoring image test\n")
    os.close(fd)
    if not keep:
        os.unlink(path)
    return {"written": True}

def mounts(path):
    found = []
    for line in open("/proc/self/mountinfo"):
        point, options = line.split()[4], line.split()[5].split(",")
        if point == path or point.startswith(path.rstrip("/") + "/"):
            found.append([point, "ro" if "ro" in options else "rw"])
    return {"mounts": found}

status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
out = {
    "uid": os.getuid(),
    "gid": os.getgid(),
    "groups": sorted(os.getgroups()),
    "capEff": status["CapEff"].strip(),
    "noNewPrivs": status["NoNewPrivs"].strip(),
    "results": [],
}
actions = {"api": api, "list": listdir, "read": read, "mounts": mounts,
           "write": lambda p: write(p, False), "write-keep": lambda p: write(p, True)}
for kind, path in json.loads(sys.argv[1]):
    out["results"].append(actions[kind](path))
print("PROBE " + json.dumps(out))
`;

type Kind = "api" | "list" | "read" | "write" | "write-keep" | "mounts";
interface Outcome {
  readonly error?: string;
  readonly status?: number;
  readonly names?: string[] | null;
  readonly entries?: string[];
  readonly bytes?: number;
  readonly written?: boolean;
  readonly mounts?: [string, "ro" | "rw"][];
}
interface Probed {
  readonly container: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: number[];
  readonly capEff: string;
  readonly noNewPrivs: string;
  /** `${kind} ${path}` -> what happened. */
  readonly results: Record<string, Outcome>;
}

/** Creates the container as the provider would (with the probe), runs it to its exit, and reads it. */
async function probe(
  name: string,
  create: Create,
  actions: readonly [Kind, string][],
): Promise<Probed> {
  const start = Date.now();
  const container = `${PREFIX}-${name}`;
  containers.add(container);
  const body = {
    ...create.Config,
    Entrypoint: ["python3", "-c", PROBE],
    Cmd: [JSON.stringify(actions)],
    HostConfig: create.HostConfig,
  };
  const { status, body: answer } = await dockerApi(
    "POST",
    `/containers/create?name=${encodeURIComponent(container)}`,
    body,
  );
  if (status !== 201)
    throw new Error(`create ${container} -> HTTP ${status.toString()}: ${answer}`);
  const ran = docker(["start", "-a", container], 60000);
  const line = ran.out.split("\n").find((l) => l.startsWith("PROBE "));
  if (ran.status !== 0 || line === undefined) {
    throw new Error(`${container} -> ${String(ran.status)}\n${tail(ran.out)}`);
  }
  const out = JSON.parse(line.slice("PROBE ".length)) as Omit<Probed, "results" | "container"> & {
    results: Outcome[];
  };
  timings.push(`${name}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return {
    ...out,
    container,
    results: Object.fromEntries(actions.map(([k, p], i) => [`${k} ${p}`, out.results[i]])),
  };
}

interface Inspected {
  readonly Config: { User: string };
  readonly HostConfig: {
    CapAdd: string[] | null;
    CapDrop: string[] | null;
    GroupAdd: string[] | null;
    Privileged: boolean;
    ReadonlyRootfs: boolean;
    SecurityOpt: string[] | null;
  };
  readonly Mounts: { Type: string; Source: string; Destination: string; RW: boolean }[];
}

const inspect = (container: string) =>
  (JSON.parse(dockerOk(["inspect", container])) as Inspected[])[0];

/** The host paths bound into a container, by where they appear, as Docker mounted them. */
const bindsOf = (i: Inspected) =>
  Object.fromEntries(
    i.Mounts.filter((m) => m.Type === "bind").map((m) => [
      m.Destination,
      `${m.Source} rw=${String(m.RW)}`,
    ]),
  );

// ---- The program's containers -----------------------------------------------------------------

/** The one running container of `service` the program records, its inputs revealed. */
function inputsOf(r: ProgramRun, service: string): Obj {
  const found = runningContainers(r).filter(
    (c) => labelsOf(c)["vpn-enterprise.service"] === service,
  );
  if (found.length !== 1) {
    throw new Error(`the program records ${found.length.toString()} ${service} containers`);
  }
  return reveal(found[0].inputs) as Obj;
}

/** prod's CLI config with services merged per service and `monitoring` set. */
function prodWith(services: Obj, monitoring?: Obj): Record<string, string> {
  const config = { ...cliConfig("prod") };
  const current = JSON.parse(config[`${PROJECT}:services`]) as Obj;
  for (const [name, body] of Object.entries(services)) {
    current[name] = { ...(current[name] as Obj | undefined), ...(body as Obj) };
  }
  config[`${PROJECT}:services`] = JSON.stringify(current);
  if (monitoring !== undefined) config[`${PROJECT}:monitoring`] = JSON.stringify(monitoring);
  return config;
}

/** This run's volume for each program volume. */
const volumeFor = (name: string) => {
  const mine = name.replace(/^vpn-enterprise-prod-/, `${PREFIX}-`);
  volumes.add(mine);
  return mine;
};

const NOT_OPENED = { error: "EACCES" };
const READ_ONLY = { error: "EROFS" };

const suite = reason === undefined ? describe : describe.skip;

suite("the monitoring containers that read the host, on a real Docker engine", () => {
  const suiteStart = Date.now();
  let prod: ProgramRun;
  let withGroup: ProgramRun;
  let refused: Error | undefined;
  /** The socket's group on this host, as `stat -c %g` gives it. */
  let socketGid: number;
  /** A running container of this run, whose root is a mount below /var/lib/docker. */
  let sleeper: { name: string; merged: string };

  beforeAll(async () => {
    const prepared = run("bash", [path.join(__dirname, "prepare.sh")], 900000);
    if (prepared.status !== 0) {
      throw new Error(`prepare.sh failed (${String(prepared.status)}):\n${tail(prepared.out)}`);
    }
    timings.push(`prepare.sh: ${prepared.seconds.toFixed(1)} s`);
    socketGid = fs.statSync(dockerSocket()).gid;

    const programStart = Date.now();
    prod = await runProgram(cliConfig("prod"), "prod");
    if (prod.error) throw prod.error;
    withGroup = await runProgram(
      prodWith({ alloy: { user: NON_ROOT } }, { dockerSocket: { groupId: socketGid } }),
      "prod",
    );
    if (withGroup.error) throw withGroup.error;
    refused = (await runProgram(prodWith({ alloy: { user: NON_ROOT } }), "prod")).error;
    timings.push(`three program runs: ${((Date.now() - programStart) / 1000).toFixed(1)} s`);

    // Docker creates a missing bind source as an empty directory on the host (cAdvisor's /dev/disk
    // where there is no udev, as in this sandbox); such a directory is removed afterwards.
    if (!fs.existsSync("/dev/disk")) {
      hostLeftovers.dirs.push("/dev/disk");
      notes.push("/dev/disk did not exist on the host: Docker created it (empty) for the bind");
    }

    // The backups volume as the backup job leaves it: its top from postgres:15-alpine's PGDATA
    // (70:70, 1777: a new volume copies the image's directory), vpn_backup.prom written under
    // umask 077 and made 0644, a dump kept 0600 (assets/postgres/backup.sh).
    const backups = volumeFor("vpn-enterprise-prod-backup-data");
    const fill = [
      "chown 70:70 /backups && chmod 1777 /backups",
      "cd /backups && umask 077",
      "printf 'vpn_backup_last_success_timestamp_seconds{database=\"vpn_enterprise\"} 1700000000\\n' >vpn_backup.prom.tmp",
      "chmod 644 vpn_backup.prom.tmp && mv -f vpn_backup.prom.tmp vpn_backup.prom",
      "printf dump >vpn_enterprise-20250101T000000Z.dump",
      "chown 70:70 vpn_backup.prom vpn_enterprise-20250101T000000Z.dump",
    ].join(" && ");
    dockerOk([
      ...["run", "--rm", "--name", `${PREFIX}-backups`, "--network", "none"],
      ...["--label", `vpn-test.suite=${PREFIX}`, "-v", `${backups}:/backups`, IMAGE],
      ...["sh", "-c", fill],
    ]);

    const name = `${PREFIX}-sleeper`;
    containers.add(name);
    dockerOk([
      ...["run", "-d", "--name", name, "--network", "none", "--label", `vpn-test.suite=${PREFIX}`],
      ...[IMAGE, "sleep", "600"],
    ]);
    sleeper = {
      name,
      merged: dockerOk(["inspect", "-f", "{{.GraphDriver.Data.MergedDir}}", name]),
    };
  }, 900000);

  afterAll(() => {
    for (const c of containers) docker(["rm", "-fv", c]);
    for (const v of volumes) docker(["volume", "rm", "-f", v]);
    for (const f of hostLeftovers.files) fs.rmSync(f, { force: true });
    for (const d of hostLeftovers.dirs) {
      if (fs.existsSync(d) && fs.readdirSync(d).length === 0) fs.rmdirSync(d);
    }
    timings.push(`whole suite: ${((Date.now() - suiteStart) / 1000).toFixed(1)} s`);
    process.stderr.write(`monitoring image test timings:\n  ${timings.join("\n  ")}\n`);
    if (notes.length > 0)
      process.stderr.write(`monitoring image test notes:\n  ${notes.join("\n  ")}\n`);
  }, 120000);

  test("cAdvisor as recorded: root without capabilities reads the API and /var/lib/docker, writes nothing", async () => {
    const inputs = inputsOf(prod, "cadvisor");
    // What the program claims for it, before Docker is asked.
    expect([inputs.user, inputs.readOnly, inputs.securityOpts, inputs.capabilities]).toEqual([
      "0:0",
      true,
      ["no-new-privileges:true"],
      { adds: [], drops: ["ALL"] },
    ]);
    const p = await probe("cadvisor", translate("cadvisor", inputs, volumeFor), [
      ["api", SOCKET],
      ["list", "/var/lib/docker/containers"],
      ["write", `/var/lib/docker/${PREFIX}`],
      ["write", `/${PREFIX}`],
      ["write", `/rootfs/${PREFIX}`],
      ["write", `/sys/${PREFIX}`],
    ]);
    expect([p.uid, p.gid, p.capEff, p.noNewPrivs]).toEqual([0, 0, "0000000000000000", "1"]);
    const api = p.results[`api ${SOCKET}`];
    expect(api.status).toBe(200);
    // The engine's own list: it holds this very container and the sleeper.
    expect(api.names).toEqual(expect.arrayContaining([`/${p.container}`, `/${sleeper.name}`]));
    expect(p.results["list /var/lib/docker/containers"].entries).toEqual(
      expect.arrayContaining([dockerOk(["inspect", "-f", "{{.Id}}", sleeper.name])]),
    );
    for (const where of ["/var/lib/docker/", "/", "/rootfs/", "/sys/"]) {
      expect([where, p.results[`write ${where}${PREFIX}`]]).toEqual([where, READ_ONLY]);
    }
    const i = inspect(p.container);
    expect(i.Config.User).toBe("0:0");
    expect([i.HostConfig.CapDrop, i.HostConfig.CapAdd ?? []]).toEqual([["ALL"], []]);
    expect([i.HostConfig.Privileged, i.HostConfig.ReadonlyRootfs]).toEqual([false, true]);
    expect(i.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(bindsOf(i)).toEqual({
      [SOCKET]: `${SOCKET} rw=false`,
      "/var/lib/docker": "/var/lib/docker rw=false",
      "/sys": "/sys rw=false",
      "/rootfs": "/ rw=false",
      "/dev/disk": "/dev/disk rw=false",
    });
  });

  test("but a read-only bind is read-only at its top only: another container's root below /var/lib/docker takes a write", async () => {
    const inputs = inputsOf(prod, "cadvisor");
    const marker = `${PREFIX}-through-cadvisor`;
    const p = await probe("cadvisor-submounts", translate("cadvisor", inputs, volumeFor), [
      ["write-keep", `${sleeper.merged}/tmp/${marker}`],
      ["mounts", "/var/lib/docker"],
      ["mounts", "/rootfs"],
      ["mounts", "/sys"],
    ]);
    // The sleeper's root is an overlay mounted below /var/lib/docker: the `:ro` of the bind does
    // not reach it (API 1.41; only engines from 25 on make `ro` recursive, and for API >= 1.44 only).
    expect(p.results[`write-keep ${sleeper.merged}/tmp/${marker}`]).toEqual({ written: true });
    expect(dockerOk(["exec", sleeper.name, "cat", `/tmp/${marker}`])).toBe(
      "written by the monitoring image test",
    );
    const rw = (at: string) =>
      (p.results[`mounts ${at}`].mounts ?? []).filter(([, mode]) => mode === "rw").map(([m]) => m);
    expect(rw("/var/lib/docker")).toContain(sleeper.merged);
    // The host's /proc and /sys below the host's / (bound read-only at /rootfs) are mounted rw.
    expect(rw("/rootfs")).toEqual(expect.arrayContaining(["/rootfs/proc", "/rootfs/sys"]));
    notes.push(
      `below cAdvisor's read-only binds, mounted rw: ${[...rw("/var/lib/docker"), ...rw("/rootfs"), ...rw("/sys")].length.toString()} mounts (e.g. ${rw("/rootfs").slice(0, 4).join(", ")})`,
    );
  });

  test("the socket without its group: a non-root user is refused (EACCES), and so is that config", async () => {
    const inputs = { ...inputsOf(prod, "alloy"), user: NON_ROOT };
    const p = await probe("alloy-no-group", translate("alloy", inputs, volumeFor), [
      ["api", SOCKET],
    ]);
    expect([p.uid, p.gid, p.groups.includes(socketGid)]).toEqual([473, 473, false]);
    expect(p.results[`api ${SOCKET}`]).toEqual(NOT_OPENED);
    expect(inspect(p.container).HostConfig.GroupAdd ?? []).toEqual([]);
    // Which is why the config refuses a non-root shipper without monitoring.dockerSocket.groupId.
    expect(refused?.message).toContain(
      `services.alloy.user: given "${NON_ROOT}"; allowed: root (the default) unless monitoring.dockerSocket.groupId is set`,
    );
  });

  test("monitoring.dockerSocket.groupId = the socket's gid and Alloy as 473:473: the recorded Alloy gets the API", async () => {
    const inputs = inputsOf(withGroup, "alloy");
    expect([inputs.user, inputs.groupAdds]).toEqual([NON_ROOT, [String(socketGid)]]);
    const p = await probe("alloy-group", translate("alloy", inputs, volumeFor), [["api", SOCKET]]);
    expect([p.uid, p.gid, p.groups, p.capEff]).toEqual([
      473,
      473,
      [socketGid, 473].sort((a, b) => a - b),
      "0000000000000000",
    ]);
    expect(p.results[`api ${SOCKET}`].status).toBe(200);
    expect(p.results[`api ${SOCKET}`].names).toContain(`/${p.container}`);
    const i = inspect(p.container);
    expect([i.Config.User, i.HostConfig.GroupAdd]).toEqual([NON_ROOT, [String(socketGid)]]);
    expect(bindsOf(i)[SOCKET]).toBe(`${SOCKET} rw=false`);
  });

  test("the socket's group does not open /var/lib/docker: why cAdvisor stays root (the config refuses it otherwise)", async () => {
    // cAdvisor's inputs with the group (as recorded) and a non-root user, which the config refuses.
    const inputs: Obj = { ...inputsOf(withGroup, "cadvisor"), user: NON_ROOT };
    expect(inputs.groupAdds).toEqual([String(socketGid)]);
    const p = await probe("cadvisor-group", translate("cadvisor", inputs, volumeFor), [
      ["api", SOCKET],
      ["list", "/var/lib/docker/containers"],
    ]);
    expect(p.results[`api ${SOCKET}`].status).toBe(200);
    expect(p.results["list /var/lib/docker/containers"]).toEqual(NOT_OPENED);
  });

  test("node-exporter as recorded: 65534 reads the host's /proc, /sys and / and vpn_backup.prom, writes nothing", async () => {
    const inputs = inputsOf(prod, "node-exporter");
    expect([inputs.user, inputs.readOnly, inputs.groupAdds]).toEqual([
      "65534:65534",
      true,
      undefined,
    ]);
    const p = await probe("node-exporter", translate("node-exporter", inputs, volumeFor), [
      ["read", "/host/proc/stat"],
      ["list", "/host/sys/class"],
      ["read", "/host/root/etc/hostname"],
      ["read", "/textfile/vpn_backup.prom"],
      ["read", "/textfile/vpn_enterprise-20250101T000000Z.dump"],
      ["write", `/textfile/${PREFIX}`],
      ["write", `/host/root/${PREFIX}`],
      ["write", `/${PREFIX}`],
      ["api", SOCKET],
    ]);
    expect([p.uid, p.gid, p.groups, p.capEff, p.noNewPrivs]).toEqual([
      65534,
      65534,
      [65534],
      "0000000000000000",
      "1",
    ]);
    const r = p.results;
    expect(r["read /host/proc/stat"].bytes).toBeGreaterThan(0);
    expect(r["list /host/sys/class"].entries).toEqual(expect.arrayContaining(["net", "block"]));
    expect(r["read /host/root/etc/hostname"].bytes).toBe(fs.statSync("/etc/hostname").size);
    expect(r["read /textfile/vpn_backup.prom"].bytes).toBeGreaterThan(0);
    // The dumps stay the job's own (0600): only the metrics file is for the exporter.
    expect(r["read /textfile/vpn_enterprise-20250101T000000Z.dump"]).toEqual(NOT_OPENED);
    // The backups directory is 1777: only the read-only mount keeps 65534 from writing there.
    for (const where of ["/textfile/", "/host/root/", "/"]) {
      expect([where, r[`write ${where}${PREFIX}`]]).toEqual([where, READ_ONLY]);
    }
    // No socket in node-exporter.
    expect(r[`api ${SOCKET}`]).toEqual({ error: "ENOENT" });
    const i = inspect(p.container);
    expect([i.Config.User, i.HostConfig.CapDrop, i.HostConfig.Privileged]).toEqual([
      "65534:65534",
      ["ALL"],
      false,
    ]);
    expect(bindsOf(i)).toEqual({
      "/host/proc": "/proc rw=false",
      "/host/sys": "/sys rw=false",
      "/host/root": "/ rw=false",
    });
    const textfile = i.Mounts.find((m) => m.Destination === "/textfile");
    expect([textfile?.Type, textfile?.RW]).toEqual(["volume", false]);
  });

  test("but below node-exporter's read-only / the host's world-writable mounts take a write from 65534 (/dev/shm)", async () => {
    expect((fs.statSync("/dev/shm").mode & 0o7777).toString(8)).toBe("1777");
    const inputs = inputsOf(prod, "node-exporter");
    const file = `/dev/shm/${PREFIX}-through-node-exporter`;
    hostLeftovers.files.push(file);
    const p = await probe(
      "node-exporter-submounts",
      translate("node-exporter", inputs, volumeFor),
      [
        ["write-keep", `/host/root${file}`],
        ["mounts", "/host/root"],
      ],
    );
    expect(p.results[`write-keep /host/root${file}`]).toEqual({ written: true });
    expect(fs.readFileSync(file, "utf8")).toBe("written by the monitoring image test\n");
    expect(fs.statSync(file).uid).toBe(65534);
    const mounts = p.results["mounts /host/root"].mounts ?? [];
    expect(mounts).toEqual(
      expect.arrayContaining([
        ["/host/root", "ro"],
        ["/host/root/dev/shm", "rw"],
      ]),
    );
  });
});
