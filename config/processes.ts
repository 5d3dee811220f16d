/**
 * How many processes each uid of a stack may run. The Docker provider has no pids limit; the
 * nearest it offers is the `nproc` ulimit (RLIMIT_NPROC), which the kernel counts per uid across the
 * whole host, not per container. So a container's `nproc` cannot be its own service's `pidsLimit`:
 * the services sharing a uid (the exporters and Prometheus as nobody, the apps as 1001, PostgreSQL
 * and its jobs as 70) would each be refused a new thread once all of them together reached the
 * smallest limit (seen on a real engine: postgres-exporter, limit 64, restarting while two stacks'
 * nobody processes numbered 63), and a job as PostgreSQL's uid (limit 32) could not even start on a
 * busy server. Every container of a uid gets that uid's budget instead: the sum of `pidsLimit` of
 * every service of the catalog configured to run as it, enabled or not and once whatever its
 * replicas, so that enabling, disabling or scaling a service changes no other container (the limit
 * is part of each container's settings: a new value replaces it). Root is exempt from the limit
 * (the kernel does not count it against root).
 */
import { SERVICE_NAMES, isRootUser } from "./catalog";
import { ServiceConfig } from "./schema";

/** A service's config as far as the budget reads it. */
type Counted = Pick<ServiceConfig, "user" | "resources">;

/** uid -> the processes the stack's services running as it may have together. */
export function processBudgets(
  services: Readonly<Partial<Record<string, Counted>>>,
): Readonly<Partial<Record<string, number>>> {
  const budgets: Partial<Record<string, number>> = {};
  for (const name of SERVICE_NAMES) {
    const svc = services[name];
    if (svc === undefined || isRootUser(svc.user)) continue;
    const uid = uidOf(svc.user);
    budgets[uid] = (budgets[uid] ?? 0) + svc.resources.pidsLimit;
  }
  return budgets;
}

/** The uid part of `uid[:gid]`. */
export function uidOf(user: string): string {
  return user.split(":")[0];
}
