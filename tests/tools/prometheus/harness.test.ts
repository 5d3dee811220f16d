import { prometheusRoot, requireTools, runTool } from "./harness";

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

test("the tools are the generation of the production images (Prometheus 3, Alertmanager >= 0.28)", () => {
  const prom = /version (\d+)\.(\d+)/.exec(runTool("promtool", ["--version"], {}).output);
  expect(Number(prom?.[1])).toBe(3);
  const am = /version (\d+)\.(\d+)/.exec(runTool("amtool", ["--version"], {}).output);
  expect(Number(am?.[1])).toBe(0);
  expect(Number(am?.[2])).toBeGreaterThanOrEqual(28);
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
  expect(prometheusRoot()).toBe(saved ?? "/opt/vpn-test-prometheus");
});
