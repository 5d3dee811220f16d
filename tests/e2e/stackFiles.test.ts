/**
 * The shipped stack files are in the form the Pulumi CLI writes: `pulumi config set` (the README's
 * way to change a setting) on a stack made from each leaves the file as it was, but for the salt
 * of the stack's passphrase, so a user's first change shows in git as that change alone.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../stackFiles";
import { E2eStack, requirements } from "./harness";

describe.each(["dev", "prod"])("Pulumi.%s.yaml", (shape) => {
  let stack: E2eStack | undefined;
  afterAll(() => stack?.remove());

  test("a config set and a config rm leave it as shipped, but for the passphrase's salt", () => {
    requirements();
    const shipped = fs.readFileSync(path.join(ROOT, `Pulumi.${shape}.yaml`), "utf8");
    stack = new E2eStack(
      `e2e-form-${shape}`,
      {},
      path.join(ROOT, "policy", `config.${shape}.json`),
    );
    stack.init(shipped);
    stack.setConfig("e2eFormCheck", "1");
    const set = fs.readFileSync(stack.configFile, "utf8");
    // The set is written, so the comparison below can fail.
    expect(set).toContain("vpn-enterprise:e2eFormCheck");
    stack.ok("config rm", ["config", "rm", "e2eFormCheck", "--stack", stack.name]);
    const after = fs.readFileSync(stack.configFile, "utf8");
    expect(after).toMatch(/^encryptionsalt: v1:\S+\n/m);
    expect(after.replace(/^encryptionsalt: v1:\S+\n/m, "")).toBe(shipped);
  });
});
