/**
 * tessera scan [PATH…]: find where secret values leaked (tracked files, paths, staged changes, history,
 * saved images), in every encoded form masking knows and hex. Prints where, which variable, which form
 * and the layer the value came from: never a value. Exit 6 (E_SECRET_FOUND) when something is found.
 */
import { resolve } from "node:path";
import { TesseraError } from "../errors.js";
import { VERSION } from "../manifest/load.js";
import {
  buildPatterns,
  type Finding,
  formatFinding,
  type Patterns,
  type ScanSecret,
  scanBuffer,
  scanFile,
  toSarif,
} from "../run/scan.js";
import { installHook, uninstallHook } from "../run/scan-hook.js";
import { readSavedImage } from "../run/scan-image.js";
import {
  DEFAULT_MAX_COMMITS,
  historyBlobs,
  stagedBlobs,
  trackedFiles,
  walkPaths,
} from "../run/scan-sources.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import { type Context, checkLayerFlags, type LayerFlags, openFromFlags, printWarnings } from "./common.js";

export const flags = {
  ...LAYER_FLAGS,
  "all-profiles": {
    type: "boolean",
    help: "look for the secrets of every profile the manifest has a section for (and the default)",
  },
  staged: { type: "boolean", help: "scan what is staged for the next commit (the index's versions)" },
  history: { type: "boolean", help: "scan the file versions the last commits added (see --max-commits)" },
  "max-commits": {
    type: "string",
    value: "N",
    help: `how many commits --history walks back from HEAD (default ${DEFAULT_MAX_COMMITS})`,
  },
  image: {
    type: "string",
    multiple: true,
    value: "FILE",
    help: "a saved container image (`docker save -o FILE`): every layer and the config (repeatable)",
  },
  "install-hook": {
    type: "boolean",
    help: "install a git pre-commit hook that runs `tessera scan --staged` (an existing hook is chained)",
  },
  "uninstall-hook": { type: "boolean", help: "remove the hook --install-hook installed" },
  json: { type: "boolean", help: "print the findings as JSON on stdout" },
  sarif: { type: "boolean", help: "print the findings as SARIF 2.1.0 on stdout (code-scanning upload)" },
} as const satisfies FlagSpecs;

const usage =
  "tessera scan [PATH…] [--staged] [--history [--max-commits N]] [--image FILE] [--all-profiles] [--json|--sarif] [options]";
const summary =
  "find where secret values leaked (tracked files, paths, staged changes, history, images); never prints them";
const extra = `Without PATH, --staged, --history or --image, scans the files git tracks.
Forms: raw, json-escaped, percent-encoded, base64, base64url (all alignments), hex.
Exit 0: nothing found; 6: something found (E_SECRET_FOUND).`;

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags, extra));
    return 0;
  }
  checkLayerFlags(options, context.env);
  if (options.json && options.sarif)
    throw new TesseraError("E_USAGE", "--json and --sarif exclude each other");

  if (options["install-hook"] || options["uninstall-hook"]) {
    if (options["install-hook"] && options["uninstall-hook"]) {
      throw new TesseraError("E_USAGE", "--install-hook and --uninstall-hook exclude each other");
    }
    return hook(options, context);
  }

  let maxCommits = DEFAULT_MAX_COMMITS;
  if (options["max-commits"] !== undefined) {
    if (!/^[1-9]\d*$/.test(options["max-commits"])) {
      throw new TesseraError("E_USAGE", "--max-commits takes a positive whole number");
    }
    maxCommits = Number(options["max-commits"]);
  }

  const secrets = await gatherSecrets(options, context);
  const patterns = buildPatterns(secrets);
  const findings: Finding[] = [];
  let scanned = 0;
  let walked: number | undefined;
  const searchBlob = (finding: Finding[]) => findings.push(...finding);

  if (patterns.secrets > 0) {
    const images = options.image ?? [];
    const explicit = parsed.positionals.length > 0 || options.staged || options.history || images.length > 0;
    const files = parsed.positionals.length
      ? walkPaths(context.cwd, parsed.positionals)
      : explicit
        ? []
        : trackedFiles(context.cwd, context.env);
    for (const file of files) {
      searchBlob(await scanFile(patterns, { path: file }, resolve(context.cwd, file)));
      scanned++;
    }
    if (options.staged) {
      for (const blob of stagedBlobs(context.cwd, context.env)) {
        searchBlob(scanBuffer(patterns, { path: blob.path, staged: true }, blob.content));
        scanned++;
      }
    }
    if (options.history) {
      const { blobs, commits } = historyBlobs(context.cwd, context.env, maxCommits);
      walked = commits;
      for (const blob of blobs) {
        searchBlob(scanBuffer(patterns, { path: blob.path, commit: blob.commit! }, blob.content));
        scanned++;
      }
    }
    for (const image of images) scanned += scanImage(patterns, image, context, searchBlob);
  }

  if (options.json) {
    context.stdout(
      `${JSON.stringify({ secrets: patterns.secrets, scanned, findings: findings.map(jsonFinding) }, null, 2)}\n`,
    );
  } else if (options.sarif) {
    context.stdout(`${JSON.stringify(toSarif(findings, VERSION), null, 2)}\n`);
  } else {
    for (const finding of findings) context.stdout(`${formatFinding(finding)}\n`);
  }
  if (!options.quiet && !options.json && !options.sarif) {
    context.stderr(
      patterns.secrets === 0
        ? "tessera: no secret value of 6 characters or more to look for\n"
        : `tessera: scanned ${scanned} file${scanned === 1 ? "" : "s"}${walked !== undefined ? ` (versions from ${walked} commit${walked === 1 ? "" : "s"})` : ""} for ${patterns.secrets} secret value${patterns.secrets === 1 ? "" : "s"}\n`,
    );
  }
  if (findings.length > 0) {
    const variables = [...new Set(findings.map((finding) => finding.variable))];
    const places = new Set(
      findings.map((finding) => `${finding.commit ?? ""}${finding.layer ?? ""}${finding.path}`),
    );
    throw new TesseraError(
      "E_SECRET_FOUND",
      `secret values found: ${variables.join(", ")} (${findings.length} finding${findings.length === 1 ? "" : "s"} in ${places.size} file${places.size === 1 ? "" : "s"})`,
      {
        hint: "rotate each value that leaked, then remove it from the files (and from history if it was committed)",
      },
    );
  }
  return 0;
}

type ScanFlags = LayerFlags & { "all-profiles"?: boolean };

/** The secrets to look for: each secret variable with a value, from the profile given or from every profile. */
async function gatherSecrets(options: ScanFlags, context: Context): Promise<ScanSecret[]> {
  const pipeline = await openFromFlags(options, context, { deferErrors: true });
  const secrets: ScanSecret[] = [];
  const add = async (profileFlags: ScanFlags, profile: string | undefined) => {
    const opened =
      profileFlags === options ? pipeline : await openFromFlags(profileFlags, context, { deferErrors: true });
    const { resolution } = await opened.resolve();
    printWarnings(resolution.warnings, context, options.quiet);
    for (const variable of resolution.variables) {
      if (variable.kind !== "secret" || variable.value === undefined) continue;
      const secret: ScanSecret = {
        name: variable.name,
        value: variable.value.reveal(),
        layer: variable.origin?.where ?? "unknown",
      };
      if (profile !== undefined) secret.profile = profile;
      secrets.push(secret);
    }
  };
  if (!options["all-profiles"]) {
    await add(options, undefined);
    return secrets;
  }
  await add(options, pipeline.profile ?? "(default)");
  for (const profile of Object.keys(pipeline.spec?.profiles ?? {})) {
    if (profile === pipeline.profile) continue;
    await add({ ...options, env: profile }, profile);
  }
  return secrets;
}

function scanImage(
  patterns: Patterns,
  file: string,
  context: Context,
  found: (f: Finding[]) => void,
): number {
  const image = readSavedImage(resolve(context.cwd, file), file);
  let scanned = 0;
  if (image.config) {
    found(scanBuffer(patterns, { path: file, layer: "config" }, image.config));
    scanned++;
  }
  for (const layer of image.layers) {
    for (const entry of layer.files) {
      found(scanBuffer(patterns, { path: entry.path, layer: layer.digest }, entry.content));
      scanned++;
    }
  }
  return scanned;
}

function jsonFinding(finding: Finding): Record<string, unknown> {
  return {
    path: finding.path,
    line: finding.line,
    variable: finding.variable,
    form: finding.form,
    origin: finding.origin,
    ...(finding.profile !== undefined ? { profile: finding.profile } : {}),
    ...(finding.commit ? { commit: finding.commit } : {}),
    ...(finding.staged ? { staged: true } : {}),
    ...(finding.layer ? { imageLayer: finding.layer } : {}),
  };
}

/** --install-hook / --uninstall-hook. */
function hook(options: ScanFlags & { "install-hook"?: boolean }, context: Context): number {
  if (!options["install-hook"]) {
    const { file, removed, restored } = uninstallHook(context.cwd, context.env);
    context.stderr(
      removed
        ? `tessera: removed the pre-commit hook ${file}${restored ? " (the previous hook is back)" : ""}\n`
        : `tessera: ${file} is not Tessera's hook: nothing removed\n`,
    );
    return 0;
  }
  const script = process.argv[1] ? resolve(process.argv[1]) : "tessera";
  const command = process.argv[1] ? [process.execPath, script] : ["tessera"];
  // The flags that choose what to resolve (paths and names only: never --secret, which holds a value).
  const args: string[] = [];
  if (options.manifest) args.push("--manifest", resolve(context.cwd, options.manifest));
  if (options.env) args.push("--env", options.env);
  if (options["all-profiles"]) args.push("--all-profiles");
  for (const file of options.values ?? []) args.push("--values", resolve(context.cwd, file));
  for (const file of options["env-file"] ?? []) args.push("--env-file", resolve(context.cwd, file));
  for (const dir of options["secrets-dir"] ?? []) args.push("--secrets-dir", resolve(context.cwd, dir));
  for (const store of options["secrets-from"] ?? []) args.push("--secrets-from", store);
  if (options.offline) args.push("--offline");
  const { file, chained, updated } = installHook(context.cwd, context.env, command, args);
  context.stderr(
    `tessera: ${updated ? "updated" : "installed"} the pre-commit hook ${file}${chained ? " (it runs the previous hook after the scan)" : ""}\n`,
  );
  return 0;
}
