// A consumer of the platform's outputs: another team's Pulumi program reading them through a
// StackReference. The README shows this file; tests/program/contract.test.ts runs it under mocks.
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
// `<organization>/vpn-enterprise/<stack>`; with a self-managed backend, the stack's name.
const platform = new pulumi.StackReference(config.require("platformStack"));

/** The platform's contract version; this program refuses to run against one it was not written for. */
export const platformOutputsVersion = platform
  .requireOutput("outputsVersion")
  .apply((v: unknown): number => {
    if (v !== 1) throw new Error(`platform outputs version ${String(v)}; this program reads 1`);
    return v;
  });

interface ServiceEndpoint {
  host: string;
  port: number;
  url: string;
  containerNames: string[];
}
const services = platform.requireOutput("services") as pulumi.Output<
  Record<string, ServiceEndpoint>
>;

/** In-platform URL of the API, for a container joined to the platform's app network. */
export const apiUrl = pulumi.all([platformOutputsVersion, services]).apply(([, s]) => s.api.url);
/** The Docker network to join to reach it. */
export const appNetwork = platform
  .requireOutput("networks")
  .apply((n) => (n as { app: string }).app);
/** The public site. */
export const siteUrl = platform
  .requireOutput("endpoints")
  .apply((e) => (e as { site: string } | null)?.site ?? null);
/**
 * The read-only database login. The platform exports connection strings as a secret, and the
 * StackReference keeps them secret: this stays encrypted in this stack's state and hidden in
 * previews.
 */
export const reportingDatabase = platform
  .requireOutput("connectionStrings")
  .apply((c) => (c as { postgresReadonly?: string }).postgresReadonly ?? null);
