/**
 * A reader of GitHub Actions' env file ($GITHUB_ENV) that follows GitHub's documented rules and the
 * runner's own (actions/runner FileCommandManager, SetEnvFileCommand): `NAME=VALUE` lines, `NAME<<DELIMITER`
 * heredocs ended by a line equal to the delimiter, lines split at "\r\n" or "\n", a heredoc's lines joined
 * with "\n" (Linux and macOS runners).
 */
function readLine(text: string, at: { index: number }): string | undefined {
  if (at.index >= text.length) return undefined;
  const lf = text.indexOf("\n", at.index);
  if (lf < 0) {
    const line = text.slice(at.index);
    at.index = text.length;
    return line;
  }
  const crlf = text.indexOf("\r\n", at.index);
  if (crlf >= 0 && crlf < lf) {
    const line = text.slice(at.index, crlf);
    at.index = crlf + 2;
    return line;
  }
  const line = text.slice(at.index, lf);
  at.index = lf + 1;
  return line;
}

/** What the runner sets from an env file (throws where the runner fails the step). */
export function readGithubEnv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const at = { index: 0 };
  for (let line = readLine(text, at); line !== undefined; line = readLine(text, at)) {
    if (line === "") continue;
    const equals = line.indexOf("=");
    const heredoc = line.indexOf("<<");
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      const name = line.slice(0, equals);
      if (!name) throw new Error("invalid format: empty name");
      out.set(name, line.slice(equals + 1));
    } else if (heredoc >= 0 && (equals < 0 || heredoc < equals)) {
      const name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (!name || !delimiter) throw new Error("invalid format: empty name or delimiter");
      const lines: string[] = [];
      for (;;) {
        const next = readLine(text, at);
        if (next === undefined) throw new Error(`matching delimiter not found: ${delimiter}`);
        if (next === delimiter) break;
        lines.push(next);
      }
      out.set(name, lines.join("\n"));
    } else throw new Error("invalid format");
  }
  return out;
}
