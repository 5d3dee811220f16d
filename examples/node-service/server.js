"use strict";
// Reference for the api, db-manager and provisioner services: the behaviour the images and the
// Pulumi program rely on (health, metrics, secrets from files, graceful shutdown, JSON logs).
const http = require("http");
const client = require("prom-client");
const { ConfigError, loadConfig } = require("./config");
const { createLogger } = require("./logger");

function fail(message) {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: "error", service: process.env.SERVICE_NAME || "api", msg: message })}\n`,
  );
  process.exit(1);
}

let config;
let log;
try {
  config = loadConfig(process.env);
  log = createLogger(config);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  if (err && err.code && err.syscall) fail(`LOG_DIR: cannot open the log file (${err.code})`);
  throw err;
}

// Routes are labelled by these fixed names, never by the raw URL, so a scan of random paths cannot
// create unbounded metric series.
const ROUTES = {
  "/health": "/health",
  "/metrics": "/metrics",
};
// Lets a test hold a request in flight across SIGTERM; absent from production images, which set
// NODE_ENV=production.
const DEBUG_ROUTES = config.nodeEnv === "production" ? {} : { "/debug/slow": "/debug/slow" };
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const registry = new client.Registry();
registry.setDefaultLabels({ service: config.service });
client.collectDefaultMetrics({ register: registry });
const requests = new client.Counter({
  name: "http_requests_total",
  help: "HTTP requests answered, by method, route and status code.",
  labelNames: ["method", "route", "status"],
  registers: [registry],
});
const duration = new client.Histogram({
  name: "http_request_duration_seconds",
  help: "Time to answer an HTTP request, by method, route and status code.",
  labelNames: ["method", "route", "status"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

let draining = false;
let inFlight = 0;
const startedAt = Date.now();

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
  });
  res.end(text);
}

function health(res) {
  sendJson(res, draining ? 503 : 200, {
    status: draining ? "shutting-down" : "ok",
    service: config.service,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    secrets: [...config.secrets.keys()],
    config: config.public,
  });
}

async function metrics(res) {
  const text = await registry.metrics();
  res.writeHead(200, { "Content-Type": registry.contentType, "Cache-Control": "no-store" });
  res.end(text);
}

function slow(url, res) {
  const ms = Math.min(Math.max(Number(url.searchParams.get("ms")) || 0, 0), 30000);
  setTimeout(() => sendJson(res, 200, { status: "done", ms }), ms);
}

async function handle(req, res, route, url) {
  if (route === "unmatched") return sendJson(res, 404, { error: "not found" });
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return sendJson(res, 405, { error: "method not allowed" });
  }
  if (route === "/health") return health(res);
  if (route === "/metrics") return metrics(res);
  return slow(url, res);
}

const server = http.createServer((req, res) => {
  const started = process.hrtime.bigint();
  const url = new URL(req.url, "http://localhost");
  const route = ROUTES[url.pathname] || DEBUG_ROUTES[url.pathname] || "unmatched";
  const method = METHODS.has(req.method) ? req.method : "OTHER";
  inFlight += 1;
  // Once draining, every answer closes its connection so keep-alive clients move elsewhere.
  if (draining) res.setHeader("Connection", "close");
  res.once("close", () => {
    inFlight -= 1;
    const labels = { method, route, status: String(res.statusCode) };
    requests.inc(labels);
    duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    log.debug("request", {
      ...labels,
      path: url.pathname,
      ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
    if (draining && inFlight === 0) closeRemaining();
  });
  handle(req, res, route, url).catch((err) => {
    log.error("request failed", { route, error: err.message });
    if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
    else res.destroy();
  });
});

// Connections with a request still arriving would hold the server open until their header timeout.
function closeRemaining() {
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), 250).unref();
}

function shutdown(signal) {
  if (draining) return;
  draining = true;
  log.info("shutdown started", { signal, inFlight });
  const timer = setTimeout(() => {
    log.error("shutdown timed out; exiting with requests still open", {
      inFlight,
      timeoutMs: config.shutdownTimeoutMs,
    });
    process.exit(1);
  }, config.shutdownTimeoutMs);
  server.close(() => {
    clearTimeout(timer);
    log.info("shutdown complete");
    process.exit(0);
  });
  // Node 18 leaves idle keep-alive connections open on close(); Node 19+ closes them itself.
  server.closeIdleConnections();
  if (inFlight === 0) closeRemaining();
}

process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

server.on("error", (err) => fail(`PORT: cannot listen on 0.0.0.0:${config.port} (${err.code})`));
server.listen(config.port, "0.0.0.0", () => {
  log.info("listening", {
    port: config.port,
    nodeEnv: config.nodeEnv,
    secrets: [...config.secrets.keys()],
    logFile: log.file,
  });
});
