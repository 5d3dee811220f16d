/** The per-uid process budgets (config/processes.ts) for the shipped stacks and edge cases. */
import { parseStackConfig } from "../../config/load";
import { processBudgets } from "../../config/processes";
import { PROJECT, ROOT, projectValues } from "../stackFiles";

const services = (stack: "dev" | "prod") =>
  parseStackConfig(projectValues(stack), PROJECT, stack, ROOT).services;

test("prod: each uid's budget is the sum of replicas x pidsLimit of the services running as it", () => {
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
  // 1001: three API replicas and the other apps.
  expect(b["1001"]).toBe(
    3 * s.api.resources.pidsLimit +
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

test("a disabled service counts for nothing, a lone uid is its own service's limit", () => {
  const s = services("prod");
  const without = processBudgets({
    ...s,
    postgresExporter: { ...s.postgresExporter, enabled: false },
  });
  expect(without["65534"]).toBe(
    (processBudgets(s)["65534"] ?? 0) - s.postgresExporter.resources.pidsLimit,
  );
  expect(processBudgets(s)["999"]).toBe(s.redis.resources.pidsLimit);
  expect(processBudgets({})).toEqual({});
});
