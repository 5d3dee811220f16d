import { CATALOG } from "../../../config/catalog";
import { requireTools, runTool } from "./harness";

/** `major.minor` of a version in `text` (`prom/prometheus:v3.5.0`, `promtool, version 3.5.3+ds1`). */
function majorMinor(text: string, pattern: RegExp): { major: number; minor: number } {
  const match = pattern.exec(text);
  if (!match) throw new Error(`no version matching ${String(pattern)} in ${JSON.stringify(text)}`);
  return { major: Number(match[1]), minor: Number(match[2]) };
}

const IMAGE_TAG = /:v?(\d+)\.(\d+)/;
const TOOL_VERSION = /version (\d+)\.(\d+)/;

test("promtool and amtool run from the chroot, and both tell a good file from a bad one", () => {
  const good = "scrape_configs: [{job_name: a, static_configs: [{targets: ['x:1']}]}]\n";
  expect(runTool("promtool", ["check", "config", "p.yml"], { "p.yml": good }).status).toBe(0);
  const bad = runTool("promtool", ["check", "config", "p.yml"], {
    "p.yml": "scrape_configs: [{job_name: a, scrape_interval: soon}]\n",
  });
  expect(bad.status).not.toBe(0);
  expect(bad.output).toContain("soon");

  const am = "route: {receiver: x}\nreceivers: [{name: x}]\n";
  expect(runTool("amtool", ["check-config", "a.yml"], { "a.yml": am }).status).toBe(0);
  const amBad = runTool("amtool", ["check-config", "a.yml"], {
    "a.yml": "route: {receiver: y}\nreceivers: [{name: x}]\n",
  });
  expect(amBad.status).not.toBe(0);
  expect(amBad.output).toContain('"y"');
});

test("the tools are the generation of the production images (catalog Prometheus and Alertmanager)", () => {
  const prometheusImage = majorMinor(CATALOG.prometheus.defaults.image, IMAGE_TAG);
  const alertmanagerImage = majorMinor(CATALOG.alertmanager.defaults.image, IMAGE_TAG);
  const promtool = majorMinor(runTool("promtool", ["--version"], {}).output, TOOL_VERSION);
  expect(promtool.major).toBe(prometheusImage.major);
  // Alertmanager is 0.x: its minor is the generation, and the tool may be newer than the image.
  const amtool = majorMinor(runTool("amtool", ["--version"], {}).output, TOOL_VERSION);
  expect(amtool.major).toBe(alertmanagerImage.major);
  expect(amtool.minor).toBeGreaterThanOrEqual(alertmanagerImage.minor);
});

test("a missing chroot is an error that says how to build it", () => {
  const saved = process.env.VPN_PROMETHEUS_ROOT;
  process.env.VPN_PROMETHEUS_ROOT = "/nonexistent/vpn-test-prometheus";
  try {
    expect(() => {
      requireTools();
    }).toThrow(
      "promtool missing in the test chroot /nonexistent/vpn-test-prometheus: run `sudo bash tests/tools/prometheus/prepare.sh`",
    );
  } finally {
    if (saved === undefined) delete process.env.VPN_PROMETHEUS_ROOT;
    else process.env.VPN_PROMETHEUS_ROOT = saved;
  }
});
