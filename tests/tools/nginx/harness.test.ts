/**
 * The nginx harness itself, against the real nginx of the test chroot: what the renderer's tests
 * will rely on (mounts, the DNS stand-in and re-resolution, parallel instances, WebSocket and TLS
 * clients) must work, and must be able to report a failure.
 */
import { ChildProcess, spawn } from "child_process";
import { Resolver } from "dns/promises";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { freePort } from "../freePort";
import {
  Reply,
  nginxTest,
  request,
  requireNginx,
  startDns,
  startInChroot,
  startNginx,
  startStub,
  tlsHandshake,
  wsAccept,
  wsHandshake,
} from "./harness";
import { makeCertificate } from "../../certs";

const CONF_DIR = "/etc/nginx/harness";
const CONF = `${CONF_DIR}/nginx.conf`;

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((step) => step()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nginx-harness-"));
  cleanup.push(() => fs.promises.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `dir`/nginx.conf around an http block; nginx reads it as CONF when dir is at CONF_DIR. */
function writeConf(dir: string, httpBlock: string, extra = ""): string {
  fs.writeFileSync(
    path.join(dir, "nginx.conf"),
    `worker_processes 1;
error_log stderr notice;
${extra}
events { worker_connections 64; }
http {
  access_log off;
${httpBlock}
}
`,
  );
  return CONF;
}

/** Polls `probe` until `done` holds; returns its last value (the test asserts on it). */
async function poll<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 10000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(200);
  }
}

test("the chroot's nginx is at least 1.27.3, which `server ... resolve;` in an upstream needs", () => {
  const version = requireNginx().split(".").map(Number);
  expect(version).toHaveLength(3);
  const [major = 0, minor = 0, patch = 0] = version;
  expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(1027003);
});

test("a missing chroot is an error that says how to build it", () => {
  const saved = process.env.VPN_NGINX_ROOT;
  process.env.VPN_NGINX_ROOT = "/nonexistent/vpn-test-nginx";
  try {
    expect(() => requireNginx()).toThrow(
      "nginx 1.30 test chroot missing at /nonexistent/vpn-test-nginx: run `sudo bash tests/tools/nginx/prepare.sh`",
    );
  } finally {
    if (saved === undefined) delete process.env.VPN_NGINX_ROOT;
    else process.env.VPN_NGINX_ROOT = saved;
  }
});

test("nginx -t rejects a syntax error and reads files only a mount provides", () => {
  const bad = tempDir();
  writeConf(bad, "server { listen 127.0.0.1:8080 }");
  const broken = nginxTest({ [CONF_DIR]: bad }, CONF);
  expect(broken.ok).toBe(false);
  expect(broken.output).toMatch(/\[emerg\].*nginx\.conf/);

  const good = tempDir();
  const snippets = tempDir();
  fs.writeFileSync(path.join(snippets, "server.conf"), 'server { return 200 "ok"; }\n');
  writeConf(good, "include /srv/snippets/server.conf;");
  const mounted = nginxTest({ [CONF_DIR]: good, "/srv/snippets": snippets }, CONF);
  expect(mounted.ok).toBe(true);
  expect(mounted.output).toContain("test is successful");
  // Without the mount the include names nothing: the mount is what made it valid.
  const unmounted = nginxTest({ [CONF_DIR]: good }, CONF);
  expect(unmounted.ok).toBe(false);
  expect(unmounted.output).toContain("/srv/snippets/server.conf");
});

test("a command runs inside the chroot (Debian forky), with its mounts, and its exit is reported", async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, "hello.txt"), "from the host\n");
  const proc = await startInChroot({ "/mnt/host": dir }, [
    "/bin/sh",
    "-c",
    "cat /etc/debian_version /mnt/host/hello.txt; exit 3",
  ]);
  cleanup.push(() => proc.stop());
  expect(await proc.exited).toEqual({ code: 3, signal: null });
  expect(proc.output()).toMatch(/^forky\/sid\nfrom the host\n$/);
});

test("the DNS stand-in answers a real resolver: A records, NXDOMAIN, empty AAAA", async () => {
  const dns = await startDns();
  cleanup.push(() => dns.close());
  dns.set("App-1", ["127.0.0.2", "127.0.0.3"]);
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${dns.port}`]);
  expect(await resolver.resolve4("app-1", { ttl: true })).toEqual([
    { address: "127.0.0.2", ttl: 1 },
    { address: "127.0.0.3", ttl: 1 },
  ]);
  await expect(resolver.resolve4("nope")).rejects.toMatchObject({ code: "ENOTFOUND" });
  await expect(resolver.resolve6("app-1")).rejects.toMatchObject({ code: "ENODATA" });
  dns.remove("app-1");
  await expect(resolver.resolve4("app-1")).rejects.toMatchObject({ code: "ENOTFOUND" });
  expect(dns.queries()).toEqual(["app-1", "nope", "app-1", "app-1"]);
});

test("nginx starts while an upstream name is unknown, then follows DNS as it changes", async () => {
  const dns = await startDns();
  cleanup.push(() => dns.close());
  const port = await freePort();
  const [first, second] = await Promise.all([
    startStub({ name: "first", host: "127.0.0.2", port }),
    startStub({ name: "second", host: "127.0.0.3", port }),
  ]);
  cleanup.push(
    () => first.close(),
    () => second.close(),
  );
  const dir = tempDir();
  const listen = await freePort();
  writeConf(
    dir,
    `resolver 127.0.0.1:${dns.port} valid=1s ipv6=off;
  upstream b { zone b 64k; server app-1:${port} resolve; keepalive 4; }
  server {
    listen 127.0.0.1:${listen};
    location = /__up { return 204; }
    location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
  );
  const nginx = await startNginx({ [CONF_DIR]: dir }, CONF, {
    healthUrl: `http://127.0.0.1:${listen}/__up`,
  });
  cleanup.push(() => nginx.stop());
  const get = () => request({ port: listen, path: "/api/x" });
  const stubOf = (reply: Reply) => reply.headers["x-stub"];

  expect((await get()).status).toBe(502);
  expect(
    await poll(
      () => Promise.resolve(dns.queries()),
      (q) => q.includes("app-1"),
    ),
  ).toContain("app-1");

  dns.set("app-1", ["127.0.0.2"]);
  const reached = await poll(get, (r) => stubOf(r) === "first");
  expect([reached.status, stubOf(reached)]).toEqual([200, "first"]);
  expect(first.requests.map((r) => r.url)).toContain("/api/x");

  // A recreated container comes back with another address.
  dns.set("app-1", ["127.0.0.3"]);
  const moved = await poll(get, (r) => stubOf(r) === "second");
  expect([moved.status, stubOf(moved)]).toEqual([200, "second"]);
});

test("two nginx run at once, each with its own mounts at the same container paths", async () => {
  const start = async (marker: string) => {
    const dir = tempDir();
    const snippets = tempDir();
    const listen = await freePort();
    fs.writeFileSync(path.join(snippets, "marker.conf"), `return 200 "${marker}";\n`);
    writeConf(
      dir,
      `server { listen 127.0.0.1:${listen}; location / { include /srv/snippets/marker.conf; } }`,
    );
    const nginx = await startNginx({ [CONF_DIR]: dir, "/srv/snippets": snippets }, CONF);
    cleanup.push(() => nginx.stop());
    return listen;
  };
  const [a, b] = await Promise.all([start("marker-a"), start("marker-b")]);
  const [replyA, replyB] = await Promise.all([
    request({ port: a, path: "/" }),
    request({ port: b, path: "/" }),
  ]);
  expect([replyA.body, replyB.body]).toEqual(["marker-a", "marker-b"]);
});

test("logs written to /dev/stdout and /dev/stderr reach output(), as from a container", async () => {
  const dir = tempDir();
  const listen = await freePort();
  writeConf(
    dir,
    `server {
    listen 127.0.0.1:${listen};
    access_log /dev/stdout;
    error_log /dev/stderr info;
    location / { return 200 "ok"; }
    location = /missing { root /nonexistent; }
  }`,
  );
  const nginx = await startNginx({ [CONF_DIR]: dir }, CONF);
  cleanup.push(() => nginx.stop());
  await request({ port: listen, path: "/logged" });
  await request({ port: listen, path: "/missing" });
  const logged = await poll(
    () => Promise.resolve(nginx.output()),
    (out) => out.includes('"GET /missing HTTP/1.1" 404'),
  );
  expect(logged).toContain('"GET /logged HTTP/1.1" 200');
  expect(logged).toContain('"GET /missing HTTP/1.1" 404');
  // Written by a worker (www-data), which can look around the chroot: a 404, not a 403.
  expect(logged).toMatch(/\[error\].*"\/nonexistent\/missing" failed \(2: No such file/);
});

test("startNginx rejects with nginx's own error when nginx exits while starting", async () => {
  const dir = tempDir();
  writeConf(dir, "no_such_directive on;");
  await expect(startNginx({ [CONF_DIR]: dir }, CONF)).rejects.toThrow(
    /nginx exited \(code 1\)[\s\S]*\[emerg\].*unknown directive "no_such_directive"/,
  );
});

test("reload switches to the new configuration and refuses a broken one", async () => {
  const dir = tempDir();
  const listen = await freePort();
  const serve = (text: string) => `server { listen 127.0.0.1:${listen}; return 200 "${text}"; }`;
  writeConf(dir, serve("before"));
  const nginx = await startNginx({ [CONF_DIR]: dir }, CONF);
  cleanup.push(() => nginx.stop());
  expect((await request({ port: listen, path: "/" })).body).toBe("before");

  writeConf(dir, serve("after"));
  await nginx.reload();
  expect((await request({ port: listen, path: "/" })).body).toBe("after");

  writeConf(dir, "server { listen 127.0.0.1:1 }");
  await expect(nginx.reload()).rejects.toThrow(/refused to reload[\s\S]*\[emerg\]/);
  expect((await request({ port: listen, path: "/" })).body).toBe("after");
  expect(await nginx.stop()).toEqual({ code: 0, signal: null });
});

test("the stub's special paths: status, cacheable, slow and held responses", async () => {
  const port = await freePort();
  const stub = await startStub({ name: "s", host: "127.0.0.1", port });
  cleanup.push(() => stub.close());
  const get = (p: string) => request({ port, path: p });

  const plain = await get("/x?y=1");
  expect([plain.status, plain.headers["x-stub"], plain.headers["cache-control"]]).toEqual([
    200,
    "s",
    undefined,
  ]);
  expect(JSON.parse(plain.body)).toMatchObject({ stub: "s", method: "GET", url: "/x?y=1" });
  expect((await get("/a/__status/503")).status).toBe(503);
  expect((await get("/__cacheable")).headers["cache-control"]).toBe("public, max-age=60");
  const t0 = Date.now();
  await get("/__slow/300");
  expect(Date.now() - t0).toBeGreaterThanOrEqual(300);

  let answered = false;
  const holding = get("/__hold").then((r) => ((answered = true), r));
  await poll(
    () => Promise.resolve(stub.held()),
    (n) => n === 1,
  );
  expect([stub.held(), answered]).toEqual([1, false]);
  stub.releaseHeld();
  expect((await holding).status).toBe(200);
  expect(stub.held()).toBe(0);
  expect(stub.requests.map((r) => r.url)).toEqual([
    "/x?y=1",
    "/a/__status/503",
    "/__cacheable",
    "/__slow/300",
    "/__hold",
  ]);
  await expect(startStub({ name: "dup", host: "127.0.0.1", port })).rejects.toThrow(
    `stub dup: 127.0.0.1:${port} is already in use`,
  );
});

test("a WebSocket through nginx reaches the stub, which echoes", async () => {
  const port = await freePort();
  const stub = await startStub({ name: "ws", host: "127.0.0.2", port });
  cleanup.push(() => stub.close());
  const dir = tempDir();
  const listen = await freePort();
  writeConf(
    dir,
    `server {
    listen 127.0.0.1:${listen};
    location /ws/ {
      proxy_pass http://127.0.0.2:${port};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
    }
  }`,
  );
  const nginx = await startNginx({ [CONF_DIR]: dir }, CONF);
  cleanup.push(() => nginx.stop());
  const ws = await wsHandshake({ port: listen, path: "/ws/chat", host: "app.test" });
  expect([ws.status, ws.headers["x-stub"]]).toEqual([101, "ws"]);
  expect(ws.echo).toMatch(/^probe-[0-9a-f]{8}$/);
  expect(stub.upgrades.map((u) => [u.url, u.headers.upgrade])).toEqual([["/ws/chat", "websocket"]]);
});

test("Sec-WebSocket-Accept is RFC 6455's; wsHandshake rejects a 101 with a wrong one", async () => {
  // The example of RFC 6455 1.3: the stub and the client share wsAccept, so it is checked here.
  expect(wsAccept("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

  const server = net.createServer((socket) => {
    socket.once("data", () =>
      socket.end(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Accept: d3Jvbmc=\r\n\r\n",
      ),
    );
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  await expect(wsHandshake({ port, path: "/", host: "x" })).rejects.toThrow(
    /Sec-WebSocket-Accept is d3Jvbmc=, not /,
  );
});

/** openssl s_server offering TLS 1.0 only, on the host. */
async function tls1Server(certPath: string, keyPath: string): Promise<number> {
  const port = await freePort();
  const proc: ChildProcess = spawn(
    "openssl",
    ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", certPath, "-key", keyPath, "-www"].concat(
      ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
    ),
    { stdio: "ignore" },
  );
  const closed = new Promise((resolve) => proc.once("close", resolve));
  cleanup.push(() => (proc.kill(), closed));
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => {
        resolve(false);
      });
    });
  await poll(listening, (up) => up);
  return port;
}

test("the TLS client can speak TLS 1.0, so a refusal by nginx is nginx's", async () => {
  const cert = makeCertificate("legacy.test", tempDir(), 2);
  const port = await tls1Server(cert.certPath, cert.keyPath);
  const tls1 = tlsHandshake({ port, servername: "legacy.test", version: "tls1" });
  expect([tls1.ok, tls1.protocol]).toEqual([true, "TLSv1"]);
  expect(tlsHandshake({ port, servername: "legacy.test", version: "tls1_2" }).ok).toBe(false);
});
