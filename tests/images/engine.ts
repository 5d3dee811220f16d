/**
 * What the real-engine suites share: Engine API calls over the unix socket, and checked readers of
 * the provider inputs the program records (a key they do not translate fails the test).
 */
import * as http from "http";

export function dockerSocket(): string {
  const host = process.env.DOCKER_HOST;
  if (host === undefined || host === "") return "/var/run/docker.sock";
  if (host.startsWith("unix://")) return host.slice("unix://".length);
  throw new Error(`DOCKER_HOST=${host}: the image tests talk to the engine over a unix socket`);
}

/** One Engine API call (API 1.41, Docker 20.10's): status and body. */
export function dockerApi(
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath: dockerSocket(),
        method,
        path: `/v1.41${apiPath}`,
        headers:
          data === undefined
            ? {}
            : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
      },
    );
    req.on("error", reject);
    req.setTimeout(60000, () => req.destroy(new Error(`${method} ${apiPath}: no answer in 60 s`)));
    if (data !== undefined) req.write(data);
    req.end();
  });
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v);
export const str = (v: unknown, key: string): string => {
  if (typeof v !== "string") throw new Error(`${key}: expected a string, got ${JSON.stringify(v)}`);
  return v;
};
export const num = (v: unknown, key: string): number => {
  if (typeof v !== "number") throw new Error(`${key}: expected a number, got ${JSON.stringify(v)}`);
  return v;
};
export const strings = (v: unknown, key: string): string[] => {
  if (!Array.isArray(v)) throw new Error(`${key}: expected a list, got ${JSON.stringify(v)}`);
  return v.map((x, i) => str(x, `${key}[${i.toString()}]`));
};
export const objects = (v: unknown, key: string): Obj[] => {
  if (!Array.isArray(v)) throw new Error(`${key}: expected a list, got ${JSON.stringify(v)}`);
  return v.map((x, i) => {
    if (!isObj(x)) throw new Error(`${key}[${i.toString()}]: expected an object`);
    return x;
  });
};
export const stringMap = (v: unknown, key: string): Record<string, string> => {
  if (!isObj(v)) throw new Error(`${key}: expected a map, got ${JSON.stringify(v)}`);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, str(x, `${key}.${k}`)]));
};
/** Fails on a key of `o` that is not in `known`: a new input must not be ignored silently. */
export function onlyKeys(o: Obj, known: readonly string[], where: string): void {
  const unknown = Object.keys(o).filter((k) => !known.includes(k) && o[k] !== undefined);
  if (unknown.length > 0) throw new Error(`${where}: not translated: ${unknown.join(", ")}`);
}
