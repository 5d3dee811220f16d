import {
  cpusRoundTrips,
  dockerCpus,
  goDuration,
  readableContainerLog,
} from "../../config/dockerValues";

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

describe("readableContainerLog", () => {
  test("drops Docker's frame headers, whatever the frame size bytes are", () => {
    const frame = (stream: number, text: string) =>
      String.fromCharCode(stream, 0, 0, 0, 0, 0, 0, text.length) + text;
    // A frame of 10 bytes has a size byte that is a line break; 0x80+ arrives as U+FFFD.
    const raw = frame(1, "line one\n") + frame(2, "error: x\n") + frame(1, "0123456789") + "\n";
    expect(readableContainerLog(raw)).toBe("line one\nerror: x\n0123456789\n");
    expect(readableContainerLog("\u0001\u0000\u0000\u0000\u0000\u0000\u0000\ufffdtext")).toBe(
      "text",
    );
  });

  test("leaves text without headers alone", () => {
    expect(readableContainerLog("plain\noutput\n")).toBe("plain\noutput\n");
  });
});
