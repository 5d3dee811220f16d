/** The Alertmanager inputs the renderer's unit tests and its amtool tests share. */

export const route = {
  groupBy: ["alertname"],
  groupWaitSeconds: 10,
  groupIntervalSeconds: 10,
  repeatIntervalMinutes: 60,
};
export const email = {
  to: ["ops@example.com", "oncall@example.com"],
  from: "alertmanager@example.com",
  smarthost: "smtp.example.com:587",
  authUsername: "alertmanager",
  authPasswordFile: "/run/secrets/smtp_password",
  requireTls: true,
};
export const webhook = {
  urlFile: "/run/secrets/alert_webhook_url",
  sendResolved: true,
  criticalOnly: false,
};
