/**
 * Runs a program under Pulumi mocks in a plain Node process and prints what happened as JSON.
 * For failures that reach no caller (an Output that rejects inside a registration): Node reports
 * them as unhandled rejections, which the Pulumi language host turns into a failed `up`, and which
 * jest would count against the test that caused them. Here they are collected instead.
 *
 * Usage: node failingRun.js <program.ts> <stack>, with VPN_CONFIG (the CLI config as JSON) and
 * VPN_JOB_RESULT ({ exitCode, logs } for every oneShot container) in the environment; with
 * VPN_JOB_ONLY (a container name suffix) only the matching jobs get it and the others succeed.
 * VPN_STACK_REFERENCES maps a referenced stack's name to { outputs, secretOutputNames }.
 */
"use strict";
const fs = require("fs");
const ts = require("typescript");

require.extensions[".ts"] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    fileName: filename,
  });
  module._compile(outputText, filename);
};

const [program, stack] = process.argv.slice(2);
const config = JSON.parse(process.env.VPN_CONFIG ?? "{}");
const job = JSON.parse(process.env.VPN_JOB_RESULT ?? '{"exitCode":0,"logs":""}');
const errors = [];
const containers = [];
process.on("unhandledRejection", (reason) => {
  errors.push({ name: reason?.name, message: String(reason?.message ?? reason) });
});

const pulumi = require("@pulumi/pulumi");
pulumi.runtime.setMocks(
  {
    newResource(args) {
      const state = { ...args.inputs };
      if (args.type === "random:index/randomPassword:RandomPassword") state.result = "x".repeat(32);
      if (args.type === "random:index/randomString:RandomString") state.result = "s".repeat(16);
      if (args.type === "tls:index/privateKey:PrivateKey") state.privateKeyPem = "mock-key";
      if (args.type === "tls:index/selfSignedCert:SelfSignedCert") {
        Object.assign(state, { certPem: "mock-cert", validityEndTime: "2027-11-25T00:00:00Z" });
      }
      if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = "sha256:mock";
      if (args.type === "pulumi:pulumi:StackReference") {
        const refs = JSON.parse(process.env.VPN_STACK_REFERENCES ?? "{}");
        Object.assign(state, refs[state.name] ?? {});
      }
      if (args.type === "docker:index/container:Container") {
        containers.push(state.name);
        const only = process.env.VPN_JOB_ONLY;
        const result =
          only === undefined || state.name.endsWith(only) ? job : { exitCode: 0, logs: "" };
        if (state.attach === true)
          Object.assign(state, { exitCode: result.exitCode, containerLogs: result.logs });
      }
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs,
  },
  "vpn-enterprise",
  stack,
  false,
);
pulumi.runtime.setAllConfig(config);
try {
  require(program);
} catch (e) {
  errors.push({ name: e.name, message: e.message });
}

// Done once nothing new has been registered for a while.
let seen = -1;
const timer = setInterval(() => {
  if (containers.length === seen) {
    clearInterval(timer);
    process.stdout.write(JSON.stringify({ containers, errors }));
    process.exit(0);
  }
  seen = containers.length;
}, 1000);
