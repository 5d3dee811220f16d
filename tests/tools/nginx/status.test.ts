/**
 * The edge's stub_status server (NginxSiteInput.status) with a real nginx (harness.ts), as the
 * container runs it: the prod config on loopback ports, as the nginx user. Every client here is on
 * loopback, so the allow list names single loopback addresses and each request picks its source
 * address (`localAddress`): allowed ones get the counters, the others 403.
 */
import * as http from "http";
import * as https from "https";
import { edgeSite } from "../../../components/edge/site";
import { MAIN_CONF, NginxSiteInput } from "../../../render/nginx";
import { STACKS } from "../../stackFiles";
import { freePort } from "../freePort";
import {
  FakeDns,
  Reply,
  RunningNginx,
  Stub,
  nginxTest,
  requireNginx,
  startDns,
  startNginx,
  startStub,
} from "./harness";
import { DOMAIN, NGINX_USER, secretsFor, siteMounts, stackConfig } from "./site";

const STATUS_PATH = "/stub_status";
/** What only stub_status writes: its first line. */
const COUNTERS = "Active connections:";
/** The sources the status server lets in, and two it must not. */
const ALLOWED = ["127.0.0.2", "127.0.0.3"];
const DENIED = ["127.0.0.1", "127.0.0.4"];

/** One GET on a fresh connection from the source address `from`; TLS unverified when `tls`. */
function getFrom(
  from: string,
  port: number,
  urlPath: string,
  opts: { tls?: boolean; host?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const common: http.RequestOptions = {
      host: "127.0.0.1",
      localAddress: from,
      port,
      path: urlPath,
      headers: { host: opts.host ?? DOMAIN },
      agent: false,
      timeout: 15000,
    };
    const req = opts.tls
      ? https.request({ ...common, servername: DOMAIN, rejectUnauthorized: false })
      : http.request(common);
    req.on("timeout", () => req.destroy(new Error(`GET ${urlPath} from ${from} timed out`)));
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(() => {
  // Fails (never skips) without the chroot: the message says how to make it.
  requireNginx();
});

describe.each(STACKS)("the %s stack's config with the status server", (stack) => {
  test("passes `nginx -t` as the nginx user, without a warning", () => {
    const status = { port: 8080, path: STATUS_PATH, allow: ["172.20.3.0/24"] };
    const site = { ...edgeSite(stackConfig(stack)), status };
    const result = nginxTest(siteMounts(site, secretsFor(site)), MAIN_CONF, NGINX_USER);
    expect(result.output).toContain("test is successful");
    expect(result.output).not.toMatch(/\[(warn|emerg)\]/);
    expect(result.ok).toBe(true);
  });
});

describe("the prod edge with the status server, on loopback", () => {
  let dns: FakeDns;
  let web: Stub;
  let nginx: RunningNginx;
  let ports: { http: number; https: number; status: number };

  beforeAll(async () => {
    dns = await startDns();
    // The dashboard (what `/` routes to) at its catalog port, on an address no other test uses.
    web = await startStub({ name: "web", host: "127.0.0.41", port: 3001 });
    dns.set("web", ["127.0.0.41"]);
    ports = { http: await freePort(), https: await freePort(), status: await freePort() };
    const site: NginxSiteInput = {
      ...edgeSite(stackConfig("prod")),
      listen: { http: ports.http, https: ports.https },
      publicHttpsPort: ports.https,
      resolver: `127.0.0.1:${dns.port}`,
      resolverValidSeconds: 1,
      status: { port: ports.status, path: STATUS_PATH, allow: ALLOWED.map((ip) => `${ip}/32`) },
    };
    nginx = await startNginx(siteMounts(site, secretsFor(site)), MAIN_CONF, {
      healthUrl: `http://127.0.0.1:${ports.http}/health`,
      user: NGINX_USER,
    });
  });

  afterAll(async () => {
    await nginx.stop();
    await web.close();
    await dns.close();
  });

  test("an allowed source gets the live counters as plain text", async () => {
    const counts: number[] = [];
    for (const from of ALLOWED) {
      const reply = await getFrom(from, ports.status, STATUS_PATH);
      expect([from, reply.status, reply.headers["content-type"]]).toEqual([
        from,
        200,
        "text/plain",
      ]);
      expect(reply.body).toMatch(
        /^Active connections: \d+ \nserver accepts handled requests\n \d+ \d+ \d+ \nReading: \d+ Writing: \d+ Waiting: \d+ \n$/,
      );
      counts.push(Number(/\n \d+ \d+ (\d+) \n/.exec(reply.body)?.[1]));
    }
    // The second scrape counted the first: these are nginx's counters, not a fixed text.
    expect(counts[1]).toBeGreaterThan(counts[0]);
  });

  test("any other source gets 403 and no counters", async () => {
    for (const from of DENIED) {
      const reply = await getFrom(from, ports.status, STATUS_PATH);
      expect([from, reply.status]).toEqual([from, 403]);
      expect(reply.body).not.toContain(COUNTERS);
    }
  });

  test("every other path on the status port is 404, for allowed and denied sources", async () => {
    const others = [
      "/",
      "/stub_status/",
      "/stub_statusx",
      "/health",
      "/api/users",
      "/nginx_status",
    ];
    for (const from of [ALLOWED[0], DENIED[0]]) {
      for (const p of others) {
        const reply = await getFrom(from, ports.status, p);
        expect([from, p, reply.status]).toEqual([from, p, 404]);
        expect(reply.body).not.toContain(COUNTERS);
      }
    }
    // The status port does not route to the site either.
    expect(web.requests).toEqual([]);
  });

  test("the public ports route the path as any other: a redirect, then the dashboard", async () => {
    // From an allowed source too: being allowed on the status port opens nothing here.
    for (const from of [ALLOWED[0], DENIED[0]]) {
      const plain = await getFrom(from, ports.http, STATUS_PATH);
      expect([plain.status, plain.headers.location]).toEqual([
        301,
        `https://${DOMAIN}:${ports.https}${STATUS_PATH}`,
      ]);
      const secure = await getFrom(from, ports.https, STATUS_PATH, { tls: true });
      expect([secure.status, secure.headers["x-stub"]]).toEqual([200, "web"]);
      expect(secure.body).not.toContain(COUNTERS);
      expect(plain.body).not.toContain(COUNTERS);
    }
    expect(web.requests.map((r) => r.url)).toEqual([STATUS_PATH, STATUS_PATH]);
  });

  test("scrapes are not logged; other requests to the status port are", async () => {
    const scrape = `${STATUS_PATH}?scrape-${Date.now()}`;
    const probe = `/probe-${Date.now()}`;
    expect((await getFrom(ALLOWED[0], ports.status, scrape)).status).toBe(200);
    expect((await getFrom(ALLOWED[0], ports.status, probe)).status).toBe(404);
    // nginx logs a request after answering it: wait for the later one's line.
    const deadline = Date.now() + 5000;
    while (!nginx.output().includes(probe) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(nginx.output()).toContain(`"uri":"${probe}"`);
    expect(nginx.output()).not.toContain(scrape);
  });
});
