/** The per-uid process budgets (config/processes.ts) for the shipped stacks and edge cases. */
import { parseStackConfig } from "../../config/load";
import { processBudgets } from "../../config/processes";
import { PROJECT, ROOT, projectValues } from "../stackFiles";

const services = (stack: "dev" | "prod") =>
  parseStackConfig(projectValues(stack), PROJECT, stack, ROOT).services;

test("prod: each uid's budget is the sum of pidsLimit of the services configured to run as it", () => {
  const s = services("prod");
  const b = processBudgets(s);
  // nobody: Prometheus, Alertmanager and three exporters, together.
  expect(b["65534"]).toBe(
    s.prometheus.resources.pidsLimit +
      s.alertmanager.resources.pidsLimit +
      s.nginxExporter.resources.pidsLimit +
      s.postgresExporter.resources.pidsLimit +
      s.nodeExporter.resources.pidsLimit,
  );
  expect(b["65534"]).toBeGreaterThan(s.postgresExporter.resources.pidsLimit);
  // 1001: the API (once, whatever its replicas) and the other apps.
  expect(b["1001"]).toBe(
    s.api.resources.pidsLimit +
      s.web.resources.pidsLimit +
      s.pythonAi.resources.pidsLimit +
      s.ollama.resources.pidsLimit +
      s.dbManager.resources.pidsLimit +
      s.provisioner.resources.pidsLimit,
  );
  // PostgreSQL and its backup scheduler share 70.
  expect(b["70"]).toBe(s.postgres.resources.pidsLimit + s.backup.resources.pidsLimit);
  // Root is not limited by the kernel: no budget.
  expect(b["0"]).toBeUndefined();
});

test("enabling, disabling or scaling a service changes no budget; its user or limit does", () => {
  const s = services("prod");
  const b = processBudgets(s);
  const changed: typeof s = {
    ...s,
    postgresExporter: { ...s.postgresExporter, enabled: false },
    api: { ...s.api, replicas: 7 },
  };
  expect(processBudgets(changed)).toEqual(b);
  const other: typeof s = { ...s, postgresExporter: { ...s.postgresExporter, user: "4242" } };
  const moved = processBudgets(other);
  expect(moved["65534"]).toBe((b["65534"] ?? 0) - s.postgresExporter.resources.pidsLimit);
  expect(moved["4242"]).toBe(s.postgresExporter.resources.pidsLimit);
  // A lone uid: its service's own limit.
  expect(b["999"]).toBe(s.redis.resources.pidsLimit);
  expect(processBudgets({})).toEqual({});
});
