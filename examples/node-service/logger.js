"use strict";
// JSON lines on stdout, which the log collector parses without a per-service format. With a log
// directory, the same lines are appended to a file named by service and host, so replicas sharing
// the directory never write to one file.
const fs = require("fs");
const os = require("os");
const path = require("path");
const { LOG_LEVELS } = require("./config");

function createLogger({ service, logLevel, logDir }) {
  const threshold = LOG_LEVELS.indexOf(logLevel);
  let fd = null;
  let file = null;
  if (logDir) {
    file = path.join(logDir, `${service}-${os.hostname()}.log`);
    fd = fs.openSync(file, "a", 0o640);
  }
  const write = (lvl, msg, fields) => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    const line = `${JSON.stringify({ time: new Date().toISOString(), level: lvl, service, msg, ...fields })}\n`;
    process.stdout.write(line);
    // Synchronous, so the lines written during shutdown are on disk before the process exits.
    if (fd !== null) fs.writeSync(fd, line);
  };
  return {
    file,
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}

module.exports = { createLogger };
