/**
 * The README's generated diagram: a ```mermaid fence between two HTML comments. Pure, so the CLI's
 * check and the test read the block the same way.
 */

export const BEGIN = "<!-- diagram:begin -->";
export const END = "<!-- diagram:end -->";

/** The text between the markers for a diagram (blank lines keep prettier from moving them). */
export function diagramBlock(mermaid: string): string {
  return `\n\n\`\`\`mermaid\n${mermaid.endsWith("\n") ? mermaid : `${mermaid}\n`}\`\`\`\n\n`;
}

/** Where the block between the markers starts and ends; throws unless each marker is there once. */
function span(readme: string, file: string): { from: number; to: number } {
  const count = (marker: string): number => readme.split(marker).length - 1;
  for (const marker of [BEGIN, END]) {
    if (count(marker) !== 1) {
      throw new Error(
        `${file} must contain ${marker} exactly once (found ${String(count(marker))}); ` +
          `put ${BEGIN} and ${END} on their own lines where the diagram goes`,
      );
    }
  }
  const from = readme.indexOf(BEGIN) + BEGIN.length;
  const to = readme.indexOf(END);
  if (to < from) throw new Error(`${file}: ${END} comes before ${BEGIN}`);
  return { from, to };
}

/** The Mermaid text in the README's block, or undefined when the block holds no mermaid fence. */
export function readmeDiagram(readme: string, file = "README.md"): string | undefined {
  const { from, to } = span(readme, file);
  const fence = /^```mermaid\n([\s\S]*?)^```[ \t]*$/m.exec(readme.slice(from, to));
  return fence?.[1];
}

/** The README with `mermaid` in its block; the rest of the file is left as it is. */
export function withDiagram(readme: string, mermaid: string, file = "README.md"): string {
  const { from, to } = span(readme, file);
  return readme.slice(0, from) + diagramBlock(mermaid) + readme.slice(to);
}

/** True when the README's block holds exactly `mermaid`. */
export function isCurrent(readme: string, mermaid: string, file = "README.md"): boolean {
  return readmeDiagram(readme, file) === (mermaid.endsWith("\n") ? mermaid : `${mermaid}\n`);
}
