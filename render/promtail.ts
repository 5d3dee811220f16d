/**
 * Promtail's configuration: the stack's container logs to Loki, with the same Docker filter and
 * the same stream labels as config.alloy (both come from alloy.ts). Promtail reaches end of life
 * on 2026-03-02; Alloy is the default shipper. Pure: typed values in, file text out.
 */
import { Document } from "yaml";
import {
  LOG_LABEL_RULES,
  LogShipperInput,
  dockerLabelFilterValues,
  integerProblem,
  logShipperProblems,
} from "./alloy";

export interface PromtailConfigInput extends LogShipperInput {
  /** Promtail's HTTP server (/metrics, /ready), 9080. */
  readonly listenPort: number;
  /** Where Promtail records how far it has read each container; on a volume, so a restart does
   * not ship every log line again. */
  readonly positionsFile: string;
}

function positionsFileProblem(value: string): string | undefined {
  return /^\/[^\0\r\n]*[^/\0\r\n]$/.test(value) && !/(^|\/)\.\.?(\/|$)/.test(value)
    ? undefined
    : `positionsFile: given ${JSON.stringify(value)}; allowed: an absolute file path without . or .. segments`;
}

export function renderPromtailConfig(input: PromtailConfigInput): string {
  const problems = [
    ...logShipperProblems(input),
    integerProblem("listenPort", input.listenPort, 1, 65535),
    positionsFileProblem(input.positionsFile),
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(`promtail config: ${problems.join("; ")}`);

  const doc = new Document({
    server: {
      http_listen_port: input.listenPort,
      // 0: a free port; nothing talks gRPC to Promtail.
      grpc_listen_port: 0,
      log_level: "info",
    },
    positions: { filename: input.positionsFile },
    clients: [{ url: input.lokiPushUrl }],
    scrape_configs: [
      {
        job_name: "docker",
        docker_sd_configs: [
          {
            host: input.dockerHost,
            refresh_interval: `${input.refreshSeconds}s`,
            filters: [
              { name: "label", values: dockerLabelFilterValues(input.project, input.stack) },
            ],
          },
        ],
        relabel_configs: LOG_LABEL_RULES.map((rule) => ({
          source_labels: [rule.sourceLabel],
          regex: rule.regex,
          target_label: rule.targetLabel,
          replacement: "$1",
          action: "replace",
        })),
      },
    ],
  });
  doc.commentBefore =
    " Rendered by the vpn-enterprise Pulumi program; edit the program, not this file.";
  return doc.toString({ lineWidth: 0 });
}
