/**
 * Reads Mermaid text with the mermaid package itself (its `parse`, the parser GitHub's renderer
 * runs), in jsdom's DOM: mermaid sanitises labels with DOMPurify, which needs a window.
 * Run as `tsx scripts/diagram/validate.ts < diagram.mmd`: exit 0 and the diagram type, or exit 1
 * and mermaid's parse error. A separate process because mermaid is an ES module, which jest's
 * CommonJS runtime cannot load.
 */
import { JSDOM } from "jsdom";

/** The diagram type mermaid detects; throws mermaid's error when the text does not parse. */
export async function parseMermaid(text: string): Promise<string> {
  const { window } = new JSDOM("");
  Object.assign(globalThis, { window, document: window.document });
  const { default: mermaid } = await import("mermaid");
  return (await mermaid.parse(text)).diagramType;
}

if (require.main === module) {
  let input = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => (input += chunk));
  process.stdin.on("end", () => {
    parseMermaid(input).then(
      (type) => {
        process.stdout.write(`${type}\n`);
      },
      (e: unknown) => {
        process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      },
    );
  });
}
