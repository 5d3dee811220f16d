/**
 * The stacks differ only in their config: the prod yaml run under the stack name `dev` and under
 * `prod` must register the same resources with the same inputs, but for the names and labels that
 * carry the stack's name (the default name prefix, the `vpn-enterprise.stack` label and what is
 * derived from it: the log shippers' filter, Prometheus' external label, the container alerts).
 */
import { PROJECT, cliConfig } from "../stackFiles";
import { ProgramRun, reveal, runProgram } from "./harness";

type Obj = Record<string, unknown>;

/** A string with every place the stack's name may appear replaced by a marker. */
function unnamed(text: string, stack: string): string {
  if (text === stack) return "<stack>"; // a label's value
  return (
    text
      .replaceAll(`${PROJECT}-${stack}`, "<prefix>")
      .replaceAll(`urn:pulumi:${stack}::`, "urn:pulumi:<stack>::")
      // The Docker label in the log shippers' filters.
      .replaceAll(`vpn-enterprise.stack=${stack}`, "vpn-enterprise.stack=<stack>")
      // Prometheus' external label, and the container alerts' filter.
      .replace(new RegExp(`^(\\s*)stack: ${stack}$`, "gm"), "$1stack: <stack>")
      .replaceAll(
        `container_label_vpn_enterprise_stack="${stack}"`,
        'container_label_vpn_enterprise_stack="<stack>"',
      )
  );
}

function walk(v: unknown, stack: string): unknown {
  if (typeof v === "string") return unnamed(v, stack);
  if (Array.isArray(v)) return v.map((x) => walk(x, stack));
  if (typeof v !== "object" || v === null) return v;
  const o = v as Obj;
  // A hash of the files: they are compared themselves, in their carrier's uploads.
  if (o.label === "vpn-enterprise.files-sha256") return { ...o, value: "<hash>" };
  // So are the names of the volumes they go to, which end in that hash.
  for (const key of ["name", "volumeName"]) {
    const v = o[key];
    if (typeof v === "string" && /-files-.*-[0-9a-f]{12}$/.test(v)) {
      return walk({ ...o, [key]: v.replace(/-[0-9a-f]{12}$/, "-<hash>") }, stack);
    }
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x, stack)]));
}

/** Each resource, revealed and with the stack's name marked, keyed by type and logical name. */
function normalise(r: ProgramRun, stack: string): Map<string, string> {
  return new Map(
    r.resources.map((x) => [
      `${x.type}::${x.name}`,
      JSON.stringify(walk({ ...x, inputs: reveal(x.inputs) }, stack)),
    ]),
  );
}

async function prodYamlAs(stack: string): Promise<ProgramRun> {
  const r = await runProgram(cliConfig("prod"), stack);
  if (r.error) throw r.error;
  return r;
}

test("the prod yaml under the names dev and prod: the same resources, differing only in names and labels", async () => {
  const asDev = await prodYamlAs("dev");
  const asProd = await prodYamlAs("prod");
  const dev = normalise(asDev, "dev");
  const prod = normalise(asProd, "prod");
  expect([...dev.keys()].sort()).toEqual([...prod.keys()].sort());
  const differing = [...dev.keys()].filter((k) => dev.get(k) !== prod.get(k));
  expect(differing).toEqual([]);
  // The check can fail: the stack's name is there before normalising.
  const raw = JSON.stringify(asDev.resources.map((x) => x.inputs));
  expect(raw).toContain(`${PROJECT}-dev-api-1`);
  expect(raw).not.toContain(`${PROJECT}-prod-api-1`);
  // The outputs too: the same contract, names aside.
  const outputs = (r: ProgramRun, stack: string) =>
    JSON.stringify(reveal(r.outputs)).replaceAll(`${PROJECT}-${stack}`, "<prefix>");
  expect(outputs(asDev, "dev")).toEqual(outputs(asProd, "prod"));
});
