/** alertmanager.yml as data for each receiver combination, and every input the renderer refuses. */
import { parse } from "yaml";
import { AlertmanagerInput, renderAlertmanagerConfig } from "../../render/alertmanager";
import { email, route, webhook } from "../alertmanagerInputs";

interface Route {
  receiver: string;
  matchers?: string[];
  continue?: boolean;
}
interface Doc {
  route: Route & {
    group_by: string[];
    group_wait: string;
    group_interval: string;
    repeat_interval: string;
    routes?: Route[];
  };
  receivers: {
    name: string;
    email_configs?: Record<string, unknown>[];
    webhook_configs?: Record<string, unknown>[];
  }[];
  inhibit_rules: Record<string, unknown>[];
}
const doc = (input: AlertmanagerInput) => parse(renderAlertmanagerConfig(input)) as Doc;
const receiverNames = (input: AlertmanagerInput) => doc(input).receivers.map((r) => r.name);

/** The message of the error the renderer throws; fails the test when it does not throw. */
function refused(input: unknown): string {
  try {
    renderAlertmanagerConfig(input as AlertmanagerInput);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected renderAlertmanagerConfig to refuse the input");
}

describe("rendered config", () => {
  test("the route timings are the guide's, as Alertmanager durations", () => {
    expect(doc({ route, email }).route).toEqual({
      receiver: "email",
      group_by: ["alertname"],
      group_wait: "10s",
      group_interval: "10s",
      repeat_interval: "1h",
    });
  });

  test("email: one config to every recipient, the password only by file", () => {
    const receiver = doc({ route, email }).receivers[0];
    expect(receiver).toEqual({
      name: "email",
      email_configs: [
        {
          to: "ops@example.com, oncall@example.com",
          from: "alertmanager@example.com",
          smarthost: "smtp.example.com:587",
          auth_username: "alertmanager",
          auth_password_file: "/run/secrets/smtp_password",
          require_tls: true,
        },
      ],
    });
  });

  test("email without SMTP authentication has no auth keys", () => {
    const { to, from, smarthost } = email;
    const config = doc({ route, email: { to, from, smarthost, requireTls: false } }).receivers[0]
      .email_configs?.[0];
    expect(config).toEqual({
      to: "ops@example.com, oncall@example.com",
      from,
      smarthost,
      require_tls: false,
    });
  });

  test("webhook: the URL only by file, resolved notices as asked", () => {
    expect(doc({ route, webhook }).receivers).toEqual([
      {
        name: "webhook",
        webhook_configs: [{ url_file: "/run/secrets/alert_webhook_url", send_resolved: true }],
      },
    ]);
    const quiet = doc({ route, webhook: { ...webhook, sendResolved: false } }).receivers[0];
    expect(quiet.webhook_configs?.[0].send_resolved).toBe(false);
  });

  test("no secret is ever inline: no auth_password or url key in any combination", () => {
    for (const input of [
      { route, email },
      { route, webhook },
      { route, email, webhook },
    ]) {
      const text = renderAlertmanagerConfig(input);
      expect(text).not.toMatch(/^\s*-?\s*(auth_password|url|auth_secret):/m);
    }
  });

  test("email only: the root receiver, no child routes", () => {
    const d = doc({ route, email });
    expect(d.route.receiver).toBe("email");
    expect(d.route.routes).toBeUndefined();
    expect(receiverNames({ route, email })).toEqual(["email"]);
  });

  test("webhook only, all alerts: the root receiver, no child routes", () => {
    const d = doc({ route, webhook });
    expect(d.route.receiver).toBe("webhook");
    expect(d.route.routes).toBeUndefined();
    expect(receiverNames({ route, webhook })).toEqual(["webhook"]);
  });

  test("webhook only, critical only: critical alerts by a child route, the rest to `none`", () => {
    const input = { route, webhook: { ...webhook, criticalOnly: true } };
    const d = doc(input);
    expect(d.route.receiver).toBe("none");
    expect(d.route.routes).toEqual([{ receiver: "webhook", matchers: ['severity="critical"'] }]);
    expect(receiverNames(input)).toEqual(["webhook", "none"]);
    expect(d.receivers[1]).toEqual({ name: "none" });
  });

  test("email and webhook: the webhook route continues to a catch-all email route", () => {
    const d = doc({ route, email, webhook });
    expect(d.route.receiver).toBe("email");
    expect(d.route.routes).toEqual([
      { receiver: "webhook", continue: true },
      { receiver: "email" },
    ]);
    expect(receiverNames({ route, email, webhook })).toEqual(["email", "webhook"]);
  });

  test("email and a critical-only webhook: the webhook route matches severity, then continues", () => {
    const d = doc({ route, email, webhook: { ...webhook, criticalOnly: true } });
    expect(d.route.routes).toEqual([
      { receiver: "webhook", matchers: ['severity="critical"'], continue: true },
      { receiver: "email" },
    ]);
  });

  test("neither: one receiver `none` without configs", () => {
    const d = doc({ route });
    expect(d.route.receiver).toBe("none");
    expect(d.route.routes).toBeUndefined();
    expect(d.receivers).toEqual([{ name: "none" }]);
  });

  test("ServiceDown (critical) inhibits the warnings of the same container", () => {
    for (const input of [{ route }, { route, email, webhook }]) {
      expect(doc(input).inhibit_rules).toEqual([
        {
          source_matchers: ['alertname="ServiceDown"', 'severity="critical"'],
          target_matchers: ['severity="warning"'],
          equal: ["service", "container"],
        },
      ]);
    }
  });

  test("durations use the largest whole unit; a zero group_wait is 0s", () => {
    const r = doc({
      route: {
        ...route,
        groupWaitSeconds: 0,
        groupIntervalSeconds: 300,
        repeatIntervalMinutes: 90,
      },
    }).route;
    expect([r.group_wait, r.group_interval, r.repeat_interval]).toEqual(["0s", "5m", "90m"]);
  });

  test('group_by may be "..." alone or empty', () => {
    expect(doc({ route: { ...route, groupBy: ["..."] } }).route.group_by).toEqual(["..."]);
    expect(doc({ route: { ...route, groupBy: [] } }).route.group_by).toEqual([]);
  });

  test("the file says it is rendered", () => {
    expect(renderAlertmanagerConfig({ route })).toMatch(
      /^# Rendered by the vpn-enterprise Pulumi program/,
    );
  });
});

describe("refusals name the field", () => {
  test.each([["alert-name"], ["1x"], ["a b"]])("group_by label %p", (label) => {
    expect(refused({ route: { ...route, groupBy: ["alertname", label] } })).toMatch(
      `route.groupBy[1]: given ${JSON.stringify(label)}; allowed: a label name`,
    );
  });

  test("a group_by label listed twice, and ... mixed with names", () => {
    expect(refused({ route: { ...route, groupBy: ["alertname", "alertname"] } })).toMatch(
      'route.groupBy[1]: given "alertname"',
    );
    expect(refused({ route: { ...route, groupBy: ["...", "service"] } })).toMatch(
      'route.groupBy[0]: given "..."; allowed: a label name',
    );
  });

  test.each([
    ["groupWaitSeconds", -1, "a whole number of seconds, at least 0"],
    ["groupWaitSeconds", 1.5, "a whole number of seconds, at least 0"],
    ["groupIntervalSeconds", 0, "a whole number of seconds, at least 1"],
    ["repeatIntervalMinutes", 0, "a whole number of minutes, at least 1"],
    ["repeatIntervalMinutes", Number.NaN, "a whole number of minutes, at least 1"],
  ])("route.%s %p", (field, value, allowed) => {
    expect(refused({ route: { ...route, [field]: value } })).toMatch(
      `route.${field}: given ${String(value)}; allowed: ${allowed}`,
    );
  });

  test("a repeat interval shorter than the group interval", () => {
    expect(
      refused({ route: { ...route, groupIntervalSeconds: 600, repeatIntervalMinutes: 5 } }),
    ).toMatch(
      "route.repeatIntervalMinutes: given 5; allowed: at least groupIntervalSeconds (600s)",
    );
  });

  test.each([
    "ops",
    "ops@",
    "@example.com",
    "Ops <ops@example.com>",
    "a,b@example.com",
    "ops @example.com",
  ])("recipient %p", (address) => {
    expect(refused({ route, email: { ...email, to: ["ok@example.com", address] } })).toMatch(
      `email.to[1]: given ${JSON.stringify(address)}; allowed: an email address`,
    );
  });

  test("no recipients", () => {
    expect(refused({ route, email: { ...email, to: [] } })).toMatch(
      "email.to: given []; allowed: at least one email address",
    );
  });

  test("a sender that is not an address", () => {
    expect(refused({ route, email: { ...email, from: "alertmanager" } })).toMatch(
      'email.from: given "alertmanager"; allowed: an email address',
    );
  });

  test.each(["smtp.example.com", "smtp://smtp.example.com:587", "smtp.example.com:0"])(
    "smarthost %p",
    (smarthost) => {
      expect(refused({ route, email: { ...email, smarthost } })).toMatch(
        `email.smarthost: given ${JSON.stringify(smarthost)}; allowed: host:port`,
      );
    },
  );

  test.each(["smtp_password", "./smtp_password", "/run/secrets/", "", "/run//x"])(
    "a password file %p that is not an absolute file path",
    (authPasswordFile) => {
      expect(refused({ route, email: { ...email, authPasswordFile } })).toMatch(
        `email.authPasswordFile: given ${JSON.stringify(authPasswordFile)}; allowed: an absolute file path`,
      );
    },
  );

  test("a user without a password file and a password file without a user", () => {
    expect(refused({ route, email: { ...email, authPasswordFile: undefined } })).toMatch(
      "email.authPasswordFile: given undefined; allowed: set whenever authUsername is",
    );
    expect(refused({ route, email: { ...email, authUsername: undefined } })).toMatch(
      "email.authUsername: given undefined; allowed: set whenever authPasswordFile is",
    );
  });

  test("a user name with a space", () => {
    expect(refused({ route, email: { ...email, authUsername: "alert manager" } })).toMatch(
      'email.authUsername: given "alert manager"; allowed: a user name without spaces',
    );
  });

  test("requireTls that is not a boolean", () => {
    expect(refused({ route, email: { ...email, requireTls: "yes" } })).toMatch(
      'email.requireTls: given "yes"; allowed: true or false',
    );
  });

  test("a webhook URL file that is not absolute, or an URL given in its place", () => {
    expect(refused({ route, webhook: { ...webhook, urlFile: "webhook_url" } })).toMatch(
      'webhook.urlFile: given "webhook_url"; allowed: an absolute file path',
    );
    expect(
      refused({ route, webhook: { ...webhook, urlFile: "https://hooks.example.com/x" } }),
    ).toMatch(
      'webhook.urlFile: given "https://hooks.example.com/x"; allowed: an absolute file path',
    );
  });

  test("webhook flags that are not booleans", () => {
    const message = refused({
      route,
      webhook: { ...webhook, sendResolved: 1, criticalOnly: undefined },
    });
    expect(message).toMatch("webhook.sendResolved: given 1; allowed: true or false");
    expect(message).toMatch("webhook.criticalOnly: given undefined; allowed: true or false");
  });

  test("every problem is reported at once, prefixed with the file", () => {
    const message = refused({
      route: { ...route, groupIntervalSeconds: 0 },
      email: { ...email, from: "x" },
      webhook: { ...webhook, urlFile: "x" },
    });
    expect(message).toMatch(/^alertmanager\.yml: /);
    for (const field of ["route.groupIntervalSeconds", "email.from", "webhook.urlFile"]) {
      expect(message).toContain(field);
    }
  });
});
