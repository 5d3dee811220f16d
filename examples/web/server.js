"use strict";
// Stand-in for the Next.js dashboard with the same runtime contract: the server.js entry point of a
// standalone build, HOSTNAME as the bind address, NEXT_PUBLIC_API_URL shown to the browser, health,
// secrets from files only, graceful shutdown and JSON logs. No dependencies, so no build step.
const fs = require("fs");
const http = require("http");

const SERVICE = "web";
const LOG_LEVELS = ["debug", "info", "warn", "error"];
const CREDENTIAL_NAME = /PASSWORD|SECRET|TOKEN|KEY/;

function fail(message) {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: "error", service: SERVICE, msg: message })}\n`,
  );
  process.exit(1);
}

function integer(variable, fallback, min, max) {
  const raw = process.env[variable];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${variable}: expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

// Credentials in plain env leak through `docker inspect` and child processes: files only.
function readSecrets() {
  const secrets = new Map();
  for (const variable of Object.keys(process.env).sort()) {
    if (!variable.endsWith("_FILE")) {
      if (CREDENTIAL_NAME.test(variable)) {
        fail(
          `${variable}: credentials are read from files only; set ${variable}_FILE to a file path instead`,
        );
      }
      continue;
    }
    const file = process.env[variable];
    let content;
    try {
      content = fs.readFileSync(file, "utf8");
    } catch (err) {
      fail(`${variable}: cannot read secret file ${file} (${err.code || "error"})`);
    }
    const value = content.replace(/\r?\n$/, "");
    if (value.trim() === "") fail(`${variable}: secret file ${file} is empty`);
    secrets.set(variable.slice(0, -"_FILE".length), value);
  }
  return secrets;
}

const secrets = readSecrets();
const port = integer("PORT", 3001, 1, 65535);
const host = process.env.HOSTNAME || "0.0.0.0";
const apiUrl = process.env.NEXT_PUBLIC_API_URL || "";
const shutdownTimeoutMs = integer("SHUTDOWN_TIMEOUT_MS", 10000, 0, 600000);
const logLevel = process.env.LOG_LEVEL || "info";
if (!LOG_LEVELS.includes(logLevel)) {
  fail(`LOG_LEVEL: expected one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
}

function log(level, msg, fields) {
  if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(logLevel)) return;
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), level, service: SERVICE, msg, ...fields })}\n`,
  );
}

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>VPN Enterprise</title></head>
<body>
<h1>VPN Enterprise dashboard</h1>
<p>API: <code id="api-url">${escapeHtml(apiUrl || "(not configured)")}</code></p>
</body>
</html>
`;

let draining = false;
let inFlight = 0;

function send(res, status, type, body) {
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const started = Date.now();
  const path = new URL(req.url, "http://localhost").pathname;
  inFlight += 1;
  if (draining) res.setHeader("Connection", "close");
  res.once("close", () => {
    inFlight -= 1;
    log("debug", "request", {
      method: req.method,
      path,
      status: res.statusCode,
      ms: Date.now() - started,
    });
    if (draining && inFlight === 0) closeRemaining();
  });
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return send(res, 405, "application/json", JSON.stringify({ error: "method not allowed" }));
  }
  if (path === "/health") {
    const body = {
      status: draining ? "shutting-down" : "ok",
      service: SERVICE,
      secrets: [...secrets.keys()],
      config: { apiUrl: apiUrl || null },
    };
    return send(res, draining ? 503 : 200, "application/json", JSON.stringify(body));
  }
  if (path === "/") return send(res, 200, "text/html; charset=utf-8", page);
  return send(res, 404, "application/json", JSON.stringify({ error: "not found" }));
});

// Connections with a request still arriving would hold the server open until their header timeout.
function closeRemaining() {
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), 250).unref();
}

function shutdown(signal) {
  if (draining) return;
  draining = true;
  log("info", "shutdown started", { signal, inFlight });
  const timer = setTimeout(() => {
    log("error", "shutdown timed out; exiting with requests still open", {
      inFlight,
      timeoutMs: shutdownTimeoutMs,
    });
    process.exit(1);
  }, shutdownTimeoutMs);
  server.close(() => {
    clearTimeout(timer);
    log("info", "shutdown complete");
    process.exit(0);
  });
  // Node 18 leaves idle keep-alive connections open on close(); Node 19+ closes them itself.
  server.closeIdleConnections();
  if (inFlight === 0) closeRemaining();
}

process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

server.on("error", (err) => fail(`PORT/HOSTNAME: cannot listen on ${host}:${port} (${err.code})`));
server.listen(port, host, () => {
  log("info", "listening", { host, port, apiUrl: apiUrl || null, secrets: [...secrets.keys()] });
});
