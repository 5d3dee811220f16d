/**
 * The rendered config.alloy, read by Alloy's own parser (github.com/grafana/alloy/syntax v0.1.0,
 * built by tests/tools/alloy/prepare.sh into alloy-syntax-check). This is a syntax check, the one
 * `alloy fmt` does: it proves the file parses and what every string in it means to Alloy. It is
 * not `alloy validate` (component names and arguments), which cannot be built from the Go module
 * proxy; the unit tests (tests/unit/logsRender.test.ts) cover the pipeline's wiring.
 *
 * Required: a missing checker fails these tests, with a message saying how to build it.
 */
import { CATALOG } from "../../../config/catalog";
import {
  AlloyConfigInput,
  alloyAttr,
  alloyBlock,
  formatAlloyFile,
  renderAlloyConfig,
} from "../../../render/alloy";
import { alloyStrings, checkAlloy } from "./harness";

/** What components/observability/logShipper.ts passes for each stack. */
function programInput(stack: string): AlloyConfigInput {
  return {
    lokiPushUrl: "http://loki:3100/loki/api/v1/push",
    dockerHost: "unix:///var/run/docker.sock",
    project: "vpn-enterprise",
    stack,
    refreshSeconds: 15,
    listenPort: CATALOG.alloy.port,
  };
}

/** The 1-based line of `text` holding `needle`, and the line itself. */
function lineOf(text: string, needle: string): { line: number; content: string } {
  const lines = text.split("\n");
  const index = lines.findIndex((l) => l.includes(needle));
  if (index < 0) throw new Error(`no line holds ${needle}`);
  return { line: index + 1, content: lines[index] };
}

test("the program's inputs are the ones used here", () => {
  expect(CATALOG.alloy.port).toBe(12345);
});

describe.each(["dev", "prod"])("config.alloy of the %s stack", (stack) => {
  const text = renderAlloyConfig(programInput(stack));

  test("parses", () => {
    const run = checkAlloy(text);
    expect(run.output).toBe("config.alloy: OK\n");
    expect(run.status).toBe(0);
  });

  test("means to Alloy what the renderer was given", () => {
    const values = alloyStrings(text).map((s) => s.value);
    expect(values).toEqual(
      expect.arrayContaining([
        "http://loki:3100/loki/api/v1/push",
        "unix:///var/run/docker.sock",
        "15s",
        "vpn-enterprise.project=vpn-enterprise",
        `vpn-enterprise.stack=${stack}`,
        "__meta_docker_container_label_vpn_enterprise_service",
        "/(.*)",
        "$1",
      ]),
    );
  });
});

describe("strings that need escaping", () => {
  test("project and stack cannot hold them: the renderer refuses", () => {
    for (const project of ['vpn"x', "vpn\\x", "vpné"]) {
      expect(() => renderAlloyConfig({ ...programInput("prod"), project })).toThrow(
        `project: given ${JSON.stringify(project)}`,
      );
    }
  });

  test("in the push URL and the Docker host they parse and read back unchanged", () => {
    const lokiPushUrl = 'http://loki:3100/tenant "a"\\b/日本/😀/loki/api/v1/push';
    const dockerHost = 'unix:///var/run/"dö\\cker" é.sock';
    const text = renderAlloyConfig({ ...programInput("prod"), lokiPushUrl, dockerHost });
    expect(checkAlloy(text).status).toBe(0);
    const values = alloyStrings(text).map((s) => s.value);
    expect(values.filter((v) => v === lokiPushUrl)).toHaveLength(1);
    // discovery.docker and loki.source.docker both name the engine.
    expect(values.filter((v) => v === dockerHost)).toHaveLength(2);
  });

  test("every kind of character, as a label filter value, reads back unchanged", () => {
    const tricky = [
      'say "hi"',
      "C:\\path\\",
      "\\d+\\.\\\\",
      "'single' and `back`",
      "日本語 ünïcödé e\u0301",
      "😀 astral \u{1f680}",
      "tab\tnewline\ncarriage\r",
      "nul\u0000 bell\u0007 del\u007f",
      "nel\u0085 nbsp\u00a0 line-sep\u2028 bom\ufeff",
      "${HOST} {{ .Name }} // not a comment /* nor this */",
      "",
    ];
    const text = formatAlloyFile([
      alloyBlock("discovery.docker", "containers", [
        alloyAttr("host", "unix:///var/run/docker.sock"),
        alloyBlock("filter", undefined, [alloyAttr("name", "label"), alloyAttr("values", tricky)]),
      ]),
    ]);
    const strings = alloyStrings(text);
    expect(strings.map((s) => s.value)).toEqual([
      "unix:///var/run/docker.sock",
      "label",
      ...tricky,
    ]);
    // All on one line: no raw line break reached the file.
    expect(new Set(strings.slice(2).map((s) => s.pos.split(":")[1])).size).toBe(1);
  });
});

describe("a broken file is rejected, naming the line", () => {
  const text = renderAlloyConfig(programInput("prod"));

  test("a copy cut off inside a string", () => {
    const { line, content } = lineOf(text, "url = ");
    const cut = text.indexOf('loki/api/v1/push"');
    const run = checkAlloy(text.slice(0, cut));
    expect(run.status).toBe(1);
    const col = content.indexOf('"') + 1;
    expect(run.stderr).toContain(`config.alloy:${line}:${col}: string literal not terminated`);
  });

  test("a copy cut off after a whole line, its blocks left open", () => {
    const lines = text.split("\n");
    // Without the last block's two closing braces (and the final newline after them).
    const kept = lines.slice(0, -3);
    expect(lines.slice(-3)).toEqual(["\t}", "}", ""]);
    const run = checkAlloy(`${kept.join("\n")}\n`);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^config\\.alloy:${kept.length + 1}:1: expected }, got EOF$`, "m"),
    );
  });

  test("an unterminated string in the middle of the file", () => {
    const { line, content } = lineOf(text, "refresh_interval");
    const broken = text.replace(content, content.replace(/"$/, ""));
    expect(broken).not.toBe(text);
    const run = checkAlloy(broken);
    expect(run.status).toBe(1);
    const col = content.indexOf('"') + 1;
    expect(run.stderr).toContain(`config.alloy:${line}:${col}: string literal not terminated`);
  });
});

test("a missing checker is an error that says how to build it", () => {
  const saved = process.env.VPN_ALLOY_SYNTAX_CHECK;
  process.env.VPN_ALLOY_SYNTAX_CHECK = "/nonexistent/alloy-syntax-check";
  try {
    expect(() => checkAlloy("a = 1\n")).toThrow(
      "alloy-syntax-check missing at /nonexistent/alloy-syntax-check: run `sudo bash tests/tools/alloy/prepare.sh`",
    );
  } finally {
    if (saved === undefined) delete process.env.VPN_ALLOY_SYNTAX_CHECK;
    else process.env.VPN_ALLOY_SYNTAX_CHECK = saved;
  }
});
