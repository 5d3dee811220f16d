import { cpusRoundTrips, dockerCpus, goDuration } from "../../config/dockerValues";

describe("dockerCpus: the spelling the Docker provider reads back", () => {
  // Read-backs observed from the provider's nanoInt64ToDecimalString.
  test.each([
    [1, "1.0"],
    [2, "2.0"],
    [0.5, "0.5"],
    [1.5, "1.5"],
    [0.25, "0.25"],
    [10, "10."],
    [0.05, "0.1"],
    [0.125, "0.125"],
  ])("%s -> %s", (cpus, text) => {
    expect(dockerCpus(cpus)).toBe(text);
  });

  test("values the provider would round are refused", () => {
    expect(cpusRoundTrips(0.05)).toBe(false);
    expect(cpusRoundTrips(0.25)).toBe(true);
    expect(cpusRoundTrips(10)).toBe(true);
  });
});

describe("goDuration: Go's time.Duration spelling", () => {
  test.each([
    [0, "0s"],
    [5, "5s"],
    [60, "1m0s"],
    [90, "1m30s"],
    [3600, "1h0m0s"],
    [3725, "1h2m5s"],
  ])("%s s -> %s", (s, text) => {
    expect(goDuration(s)).toBe(text);
  });

  test("fractions are refused rather than rounded", () => {
    expect(() => goDuration(1.5)).toThrow("not a whole number");
  });
});
