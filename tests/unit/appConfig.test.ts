/** The app tier's config keys, checked without mocks: defaults and every refusal names its key. */
import { parseStackConfig } from "../../config/load";
import { CATALOG, CatalogEntry, SERVICE_NAMES } from "../../config/catalog";
import { publicUrl } from "../../config/schema";
import { PROJECT, ROOT } from "../stackFiles";
import { expectProblem, problemsOf } from "./configProblems";

const base = { domain: "vpn.example.com" };
const services = (s: Record<string, unknown>) => ({ ...base, services: s });

describe("defaults", () => {
  const cfg = parseStackConfig(base, PROJECT, "staging", ROOT);
  const s = cfg.services;

  test("the guide's limits: API 1 cpu / 512 MB, Ollama 2 cpus / 4 GB; the API keeps its logs", () => {
    expect(s.api.resources).toMatchObject({ cpus: 1, memoryMb: 512 });
    expect(s.ollama.resources).toMatchObject({ cpus: 2, memoryMb: 4096 });
    expect(s.api.logs).toBe("volume");
    expect(s.api.devMode).toBeUndefined();
  });

  test("the app images build from docker/ and examples/ unless a stack points elsewhere", () => {
    expect(s.api.image).toEqual({
      build: { context: "examples/node-service", dockerfile: "docker/node-service/Dockerfile" },
    });
    expect(s.ollama.image.ref).toMatch(/^ollama\/ollama:\d/);
    expect(s.n8n.image.ref).toMatch(/^n8nio\/n8n:\d/);
  });

  test("optional services are off, the rest on; the n8n editor is guarded; TLS is on", () => {
    expect(s.dbManager.enabled).toBe(false);
    expect(s.provisioner.enabled).toBe(false);
    expect([s.api, s.web, s.pythonAi, s.ollama, s.n8n].every((x) => x.enabled)).toBe(true);
    expect(s.n8n.editorProtection).toBe("basicAuth");
    expect(publicUrl(cfg)).toBe("https://vpn.example.com");
    expect(publicUrl({ ...cfg, tls: { mode: "off" } })).toBe("http://vpn.example.com");
  });

  test("what a service requires is a catalog service", () => {
    for (const name of SERVICE_NAMES) {
      for (const need of (CATALOG[name] as CatalogEntry).requires ?? []) {
        expect(SERVICE_NAMES).toContain(need);
      }
    }
  });
});

describe("refused, with the key named", () => {
  test("devMode with a prebuilt image or a git context", () => {
    expectProblem(
      services({
        api: {
          image: { ref: "ghcr.io/acme/api:1.0.0" },
          devMode: { source: "examples/node-service" },
        },
      }),
      "services.api.devMode",
      "devMode builds the `dev` stage of image.build from a local path",
    );
  });

  test("a debug port with more than one replica", () => {
    expectProblem(
      services({
        api: { replicas: 2, devMode: { source: "examples/node-service", debugPort: 9229 } },
      }),
      "services.api.devMode.debugPort",
      "no debug port with replicas > 1",
    );
  });

  test("web has no debugger key", () => {
    expectProblem(
      services({ web: { devMode: { source: "examples/web", debugPort: 9230 } } }),
      "services.web.devMode.debugPort",
      "an unknown key",
    );
  });

  test("a dev source, build context or Dockerfile that is not on disk", () => {
    const problems = problemsOf(
      services({
        api: { devMode: { source: "no/such/src" } },
        web: { image: { build: { context: "no/such/dir" } } },
        pythonAi: {
          image: { build: { context: "examples/python-ai", dockerfile: "nope/Dockerfile" } },
        },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^vpn-enterprise:services\.api\.devMode\.source: given "no\/such\/src"/,
        ),
        expect.stringMatching(
          /^vpn-enterprise:services\.web\.image\.build\.context: given "no\/such\/dir"/,
        ),
        expect.stringMatching(
          /^vpn-enterprise:services\.web\.image\.build\.dockerfile: given "no\/such\/dir\/Dockerfile"/,
        ),
        expect.stringMatching(
          /^vpn-enterprise:services\.pythonAi\.image\.build\.dockerfile: given "nope\/Dockerfile"/,
        ),
      ]),
    );
  });

  test.each([
    ["https://github.com/acme/app.git", "without a ref"],
    ["https://github.com/acme/app#v1", "without .git"],
    ["http://github.com/acme/app.git#v1", "plain http"],
    ["/abs/path", "an absolute path"],
  ])("a build context %s (%s)", (context) => {
    expectProblem(
      services({ api: { image: { build: { context } } } }),
      "services.api.image.build.context",
      "a git URL https://host/org/repo.git#<tag or commit>",
    );
  });

  test("git contexts with a ref (and a subdirectory) are accepted without touching the disk", () => {
    for (const context of [
      "https://github.com/acme/app.git#v1.2.3",
      "git@github.com:acme/app.git#0123abc:apps/api",
      "ssh://git@host/acme/app.git#main",
    ]) {
      const cfg = parseStackConfig(
        services({ api: { image: { build: { context } } } }),
        PROJECT,
        "t",
        ROOT,
      );
      expect(cfg.services.api.image.build?.context).toBe(context);
    }
  });

  test("an Ollama model name ollama pull would not take, and a GPU count of 0", () => {
    expectProblem(
      services({ ollama: { models: ["Llama 3"] } }),
      "services.ollama.models[0]",
      "a model name",
    );
    expectProblem(services({ ollama: { gpu: 0 } }), "services.ollama.gpu", "a number >= 1");
  });

  test("a Supabase URL that is not http(s), an editor user with spaces", () => {
    expectProblem(
      services({ api: { supabaseUrl: "ftp://x" } }),
      "services.api.supabaseUrl",
      "http(s) URL",
    );
    expectProblem(
      services({ n8n: { editorUser: "an admin" } }),
      "services.n8n.editorUser",
      "letters, digits",
    );
  });

  test("an env variable the platform sets itself", () => {
    expectProblem(
      services({ api: { env: { DATABASE_HOST: "db.example.com" } } }),
      "services.api.env.DATABASE_HOST",
      "a name the platform does not set itself",
    );
    expectProblem(
      services({ n8n: { env: { WEBHOOK_URL: "https://x" } } }),
      "services.n8n.env.WEBHOOK_URL",
      "a name the platform does not set itself",
    );
    // The key is the stack's secret, in n8n's settings file: no env may give another.
    expectProblem(
      services({ n8n: { env: { N8N_ENCRYPTION_KEY: "another-key-0123456789" } } }),
      "services.n8n.env.N8N_ENCRYPTION_KEY",
      "a name the platform does not set itself",
    );
  });

  test("a service without what it requires", () => {
    expectProblem(
      services({ postgres: { enabled: false }, backup: { enabled: false } }),
      "services.api.enabled",
      "api needs postgres",
    );
    expectProblem(
      services({ api: { enabled: false }, provisioner: { enabled: true } }),
      "services.provisioner.enabled",
      "provisioner needs api",
    );
  });

  test("removing a protected volume with its disabled service", () => {
    expectProblem(
      services({ n8n: { enabled: false, dataProtection: { keepWhenDisabled: false } } }),
      "services.n8n.dataProtection.keepWhenDisabled",
      "set protect: false as well",
    );
  });

  test("a TLS mode that does not exist, and more than one replica of a stateful app", () => {
    expectProblem(
      { ...base, tls: { mode: "letsencrypt" } },
      "tls.mode",
      '"off", "selfSigned", "files"',
    );
    expectProblem(services({ n8n: { replicas: 2 } }), "services.n8n.replicas", "exactly 1");
  });
});
