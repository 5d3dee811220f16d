/**
 * The config job's open-file check (render/nginxScripts.ts) under busybox sh, as in the image, with
 * the hard limit an engine gives a container set by prlimit. Where the engine gives less than
 * services.nginx.workerRlimitNofile, runc would refuse to start nginx with words that name no
 * setting; the job must fail first, and name it.
 */
import { spawnSync } from "child_process";
import { installScript } from "../../../render/nginxScripts";

/** The job's script with `args` after the staging directory, under the hard limit `hard`. */
function run(hard: number, ...args: string[]) {
  const r = spawnSync(
    "prlimit",
    [
      `--nofile=${hard.toString()}:${hard.toString()}`,
      ...["busybox", "sh", "-c", installScript(), "install", "config", "/nonexistent", ...args],
    ],
    { encoding: "utf8" },
  );
  return { status: r.status, stderr: r.stderr };
}

test("a limit above the engine's fails the job with the setting, the engine's limit and the fixes", () => {
  const r = run(1024, "65535");
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    "services.nginx.workerRlimitNofile is 65535, but this Docker engine gives a container at most 1024 open files",
  );
  expect(r.stderr).toContain("Set services.nginx.workerRlimitNofile to at most 1024");
  expect(r.stderr).toContain("--default-ulimit nofile=65535:65535");
});

test("a limit within the engine's passes the check (the job goes on to its staging directory)", () => {
  for (const nofile of ["1024", "512"]) {
    const r = run(1024, nofile);
    expect(r.stderr).not.toContain("workerRlimitNofile");
    expect(r.stderr).toContain("/nonexistent");
  }
  // The secrets job passes no limit: nothing to check.
  expect(run(1024).stderr).not.toContain("workerRlimitNofile");
});
