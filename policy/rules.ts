/**
 * The platform's rules as CrossGuard policies, pure: they read a resource's inputs as the policy
 * runtime hands them over (`args.props`, `args.opts`, `args.getConfig()`) and import nothing but
 * types from @pulumi/policy, so tests call them without a running engine. index.ts serves them.
 *
 * What the runtime does to the inputs (@pulumi/policy 1.21, server.js and deserialize.js):
 * - a secret arrives as its plain value (validations never see that it was a secret);
 * - an unknown value (during preview, an output not resolved yet) throws when a rule reads it,
 *   and the runtime would report that rule as advisory "can't run during preview" for that
 *   resource: on a new stack, one such line for every container (its image id comes from a build).
 *   Each rule therefore passes quietly over what is unknown (judgedWhenKnown): the same rule runs
 *   again at `up`, where every input is known, and judges the resource then. Each rule reads only
 *   what it needs, and the cheap known fields first, so a preview judges as much as it can.
 */
import type {
  PolicyConfigSchema,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import {
  CATALOG,
  CatalogEntry,
  SERVICE_NAMES,
  STATEFUL_SERVICES,
  hostName,
} from "../config/catalog";
import { SECRET_ENV_NAME, isPinnedImage } from "../config/schema";

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

/** The Docker labels the Workload sets (components/workload.ts) that the rules read. */
export const LABELS = {
  service: "vpn-enterprise.service",
  role: "vpn-enterprise.role",
  noHealthcheck: "vpn-enterprise.no-healthcheck",
} as const;

/** Env names that hold a credential (the config's rule); allowed only as `<NAME>_FILE`. */
export const CREDENTIAL_NAME = SECRET_ENV_NAME;

/** The services that may mount the Docker socket: those the catalog says read it. */
export const DOCKER_SOCKET_SERVICES: readonly string[] = SERVICE_NAMES.filter(
  (n) => (CATALOG[n] as CatalogEntry).dockerSocket === true,
).map(hostName);

/**
 * Services whose data volume must be protected (stateful, the data not disposable): their
 * `vpn-enterprise.service` label -> catalog key.
 */
export const PROTECTED_DATA_SERVICES: ReadonlyMap<string, string> = new Map(
  STATEFUL_SERVICES.filter((n) => (CATALOG[n] as CatalogEntry).disposableData !== true).map((n) => [
    hostName(n),
    n,
  ]),
);

/** What `published-ports` takes from the policy pack config. */
export interface PublishedPortsConfig {
  /** Services whose containers may publish a port on an address other than loopback. */
  readonly publishingServices?: readonly string[];
}

/** What `stateful-volumes-protected` takes from the policy pack config. */
export interface StatefulVolumesConfig {
  /** Off for a stack whose data is disposable (dev). */
  readonly protectStatefulVolumes?: boolean;
}

export const DEFAULT_PUBLISHING_SERVICES: readonly string[] = ["nginx"];

type Props = Readonly<Record<string, unknown>>;
type Check = (
  props: Props,
  args: ResourceValidationArgs,
  report: (message: string) => void,
) => void;

function isRecord(v: unknown): v is Props {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function list(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

function text(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Docker labels as the provider takes them (`[{label, value}]`) as a record. */
function labelsOf(props: Props): Partial<Record<string, string>> {
  const out: Partial<Record<string, string>> = {};
  for (const l of list(props.labels)) {
    if (isRecord(l) && typeof l.label === "string" && typeof l.value === "string") {
      out[l.label] = l.value;
    }
  }
  return out;
}

/** How a violation names the container or volume: its Docker name, else the Pulumi name. */
function dockerName(props: Props, args: ResourceValidationArgs): string {
  try {
    return text(props.name) ?? args.name;
  } catch (e) {
    // A name unknown in a preview must not hide the violation found.
    if (isUnknownValue(e)) return args.name;
    throw e;
  }
}

/** A job as the Workload runs it: attached until it exits, never restarted. */
function isOneShot(props: Props): boolean {
  return props.attach === true && props.restart === "no";
}

/** A file carrier: created with the uploads of a read-only root, never started (Workload). */
function isCarrier(props: Props): boolean {
  return props.start === false && labelsOf(props)[LABELS.role] === "files";
}

/** The error @pulumi/policy's input proxy throws when a rule reads a value unknown in a preview. */
function isUnknownValue(e: unknown): boolean {
  return e instanceof Error && "unknownTypeSentinel" in e && Array.isArray(Reflect.get(e, "props"));
}

/**
 * A validation that passes quietly over a value unknown in a preview (module comment): what it
 * reported before reading that value stands; what it could not judge, `up` judges.
 */
function judgedWhenKnown(
  validate: (args: ResourceValidationArgs, reportViolation: ReportViolation) => void,
): (args: ResourceValidationArgs, reportViolation: ReportViolation) => void {
  return (args, reportViolation) => {
    try {
      validate(args, reportViolation);
    } catch (e) {
      if (!isUnknownValue(e)) throw e;
    }
  };
}

/**
 * A validation of one resource type: other types are reported not applicable, as the
 * runtime's own validateResourceOfType does. Messages are prefixed with the resource's kind and
 * Docker name, so a report always says which container it is about.
 */
function forType(type: string, kind: string, check: Check) {
  return judgedWhenKnown((args, reportViolation) => {
    if (args.type !== type) args.notApplicable(`applies to ${type} only`);
    const props = args.props as Props;
    check(props, args, (message) => {
      reportViolation(`${kind} ${dockerName(props, args)}: ${message}`);
    });
  });
}

function containerPolicy(
  name: string,
  description: string,
  check: Check,
  configSchema?: PolicyConfigSchema,
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    ...(configSchema && { configSchema }),
    validateResource: forType(CONTAINER, "container", check),
  };
}

const HEALTHCHECK_TEST = /^CMD(-SHELL)?$/;

export const containerHealthcheck = containerPolicy(
  "container-healthcheck",
  "Every container has a healthcheck, except one-shot jobs, file carriers and a container labelled vpn-enterprise.no-healthcheck with the reason.",
  (props, _args, report) => {
    const hc = props.healthcheck;
    if (isRecord(hc)) {
      const test = list(hc.tests);
      if (test.length > 1 && HEALTHCHECK_TEST.test(String(test[0]))) return;
      report(
        `healthcheck.tests ${JSON.stringify(test)} checks nothing (allowed: CMD or CMD-SHELL)`,
      );
      return;
    }
    if (isOneShot(props) || isCarrier(props)) return;
    if ((labelsOf(props)[LABELS.noHealthcheck] ?? "").trim() !== "") return;
    report(
      `has no healthcheck; give it one, or say why in the label ${LABELS.noHealthcheck} (Workload noHealthcheckReason)`,
    );
  },
);

export const containerMemoryLimit = containerPolicy(
  "container-memory-limit",
  "Every container has a memory limit, and no swap beyond it (memorySwap equal to memory).",
  (props, _args, report) => {
    const { memory, memorySwap } = props;
    if (typeof memory !== "number" || !(memory > 0)) {
      report(`memory is ${JSON.stringify(memory)}; allowed: a limit in MB > 0`);
      return;
    }
    if (memorySwap !== memory) {
      report(`memorySwap is ${JSON.stringify(memorySwap)}; allowed: ${memory}, equal to memory`);
    }
  },
);

export const containerRestartPolicy = containerPolicy(
  "container-restart-policy",
  'Services restart "unless-stopped"; one-shot jobs (attach) and never-started carriers (start: false) restart "no".',
  (props, _args, report) => {
    const once = props.attach === true || props.start === false;
    const expected = once ? "no" : "unless-stopped";
    if (props.restart !== expected) {
      report(
        `restart is ${JSON.stringify(props.restart)}; allowed: "${expected}" for ${once ? "a job or a carrier" : "a service"}`,
      );
    }
  },
);

// Docker's size units (10m, 1g, 512k, 10MiB); -1 would be "unlimited".
const LOG_SIZE = /^\d+(\.\d+)?\s*([kmgt]i?b?|b)?$/i;
const LOG_FILES = /^[1-9]\d*$/;

export const containerLogRotation = containerPolicy(
  "container-log-rotation",
  "Container logs are bounded: json-file with max-size and max-file, or a driver Docker bounds itself (local, or a remote driver's dual-logging cache).",
  (props, _args, report) => {
    const driver = text(props.logDriver);
    const opts = isRecord(props.logOpts) ? props.logOpts : {};
    if (driver === undefined) {
      report("logDriver is unset (the engine default, json-file without rotation); set it");
      return;
    }
    for (const key of ["max-size", "cache-max-size"]) {
      const size = opts[key];
      if (
        size !== undefined &&
        !(typeof size === "string" && LOG_SIZE.test(size) && /[1-9]/.test(size))
      ) {
        report(`logOpts.${key} is ${JSON.stringify(size)}; allowed: a size such as 10m`);
      }
    }
    if (driver !== "json-file") return;
    if (opts["max-size"] === undefined) {
      report("json-file without logOpts.max-size grows unbounded");
    }
    const files = opts["max-file"];
    if (!(typeof files === "string" && LOG_FILES.test(files))) {
      report(`logOpts.max-file is ${JSON.stringify(files)}; allowed: a file count >= 1`);
    }
  },
);

const NO_NEW_PRIVILEGES = /^no-new-privileges([:=]true)?$/;

export const containerNoNewPrivileges = containerPolicy(
  "container-no-new-privileges",
  "Every container runs with no-new-privileges:true (setuid binaries cannot gain privileges).",
  (props, _args, report) => {
    if (!list(props.securityOpts).some((o) => NO_NEW_PRIVILEGES.test(String(o)))) {
      report(
        `securityOpts ${JSON.stringify(props.securityOpts ?? [])} lack no-new-privileges:true`,
      );
    }
  },
);

export const containerDropAllCapabilities = containerPolicy(
  "container-drop-all-capabilities",
  "Every container drops ALL capabilities (and adds back only those it names).",
  (props, _args, report) => {
    const caps = isRecord(props.capabilities) ? props.capabilities : {};
    if (!list(caps.drops).some((c) => String(c).toUpperCase() === "ALL")) {
      report(`capabilities.drops ${JSON.stringify(caps.drops ?? [])} do not include ALL`);
    }
  },
);

export const containerNotPrivileged = containerPolicy(
  "container-not-privileged",
  "No container runs privileged.",
  (props, _args, report) => {
    if (props.privileged === true) report("privileged: true gives it the whole host");
  },
);

export const imagesPinned: ResourceValidationPolicy = {
  name: "images-pinned",
  description:
    "Containers run an image id or digest, never a tag; every pulled image (RemoteImage) is pinned to a tag other than latest, or to a digest.",
  enforcementLevel: "mandatory",
  validateResource: judgedWhenKnown((args, reportViolation) => {
    if (args.type === REMOTE_IMAGE) {
      const name = text((args.props as Props).name);
      if (name === undefined || !isPinnedImage(name)) {
        reportViolation(
          `image ${JSON.stringify(name)}: not pinned; allowed: repository:tag (a tag other than latest) or repository@sha256:<64 hex>`,
        );
      }
      return;
    }
    forType(CONTAINER, "container", (props, _args, report) => {
      const image = text(props.image) ?? "";
      // The Workload hands every container the id it resolved (RemoteImage.imageId, or the
      // digest of a local build): what runs cannot change under the same inputs.
      if (!/^sha256:[0-9a-z]/.test(image) && !/@sha256:[0-9a-f]{64}$/.test(image)) {
        report(
          `image ${JSON.stringify(props.image)} is a tag, which may move; allowed: an image id (sha256:...) or name@sha256:<digest>`,
        );
      }
    })(args, reportViolation);
  }),
};

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const URL_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i;

export const containerNoSecretEnv = containerPolicy(
  "container-no-secret-env",
  "No credential in a container's environment: a name like *PASSWORD*/*SECRET*/*TOKEN*/*PRIVATE_KEY*/*API_KEY*/*CREDENTIAL* must end in _FILE (a path to a secret file), and no value is a private key or a URL with a password.",
  (props, _args, report) => {
    for (const entry of list(props.envs)) {
      const e = String(entry);
      const at = e.indexOf("=");
      const name = at < 0 ? e : e.slice(0, at);
      const value = at < 0 ? "" : e.slice(at + 1);
      // Never the value in a message: it may be the very secret.
      if (CREDENTIAL_NAME.test(name) && !name.endsWith("_FILE")) {
        report(
          `env ${name} holds a credential; mount it as a secret file and pass ${name}_FILE (its path) instead`,
        );
      } else if (PEM_PRIVATE_KEY.test(value)) {
        report(`env ${name} holds a private key; mount it as a secret file instead`);
      } else if (URL_PASSWORD.test(value)) {
        report(`env ${name} holds a URL with a password; pass the password as a file instead`);
      }
    }
  },
);

/** True for a bind of the Docker engine's socket (/var/run/docker.sock, /run/docker.sock, ...). */
function isDockerSocket(hostPath: string): boolean {
  return /(^|\/)docker\.sock$/.test(hostPath.replace(/\/+$/, ""));
}

export const dockerSocketRestricted = containerPolicy(
  "docker-socket-restricted",
  `Only the services the catalog says read the Docker socket (${DOCKER_SOCKET_SERVICES.join(", ")}) bind it, and only read-only.`,
  (props, _args, report) => {
    const socketBinds = list(props.volumes).filter(
      (v): v is Props =>
        isRecord(v) && typeof v.hostPath === "string" && isDockerSocket(v.hostPath),
    );
    if (socketBinds.length === 0) return;
    const service = labelsOf(props)[LABELS.service];
    if (service === undefined || !DOCKER_SOCKET_SERVICES.includes(service)) {
      report(
        `service ${JSON.stringify(service)} binds the Docker socket; allowed only for ${DOCKER_SOCKET_SERVICES.join(", ")} (config/catalog.ts dockerSocket)`,
      );
    }
    for (const b of socketBinds) {
      if (b.readOnly !== true) report(`binds ${String(b.hostPath)} writable; allowed: readOnly`);
    }
  },
);

/** True for an address only the host itself reaches (127.0.0.0/8, ::1). */
export function isLoopback(ip: string): boolean {
  const bare = ip.replace(/^\[(.*)\]$/, "$1");
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) || /^(0{0,4}:){2,7}0{0,3}1$/.test(bare);
}

export const publishedPorts = containerPolicy(
  "published-ports",
  "Only the configured publishing services (publishingServices, default nginx) publish ports on an address other than loopback.",
  (props, args, report) => {
    // Docker's default host address (none given) is every interface.
    const open = list(props.ports)
      .filter(isRecord)
      .filter((p) => !isLoopback(text(p.ip) ?? "0.0.0.0"));
    if (open.length === 0) return;
    const allowed =
      args.getConfig<PublishedPortsConfig>().publishingServices ?? DEFAULT_PUBLISHING_SERVICES;
    const service = labelsOf(props)[LABELS.service];
    if (service !== undefined && allowed.includes(service)) return;
    const where = open.map((p) => `${text(p.ip) ?? "0.0.0.0"}:${String(p.external)}`).join(", ");
    report(
      `service ${JSON.stringify(service)} publishes ${where}; only ${allowed.join(", ") || "no service"} may publish beyond loopback (publishingServices)`,
    );
  },
  {
    properties: {
      publishingServices: {
        type: "array",
        items: { type: "string" },
        default: [...DEFAULT_PUBLISHING_SERVICES],
        description:
          "Services (vpn-enterprise.service label) that may publish on a non-loopback address.",
      },
    },
  },
);

export const statefulVolumesProtected: ResourceValidationPolicy = {
  name: "stateful-volumes-protected",
  description:
    "The data volume of every stateful catalog service (not disposableData) is protected, so no preview or destroy can delete the data.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      protectStatefulVolumes: {
        type: "boolean",
        default: true,
        description: "Off for a stack whose data is disposable (dev).",
      },
    },
  },
  validateResource: forType(VOLUME, "volume", (props, args, report) => {
    if (args.getConfig<StatefulVolumesConfig>().protectStatefulVolumes === false) {
      args.notApplicable("protectStatefulVolumes is off for this stack");
    }
    const name = text(props.name) ?? "";
    if (!name.endsWith("-data")) return;
    const service = labelsOf(props)[LABELS.service];
    const key = service === undefined ? undefined : PROTECTED_DATA_SERVICES.get(service);
    if (key === undefined || !name.endsWith(`-${service}-data`)) return;
    if (!args.opts.protect) {
      report(
        `holds ${key}'s data and is not protected; set services.${key}.dataProtection.protect (or protectStatefulVolumes: false for a disposable stack)`,
      );
    }
  }),
};

/** Every rule of the pack, in report order. */
export const POLICIES: readonly ResourceValidationPolicy[] = [
  containerHealthcheck,
  containerMemoryLimit,
  containerRestartPolicy,
  containerLogRotation,
  containerNoNewPrivileges,
  containerDropAllCapabilities,
  containerNotPrivileged,
  imagesPinned,
  containerNoSecretEnv,
  dockerSocketRestricted,
  publishedPorts,
  statefulVolumesProtected,
];
