/**
 * alertmanager.yml for the platform's Alertmanager. Pure: typed values in, file text out.
 *
 * Secrets never appear in the file: the SMTP password and the webhook URL (which may carry a token)
 * are named by path (`auth_password_file`, `url_file`) and read by Alertmanager when it sends.
 */
import { stringify } from "yaml";
import { AlertName, promDuration } from "./alertRules";
import { LABEL_NAME_PATTERN, given, isHostPort, isList } from "./prometheus";

export interface AlertmanagerInput {
  readonly route: {
    /** Labels alerts are grouped by into one notification, e.g. `["alertname"]`. */
    readonly groupBy: readonly string[];
    /** How long a new group waits for more alerts before its first notification, in seconds. */
    readonly groupWaitSeconds: number;
    /** How long a group waits before notifying about alerts added to it, in seconds. */
    readonly groupIntervalSeconds: number;
    /** How long before a still-firing group is notified again, in minutes. */
    readonly repeatIntervalMinutes: number;
  };
  /** Every alert is mailed to `to` when present. */
  readonly email?: {
    readonly to: readonly string[];
    readonly from: string;
    /** SMTP server, `host:port`. */
    readonly smarthost: string;
    /** SMTP user; given together with authPasswordFile or not at all. */
    readonly authUsername?: string;
    /** Absolute path of the file holding the SMTP password, inside the Alertmanager container. */
    readonly authPasswordFile?: string;
    /** Refuse to send without STARTTLS. */
    readonly requireTls: boolean;
  };
  /** Alerts are posted to the URL in `urlFile` when present. */
  readonly webhook?: {
    /** Absolute path of the file holding the webhook URL, inside the Alertmanager container. */
    readonly urlFile: string;
    /** Also post when an alert resolves. */
    readonly sendResolved: boolean;
    /** Post only `severity="critical"` alerts. */
    readonly criticalOnly: boolean;
  };
}

/** Receiver names, as `amtool config routes test` prints them. */
export const RECEIVERS = { email: "email", webhook: "webhook", none: "none" } as const;

const SERVICE_DOWN: AlertName = "ServiceDown";

const EMAIL_ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ABSOLUTE_FILE = /^(?:\/[^/\0\r\n]+)+$/;

function routeProblems(route: AlertmanagerInput["route"] | null | undefined): string[] {
  if (typeof route !== "object" || route === null) {
    return [`route: given ${given(route)}; allowed: { groupBy, groupWaitSeconds, ... }`];
  }
  const problems: string[] = [];
  if (!isList(route.groupBy)) {
    problems.push(`route.groupBy: given ${given(route.groupBy)}; allowed: a list of label names`);
  } else if (!(route.groupBy.length === 1 && route.groupBy[0] === "...")) {
    // "..." alone groups by every label; mixed with names it means nothing to Alertmanager.
    const seen = new Set<string>();
    route.groupBy.forEach((label, i) => {
      if (typeof label !== "string" || !LABEL_NAME_PATTERN.test(label) || seen.has(label)) {
        problems.push(
          `route.groupBy[${i}]: given ${given(label)}; allowed: a label name (${String(LABEL_NAME_PATTERN)}) not listed before, or "..." alone`,
        );
      }
      seen.add(label);
    });
  }
  const wholeAtLeast = (field: string, value: number, min: number, unit: string) => {
    if (!Number.isSafeInteger(value) || value < min) {
      problems.push(
        `route.${field}: given ${given(value)}; allowed: a whole number of ${unit}, at least ${min}`,
      );
    }
  };
  wholeAtLeast("groupWaitSeconds", route.groupWaitSeconds, 0, "seconds");
  // Alertmanager refuses a zero group_interval or repeat_interval.
  wholeAtLeast("groupIntervalSeconds", route.groupIntervalSeconds, 1, "seconds");
  wholeAtLeast("repeatIntervalMinutes", route.repeatIntervalMinutes, 1, "minutes");
  // Repeats are only sent on a group_interval tick, so a shorter repeat_interval is not honoured.
  if (
    Number.isSafeInteger(route.repeatIntervalMinutes) &&
    route.repeatIntervalMinutes * 60 < route.groupIntervalSeconds
  ) {
    problems.push(
      `route.repeatIntervalMinutes: given ${given(route.repeatIntervalMinutes)}; allowed: at least groupIntervalSeconds (${given(route.groupIntervalSeconds)}s)`,
    );
  }
  return problems;
}

function emailProblems(email: AlertmanagerInput["email"] | null): string[] {
  if (email === undefined) return [];
  if (typeof email !== "object" || email === null) {
    return [`email: given ${given(email)}; allowed: { to, from, smarthost, requireTls, ... }`];
  }
  const problems: string[] = [];
  if (!isList(email.to) || email.to.length === 0) {
    problems.push(`email.to: given ${given(email.to)}; allowed: at least one email address`);
  } else {
    email.to.forEach((address, i) => {
      if (typeof address !== "string" || !EMAIL_ADDRESS.test(address)) {
        problems.push(`email.to[${i}]: given ${given(address)}; allowed: an email address`);
      }
    });
  }
  if (typeof email.from !== "string" || !EMAIL_ADDRESS.test(email.from)) {
    problems.push(`email.from: given ${given(email.from)}; allowed: an email address`);
  }
  if (!isHostPort(email.smarthost)) {
    problems.push(`email.smarthost: given ${given(email.smarthost)}; allowed: host:port`);
  }
  const { authUsername, authPasswordFile } = email;
  if (
    authUsername !== undefined &&
    (typeof authUsername !== "string" || !/^[^\s\0]+$/.test(authUsername))
  ) {
    problems.push(
      `email.authUsername: given ${given(authUsername)}; allowed: a user name without spaces`,
    );
  }
  if (
    authPasswordFile !== undefined &&
    (typeof authPasswordFile !== "string" || !ABSOLUTE_FILE.test(authPasswordFile))
  ) {
    problems.push(
      `email.authPasswordFile: given ${given(authPasswordFile)}; allowed: an absolute file path`,
    );
  }
  // SMTP AUTH needs both; one alone would fail at the first alert instead of at deploy time.
  if ((authUsername === undefined) !== (authPasswordFile === undefined)) {
    const missing = authUsername === undefined ? "authUsername" : "authPasswordFile";
    const present = authUsername === undefined ? "authPasswordFile" : "authUsername";
    problems.push(`email.${missing}: given undefined; allowed: set whenever ${present} is`);
  }
  if (typeof email.requireTls !== "boolean") {
    problems.push(`email.requireTls: given ${given(email.requireTls)}; allowed: true or false`);
  }
  return problems;
}

function webhookProblems(webhook: AlertmanagerInput["webhook"] | null): string[] {
  if (webhook === undefined) return [];
  if (typeof webhook !== "object" || webhook === null) {
    return [`webhook: given ${given(webhook)}; allowed: { urlFile, sendResolved, criticalOnly }`];
  }
  const problems: string[] = [];
  if (typeof webhook.urlFile !== "string" || !ABSOLUTE_FILE.test(webhook.urlFile)) {
    problems.push(
      `webhook.urlFile: given ${given(webhook.urlFile)}; allowed: an absolute file path`,
    );
  }
  for (const key of ["sendResolved", "criticalOnly"] as const) {
    if (typeof webhook[key] !== "boolean") {
      problems.push(`webhook.${key}: given ${given(webhook[key])}; allowed: true or false`);
    }
  }
  return problems;
}

function emailReceiver(email: NonNullable<AlertmanagerInput["email"]>) {
  return {
    name: RECEIVERS.email,
    email_configs: [
      {
        // One message to all recipients; Alertmanager parses the list as RFC 5322 addresses.
        to: email.to.join(", "),
        from: email.from,
        smarthost: email.smarthost,
        ...(email.authUsername !== undefined && email.authPasswordFile !== undefined
          ? { auth_username: email.authUsername, auth_password_file: email.authPasswordFile }
          : {}),
        require_tls: email.requireTls,
      },
    ],
  };
}

function webhookReceiver(webhook: NonNullable<AlertmanagerInput["webhook"]>) {
  return {
    name: RECEIVERS.webhook,
    webhook_configs: [{ url_file: webhook.urlFile, send_resolved: webhook.sendResolved }],
  };
}

/**
 * The root receiver and its child routes. An alert goes to every child route it matches up to the
 * first without `continue`, and to the root receiver only when it matches none; so with both
 * receivers the webhook route continues and email has a catch-all child of its own.
 */
function routing(input: AlertmanagerInput): { receiver: string; routes: object[] } {
  const { email, webhook } = input;
  const root = email
    ? RECEIVERS.email
    : webhook && !webhook.criticalOnly
      ? RECEIVERS.webhook
      : RECEIVERS.none;
  if (!webhook || (!email && !webhook.criticalOnly)) return { receiver: root, routes: [] };
  const webhookRoute = {
    receiver: RECEIVERS.webhook,
    ...(webhook.criticalOnly ? { matchers: ['severity="critical"'] } : {}),
    ...(email ? { continue: true } : {}),
  };
  return {
    receiver: root,
    routes: email ? [webhookRoute, { receiver: RECEIVERS.email }] : [webhookRoute],
  };
}

export function renderAlertmanagerConfig(input: AlertmanagerInput): string {
  const problems = [
    ...routeProblems(input.route),
    ...emailProblems(input.email),
    ...webhookProblems(input.webhook),
  ];
  if (problems.length > 0) {
    throw new Error(`alertmanager.yml: ${problems.join("; ")}`);
  }
  const { receiver, routes } = routing(input);
  const receivers = [
    ...(input.email ? [emailReceiver(input.email)] : []),
    ...(input.webhook ? [webhookReceiver(input.webhook)] : []),
    // Without any channel, alerts are still shown in Alertmanager's UI and Grafana.
    ...(receiver === RECEIVERS.none ? [{ name: RECEIVERS.none }] : []),
  ];
  const doc = {
    route: {
      receiver,
      group_by: [...input.route.groupBy],
      group_wait: promDuration(input.route.groupWaitSeconds),
      group_interval: promDuration(input.route.groupIntervalSeconds),
      repeat_interval: promDuration(input.route.repeatIntervalMinutes * 60),
      ...(routes.length > 0 ? { routes } : {}),
    },
    receivers,
    inhibit_rules: [
      {
        // A container that is down explains its own warnings: send only the cause. Per container,
        // so one replica down does not hide an overloaded survivor; a service-wide warning (no
        // container label) is still sent.
        source_matchers: [`alertname="${SERVICE_DOWN}"`, 'severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ["service", "container"],
      },
    ],
  };
  return `# Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.\n${stringify(doc)}`;
}
