/**
 * Just enough of nginx's config syntax to read which paths a site proxies to which hosts: the
 * routes as the program renders them for nginx (render/nginx.ts), read back from the uploaded file.
 */

/** One nginx directive: its name, arguments and, for a block, the directives inside. */
export interface NginxDirective {
  readonly name: string;
  readonly args: readonly string[];
  readonly block?: readonly NginxDirective[];
}

/**
 * nginx's config syntax as far as the routes need it: directives end with `;` or a `{ ... }` block,
 * quoted strings and comments are skipped over. Text that is not nginx config yields nothing
 * useful (no `location` with a `proxy_pass`), which is all the caller asks of it.
 */
export function parseNginx(text: string): NginxDirective[] {
  const tokens =
    text.match(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|#[^\n]*|[{};]|[^\s{};"'#]+/g) ?? [];
  let at = 0;
  const parseBlock = (): NginxDirective[] => {
    const out: NginxDirective[] = [];
    let words: string[] = [];
    while (at < tokens.length) {
      const t = tokens[at++];
      if (t.startsWith("#")) continue;
      if (t === ";") {
        if (words.length > 0) out.push({ name: words[0], args: words.slice(1) });
        words = [];
      } else if (t === "{") {
        out.push({ name: words[0] ?? "", args: words.slice(1), block: parseBlock() });
        words = [];
      } else if (t === "}") {
        return out;
      } else {
        words.push(t.replace(/^(["'])([\s\S]*)\1$/, "$2"));
      }
    }
    return out;
  };
  return parseBlock();
}

/** Each proxied path with the hosts of its upstream's servers (or of the proxy_pass URL). */
export function proxiedPaths(
  config: readonly NginxDirective[],
): { path: string; hosts: string[] }[] {
  const all = (ds: readonly NginxDirective[]): NginxDirective[] =>
    ds.flatMap((d) => [d, ...all(d.block ?? [])]);
  const directives = all(config);
  const upstreams = new Map(
    directives
      .filter((d) => d.name === "upstream" && d.block)
      .map((d) => [
        d.args[0],
        (d.block ?? []).filter((s) => s.name === "server").map((s) => hostOf(s.args[0] ?? "")),
      ]),
  );
  return directives
    .filter((d) => d.name === "location" && d.block)
    .flatMap((d) => {
      const pass = (d.block ?? []).find((s) => s.name === "proxy_pass")?.args[0];
      if (!pass) return [];
      const target = hostOf(pass.replace(/^[a-z]+:\/\//, ""));
      return [{ path: d.args[d.args.length - 1], hosts: upstreams.get(target) ?? [target] }];
    });
}

function hostOf(address: string): string {
  return address.replace(/[/:].*$/, "");
}
