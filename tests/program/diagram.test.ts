/**
 * The README's architecture diagram (scripts/diagram): it is the one the program gives for the prod
 * stack, it shows what a reader would look for (running services, routes, networks, volumes,
 * published ports) and loses a service that is switched off, and the command's `--check` fails on
 * a stale README. Mermaid's own parser and the command run as a process: tests/tools/diagram.test.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CATALOG, CatalogEntry, ServiceName, hostName } from "../../config/catalog";
import { STALE_MESSAGE, USAGE, parseArgs, run } from "../../scripts/diagram/cli";
import { parseNginx, proxiedPaths } from "../../scripts/diagram/nginx";
import { BEGIN, END, isCurrent, readmeDiagram, withDiagram } from "../../scripts/diagram/readme";
import { diagramResources } from "../../scripts/diagram/record";
import {
  Architecture,
  DiagramResource,
  describeArchitecture,
  labelsOf,
} from "../../scripts/diagram/model";
import { renderMermaid } from "../../scripts/diagram/render";
import { ROOT, cliConfig } from "../stackFiles";
import { ProgramRun, runProgram, runWithServices } from "./harness";

const README = path.join(ROOT, "README.md");

/** A successful run's resources as the renderer reads them. */
function resourcesOf(r: ProgramRun): DiagramResource[] {
  if (r.error) throw r.error;
  return diagramResources(r.resources);
}

/**
 * The catalog names of the run's enabled services, from its outputs: those with an address
 * (`services`), and the backup job, which has none, when `backups` says it runs.
 */
function enabledServices(r: ProgramRun): ServiceName[] {
  const withAddress = Object.keys(r.outputs.services.value as object) as ServiceName[];
  return [...withAddress, ...(r.outputs.backups.value === null ? [] : ["backup" as const])];
}

/** The routes the catalog declares for the run's enabled services: `path -> host name`. */
function catalogRoutes(r: ProgramRun): string[] {
  return enabledServices(r).flatMap((s) =>
    ((CATALOG[s] as CatalogEntry).routes ?? []).map((route) => `${route.path} -> ${hostName(s)}`),
  );
}

function nodeLines(mermaid: string, service: string): string[] {
  const id = `svc_${service.replace(/[^A-Za-z0-9]/g, "_")}`;
  return mermaid.split("\n").filter((l) => new RegExp(`\\b${id}\\b`).test(l));
}

let prod: ProgramRun;
let prodResources: DiagramResource[];
let prodMermaid: string;
let prodArch: Architecture;
beforeAll(async () => {
  prod = await runProgram(cliConfig("prod"), "prod");
  prodResources = resourcesOf(prod);
  prodMermaid = renderMermaid(prodResources, { stack: "prod" });
  prodArch = describeArchitecture(prodResources);
});

describe("the README's diagram", () => {
  test("is the prod stack's, as the program gives it", () => {
    const readme = fs.readFileSync(README, "utf8");
    const current = readmeDiagram(readme);
    if (current !== prodMermaid) {
      const got = (current ?? "").split("\n");
      const want = prodMermaid.split("\n");
      const at = want.findIndex((line, i) => got[i] !== line);
      throw new Error(
        `${STALE_MESSAGE}\nfirst difference, line ${String(at + 1)} of the block:\n` +
          `  README:  ${got[at] ?? "(nothing)"}\n  program: ${want[at] ?? "(nothing)"}`,
      );
    }
    expect(isCurrent(readme, prodMermaid)).toBe(true);
  });

  test("sits in the Architecture section, right before Prerequisites", () => {
    const readme = fs.readFileSync(README, "utf8");
    const section = readme.split(/^## /m).find((s) => s.startsWith("Architecture\n"));
    expect(section).toContain(BEGIN);
    expect(section).toContain(END);
    expect(readme.indexOf("## Architecture")).toBeLessThan(readme.indexOf("## Prerequisites"));
    expect(readme.slice(readme.indexOf(END)).trimStart().startsWith(`${END}\n`)).toBe(true);
    expect(/<!-- diagram:end -->\s*## Prerequisites/.test(readme)).toBe(true);
  });
});

describe("the prod diagram", () => {
  test("has one node per running service, none for jobs or file carriers", () => {
    const expected = enabledServices(prod).map(hostName).sort();
    expect(prodArch.services.map((s) => s.service)).toEqual(expected);
    for (const service of expected) {
      expect(nodeLines(prodMermaid, service).filter((l) => /\["/.test(l))).toHaveLength(1);
    }
    const jobs = prodResources.filter(
      (r) =>
        r.type === "docker:index/container:Container" &&
        r.inputs.attach === true &&
        !("vpn-enterprise.role" in labelsOf(r)),
    );
    expect(jobs.length).toBeGreaterThan(2);
    for (const job of jobs) {
      const service = labelsOf(job)["vpn-enterprise.service"];
      expect([service, nodeLines(prodMermaid, service)]).toEqual([service, []]);
    }
    expect(prodMermaid).not.toMatch(/files/);
  });

  test("shows the API's replicas from the stack file, and no count for a single one", () => {
    expect(prodMermaid).toContain('svc_api["api ×3<br/>');
    expect(prodMermaid).toContain('svc_postgres["postgres<br/>');
  });

  test("groups the services by tier", () => {
    const tiers = new Map<string, string>();
    let tier = "";
    for (const line of prodMermaid.split("\n")) {
      const sub = /^ {2}subgraph tier_(\w+)/.exec(line);
      if (sub) tier = sub[1];
      else if (line === "  end") tier = "";
      const node = /^ {4}svc_\w+\["([\w-]+)/.exec(line);
      if (node) tiers.set(node[1], tier);
    }
    for (const service of enabledServices(prod)) {
      expect([service, tiers.get(hostName(service))]).toEqual([service, CATALOG[service].tier]);
    }
  });

  test("has a route edge from nginx, labelled with its path, for every enabled routed service", () => {
    const routes = prodArch.routes.map((r) => `${r.path} -> ${r.to}`).sort();
    expect(routes).toEqual(catalogRoutes(prod).sort());
    expect(routes.length).toBeGreaterThanOrEqual(5);
    for (const r of prodArch.routes) {
      expect(r.from).toBe("nginx");
      const id = `svc_${r.to.replace(/-/g, "_")}`;
      expect(prodMermaid).toMatch(new RegExp(`svc_nginx -->\\|"[^|]*${r.path}[^|]*"\\| ${id}\\n`));
    }
  });

  test("publishes on the edge exactly the ports of the edge output", () => {
    const edge = prod.outputs.edge.value as { publishedPorts: string[] };
    expect(edge.publishedPorts.length).toBe(2);
    expect(prodMermaid).toContain(
      `internet -->|"${edge.publishedPorts.join("<br/>")}"| svc_nginx\n`,
    );
    expect(prodMermaid.match(/^ {2}(internet|host) -->/gm)).toHaveLength(1);
  });

  test("names every network on its tier's box, and on each service the networks it joins", () => {
    const networks = prodResources.filter((r) => r.type === "docker:index/network:Network");
    expect(networks).toHaveLength(4);
    const shortName = (id: string): string => {
      const n = networks.find((x) => x.id === id);
      if (!n) throw new Error(`no network ${id}`);
      return String(n.inputs.name).replace(/^vpn-enterprise-prod-/, "");
    };
    for (const n of networks) {
      const tier = labelsOf(n)["vpn-enterprise.tier"];
      const subnet = (n.inputs.ipamConfigs as { subnet: string }[])[0].subnet;
      expect(prodMermaid).toContain(
        `subgraph tier_${tier}["${tier} tier · network ${shortName(n.id)} (${subnet}`,
      );
    }
    expect(prodMermaid).toMatch(/\["data tier · network data \([\d./]+, internal\)"\]/);
    const expected = new Map<string, Set<string>>();
    for (const c of prodResources) {
      if (c.type !== "docker:index/container:Container" || c.inputs.attach === true) continue;
      const service = labelsOf(c)["vpn-enterprise.service"];
      if (labelsOf(c)["vpn-enterprise.role"] === "files") continue;
      const nets = expected.get(service) ?? new Set<string>();
      for (const n of (c.inputs.networksAdvanced ?? []) as { name: string }[]) {
        nets.add(shortName(n.name));
      }
      expected.set(service, nets);
    }
    const drawn = new Map(
      [...prodMermaid.matchAll(/^ {4}svc_\w+\["([\w-]+)[^<]*<br\/>net: ([\w, -]+)"\]$/gm)].map(
        (m) => [m[1], new Set(m[2].split(", "))],
      ),
    );
    expect(drawn).toEqual(expected);
    expect(prodMermaid).toContain('svc_nginx["nginx<br/>net: edge, app, monitoring"]');
    expect(prodMermaid).toContain('svc_api["api ×3<br/>net: app, data"]');
  });

  test("shows every named volume of the volumes output, linked to the services that mount it", () => {
    const volumes = Object.values(prod.outputs.volumes.value as Record<string, string>);
    expect(volumes.length).toBeGreaterThan(8);
    for (const name of volumes) {
      const short = name.replace(/^vpn-enterprise-prod-/, "");
      expect(prodMermaid).toContain(`vol_${short.replace(/-/g, "_")}[("${short}")]`);
      const mounters = prodArch.volumes.find((v) => v.name === name)?.mountedBy ?? [];
      expect([name, mounters.length > 0]).toEqual([name, true]);
    }
    expect(prodMermaid).toContain("  svc_postgres --- vol_postgres_data\n");
    expect(prodMermaid).toContain('  svc_nginx ---|"read-only"| vol_edge_site\n');
    expect(prodMermaid).toContain('  svc_node_exporter ---|"read-only"| vol_backup_data\n');
  });

  test("stays the same when the program gains another one-shot job", () => {
    const smoke: DiagramResource = {
      type: "docker:index/container:Container",
      name: "vpn-edge-smoke-1",
      id: "vpn-edge-smoke-1-id",
      inputs: {
        name: "vpn-enterprise-prod-nginx-smoke-1",
        attach: true,
        labels: [
          { label: "vpn-enterprise.service", value: "nginx-smoke" },
          { label: "vpn-enterprise.tier", value: "edge" },
        ],
        networksAdvanced: [{ name: "vpn-networks-edge-id", aliases: ["nginx-smoke"] }],
        volumes: [{ volumeName: "vpn-enterprise-prod-edge-site", readOnly: true }],
        uploads: [{ file: "/check.sh", content: "curl -fsS http://nginx/health\n" }],
      },
    };
    expect(renderMermaid([...prodResources, smoke], { stack: "prod" })).toBe(prodMermaid);
  });
});

describe("a service switched off", () => {
  test("disappears from the diagram; its kept volume shows as unused", async () => {
    const r = resourcesOf(await runWithServices("prod", { ollama: { enabled: false } }));
    const mermaid = renderMermaid(r, { stack: "prod" });
    expect(nodeLines(prodMermaid, "ollama").length).toBeGreaterThan(1);
    expect(nodeLines(mermaid, "ollama")).toEqual([]);
    expect(mermaid).toContain('vol_ollama_data[("ollama-data<br/>kept, unused")]');
    expect(mermaid).not.toMatch(/--- vol_ollama_data/);
    expect(nodeLines(mermaid, "api").length).toBe(nodeLines(prodMermaid, "api").length);
  });

  test("takes its route edge along, and nginx keeps the others", async () => {
    const off = await runWithServices("prod", { pythonAi: { enabled: false } });
    const mermaid = renderMermaid(resourcesOf(off), { stack: "prod" });
    expect(nodeLines(mermaid, "python-ai")).toEqual([]);
    expect(mermaid).not.toContain("/api/ai/");
    const routes = describeArchitecture(resourcesOf(off)).routes.map((x) => `${x.path} -> ${x.to}`);
    expect(routes.sort()).toEqual(catalogRoutes(off).sort());
    expect(routes).toContain("/api/ -> api");
  });
});

describe("the nginx reader", () => {
  test("follows proxy_pass to its upstream's servers, past comments and quoted braces", () => {
    const conf = [
      "# upstream ignored { server nope:1; }",
      "upstream a_backend { server a-1:80 resolve; server a-2:80; }",
      "server {",
      '  location /x/ { add_header X "} {" always; proxy_pass http://a_backend/; }',
      "  location = /health { return 200 'ok }'; }",
      "  location /direct/ { proxy_pass http://direct:8080; }",
      "}",
    ].join("\n");
    expect(proxiedPaths(parseNginx(conf))).toEqual([
      { path: "/x/", hosts: ["a-1", "a-2"] },
      { path: "/direct/", hosts: ["direct"] },
    ]);
  });
});

describe("npm run diagram", () => {
  const stale = (): string => {
    const readme = fs.readFileSync(README, "utf8");
    return withDiagram(readme, prodMermaid.replace('["api ×3<br/>', '["api ×2<br/>'));
  };
  function tempReadme(text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diagram-"));
    const file = path.join(dir, "README.md");
    fs.writeFileSync(file, text);
    return file;
  }
  async function runCli(argv: string[]): Promise<{ status: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const status = await run(argv, () => Promise.resolve(prodMermaid), {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
    });
    return { status, out, err };
  }

  test("--check fails on a stale README, naming the fix, and passes on a current one", async () => {
    const file = tempReadme(stale());
    const failed = await runCli(["--check", "--readme", file]);
    expect(failed.status).toBe(1);
    expect(failed.err).toContain(STALE_MESSAGE);
    const passed = await runCli([
      "--check",
      "--readme",
      tempReadme(withDiagram(stale(), prodMermaid)),
    ]);
    expect([passed.status, passed.err]).toEqual([0, ""]);
  });

  test("rewrites only the block between the markers", async () => {
    const before = stale();
    const file = tempReadme(before);
    expect((await runCli(["--readme", file])).status).toBe(0);
    const after = fs.readFileSync(file, "utf8");
    expect(readmeDiagram(after)).toBe(prodMermaid);
    const outside = (t: string): string[] => [
      t.slice(0, t.indexOf(BEGIN)),
      t.slice(t.indexOf(END)),
    ];
    expect(outside(after)).toEqual(outside(before));
  });

  test("refuses a README without its markers, saying which", async () => {
    const file = tempReadme("# no diagram here\n");
    const r = await runCli(["--check", "--readme", file]);
    expect(r.status).toBe(2);
    expect(r.err).toContain(`must contain ${BEGIN} exactly once`);
  });

  test.each([
    [["--stack"], "--stack needs a value"],
    [["--stack", "staging", "--print"], "--stack staging: no such stack; allowed: dev, prod"],
    [["--stack=qa"], "--stack qa: no such stack; allowed: dev, prod"],
    [["--stack", "dev"], "--stack dev: the README shows the prod stack; add --print"],
    [["--check", "--print"], "--print: choose one of --check and --print"],
    [["--chek"], "--chek: unknown argument; allowed: --check, --print, --stack <dev|prod>"],
    [["--print=yes"], "--print=yes: --print takes no value"],
    [["--readme"], "--readme needs a value"],
  ])("refuses %j with a message naming it", async (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
    const r = await runCli(argv);
    expect(r.status).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain(USAGE);
  });

  test("takes --stack dev --print and --stack=prod", () => {
    expect(parseArgs(["--stack", "dev", "--print"])).toMatchObject({ mode: "print", stack: "dev" });
    expect(parseArgs(["--stack=prod", "--check"])).toMatchObject({ mode: "check", stack: "prod" });
    expect(parseArgs([])).toMatchObject({ mode: "write", stack: "prod", readme: README });
  });
});
