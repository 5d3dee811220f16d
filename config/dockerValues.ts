/**
 * Values written the way the Docker provider reads them back. The provider stores what the daemon
 * reports, so an input in any other spelling shows as a change (often a replacement) on every
 * preview. Pure: no Pulumi.
 */

const NANO = 1_000_000_000;

/**
 * `cpus` as the provider reads it back (its nanoInt64ToDecimalString): 1 -> "1.0", 0.25 -> "0.25",
 * 10 -> "10.". Values it rounds (0.05 -> "0.1") are refused by the schema instead.
 */
export function dockerCpus(cpus: number): string {
  const nanos = Math.round(cpus * NANO);
  const whole = Math.floor(nanos / NANO);
  const frac = String(nanos % NANO).padStart(9, "0");
  const text = `${whole}.${frac}`;
  if (text.replace(/[^0]/g, "").length === 9) {
    const tenths = Math.round(nanos / (NANO / 10));
    return `${Math.floor(tenths / 10)}.${tenths % 10}`;
  }
  return text.replace(/0+$/, "");
}

/** True when the provider reads `cpus` back as the same quantity (no perpetual diff, no rounding). */
export function cpusRoundTrips(cpus: number): boolean {
  return Number(dockerCpus(cpus)) === cpus;
}

/** Seconds as Go's time.Duration prints them ("10s", "1m30s", "1h0m0s"): the healthcheck read-back. */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new Error(`goDuration: ${seconds} is not a whole number of seconds`);
  }
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * A container's output as the provider stores it (`containerLogs`) made readable. The provider
 * reads the log stream of a non-TTY container raw, so every frame keeps Docker's 8-byte header:
 * stream (1 stdout, 2 stderr), three zero bytes, then the frame size (4 bytes, any value).
 */
export function readableContainerLog(raw: string): string {
  return raw.replace(/[\u0001\u0002]\u0000\u0000\u0000[\s\S]{4}/g, "");
}
