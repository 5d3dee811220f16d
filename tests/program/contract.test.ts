/**
 * The stack output contract: what the README documents (names and secretness) is what both stacks
 * export, and a consumer reads it through a StackReference (examples/consumer, under mocks).
 */
import * as fs from "fs";
import * as path from "path";
import { CATALOG, ServiceName, hostName } from "../../config/catalog";
import { PROJECT, ROOT, STACKS, cliConfig, projectValues } from "../stackFiles";
import {
  JOB_SUCCEEDED,
  ProgramRun,
  StackReferenceFixture,
  runEachStack,
  runInChild,
  runProgram,
  runningContainers,
} from "./harness";

const run = runEachStack(STACKS, cliConfig);
const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const CONSUMER = path.join(ROOT, "examples", "consumer", "index.ts");

/** The README's contract table: output name -> secret. */
function documented(): Map<string, boolean> {
  const section = README.split(/^## /m).find((s) => s.startsWith("Stack outputs"));
  if (!section) throw new Error("README has no '## Stack outputs' section");
  const rows = [...section.matchAll(/^\| `(\w+)` +\|.*\| (yes|no) +\|$/gm)];
  return new Map(rows.map((m) => [m[1], m[2] === "yes"]));
}

function asReference(r: ProgramRun): StackReferenceFixture {
  return {
    outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value])),
    secretOutputNames: Object.entries(r.outputs)
      .filter(([, v]) => v.secret)
      .map(([k]) => k),
  };
}

describe.each(STACKS)("the %s stack", (stack) => {
  test("exports exactly the documented outputs, secret exactly where the README says", () => {
    const contract = documented();
    expect(contract.size).toBeGreaterThan(10);
    const exported = run(stack).outputs;
    expect(Object.keys(exported).sort()).toEqual([...contract.keys()].sort());
    for (const [name, secret] of contract) {
      expect([name, exported[name].secret]).toEqual([name, secret]);
    }
  });
});

describe.each(STACKS)("the %s stack's images output", (stack) => {
  interface Image {
    reference: string;
    source: string | null;
    id: string;
    repoDigest: string | null;
  }
  const images = () => run(stack).outputs.images.value as Record<string, Image>;
  const services = () =>
    run(stack).outputs.services.value as Record<string, { containerNames: string[] }>;

  test("names the image every running container of each service runs", () => {
    const r = run(stack);
    // Every service with containers, and the backup schedule (no endpoint, but it runs).
    expect(Object.keys(images()).sort()).toEqual([...Object.keys(services()), "backup"].sort());
    for (const [service, endpoint] of Object.entries(services())) {
      for (const name of endpoint.containerNames) {
        const container = r.resources.find(
          (c) => c.type === "docker:index/container:Container" && c.inputs.name === name,
        );
        expect([service, name, container?.inputs.image]).toEqual([
          service,
          name,
          images()[service].id,
        ]);
      }
    }
  });

  test("a pulled image carries its pinned reference and registry digest; a build its source", () => {
    const config = projectValues(stack);
    const catalog = CATALOG as Record<string, { defaults: { image: unknown } }>;
    for (const [service, image] of Object.entries(images())) {
      const stackServices = config.services as Partial<Record<string, { image?: unknown }>>;
      const configured = (stackServices[service]?.image ?? catalog[service].defaults.image) as
        string | { build: { context: string } };
      if (typeof configured === "string") {
        expect([service, image]).toEqual([
          service,
          {
            reference: configured,
            source: null,
            id: `sha256:mock-${configured}`,
            repoDigest: `${configured}@sha256:mock`,
          },
        ]);
      } else {
        expect([service, image.reference, image.source, image.repoDigest]).toEqual([
          service,
          `${PROJECT}-${stack}-${hostName(service as ServiceName)}:local`,
          configured.build.context,
          null,
        ]);
      }
    }
  });
});

describe.each(STACKS)("the %s stack's services output", (stack) => {
  interface Endpoint {
    port: number;
    url: string;
    healthUrl: string | null;
    publishedPorts: string[];
    containerNames: string[];
  }
  const services = () => run(stack).outputs.services.value as Record<string, Endpoint>;

  test("a health URL is the endpoint each container's own healthcheck asks", () => {
    const r = run(stack);
    const withHealth = Object.entries(services()).filter(([, e]) => e.healthUrl !== null);
    expect(withHealth.length).toBeGreaterThan(8);
    for (const [service, e] of withHealth) {
      const url = new URL(e.healthUrl as string);
      expect(e.healthUrl?.startsWith(`${e.url}/`)).toBe(true);
      for (const name of e.containerNames) {
        const c = runningContainers(r).find((x) => x.inputs.name === name);
        const probe = JSON.stringify((c?.inputs.healthcheck as { tests?: string[] }).tests);
        // wget/fetch/urllib ask for the URL; the bash probe sends the request line itself.
        const asks =
          probe.includes(`127.0.0.1:${e.port}${url.pathname}`) ||
          (probe.includes(`127.0.0.1/${e.port}`) && probe.includes(`GET ${url.pathname} `));
        expect([service, name, asks, probe]).toEqual([service, name, true, probe]);
      }
    }
  });

  test("published ports are what each container publishes", () => {
    const r = run(stack);
    for (const [service, e] of Object.entries(services())) {
      for (const name of e.containerNames) {
        const c = runningContainers(r).find((x) => x.inputs.name === name);
        const ports = (c?.inputs.ports ?? []) as {
          ip: string;
          external: number;
          internal: number;
          protocol: string;
        }[];
        expect([service, e.publishedPorts]).toEqual([
          service,
          ports.map(
            (p) => `${p.ip}:${p.external}->${p.internal}${p.protocol === "udp" ? "/udp" : ""}`,
          ),
        ]);
      }
    }
    if (stack === "dev") {
      expect(services().postgres.publishedPorts).toEqual(["127.0.0.1:5432->5432"]);
      // The Node inspector of the API's dev mode, besides the config's ports.
      expect(services().api.publishedPorts).toEqual(["127.0.0.1:9229->9229"]);
    } else {
      expect(services().postgres.publishedPorts).toEqual([]);
      expect(services().nginx.publishedPorts).toEqual(["0.0.0.0:80->80", "0.0.0.0:443->443"]);
    }
  });
});

describe("a consumer through a StackReference", () => {
  const reference = "acme/vpn-enterprise/prod";
  const consume = (fixture: StackReferenceFixture) =>
    runProgram({ [`${PROJECT}:platformStack`]: reference }, "consumer", {
      program: CONSUMER,
      stackReferences: { [reference]: fixture },
    });

  test("reads the prod stack's outputs; the connection string stays a secret", async () => {
    const prod = run("prod");
    const r = await consume(asReference(prod));
    expect(r.error).toBeUndefined();
    expect(r.outputs.apiUrl).toEqual({ value: "http://api:3000", secret: false });
    expect(r.outputs.appNetwork).toEqual({ value: `${PROJECT}-prod-app`, secret: false });
    expect(r.outputs.siteUrl).toEqual({ value: "https://vpn.example.com", secret: false });
    const strings = prod.outputs.connectionStrings.value as { postgresReadonly: string };
    expect(r.outputs.reportingDatabase).toEqual({
      value: strings.postgresReadonly,
      secret: true,
    });
  });

  test("refuses a platform whose outputs version it was not written for", async () => {
    // The refusal rejects inside the program's outputs: observed in a child process, as `up` would.
    const fixture = asReference(run("prod"));
    const r = await runInChild(
      CONSUMER,
      "consumer",
      { [`${PROJECT}:platformStack`]: reference },
      JOB_SUCCEEDED,
      undefined,
      { [reference]: { ...fixture, outputs: { ...fixture.outputs, outputsVersion: 2 } } },
    );
    expect(r.errors.map((e) => e.message)).toContain(
      "platform outputs version 2; this program reads 1",
    );
    const fine = await runInChild(
      CONSUMER,
      "consumer",
      { [`${PROJECT}:platformStack`]: reference },
      JOB_SUCCEEDED,
      undefined,
      { [reference]: fixture },
    );
    expect(fine.errors).toEqual([]);
  });

  test("the README shows the consumer as it is tested", () => {
    expect(README).toContain(fs.readFileSync(CONSUMER, "utf8").trim());
  });
});
