/**
 * Command-line parsing: long flags (--name value, --name=value), short aliases, repeatable flags,
 * `--` to end flags, and for `run`, the child command starts at the first positional argument.
 */
import { closest, TesseraError } from "../errors.js";

export interface FlagSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  /** Shown in help. */
  value?: string;
  help: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** What a flag holds once parsed, from its definition: a boolean, a string, or a list of them. */
export type FlagValue<S extends FlagSpec> = S["type"] extends "boolean"
  ? boolean
  : S["multiple"] extends true
    ? string[]
    : string;

/** The parsed flags of a command, typed from its flag definitions (each absent unless given). */
export type FlagValues<S extends FlagSpecs> = { -readonly [K in keyof S]?: FlagValue<S[K]> };

export interface Parsed<S extends FlagSpecs = FlagSpecs> {
  flags: FlagValues<S>;
  positionals: string[];
}

export function parseArgs<const S extends FlagSpecs>(
  argv: readonly string[],
  specs: S,
  options: { stopAtPositional?: boolean } = {},
): Parsed<S> {
  const flags: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  const shorts = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) shorts.set(spec.short, name);

  const set = (name: string, spec: FlagSpec, value: string | boolean) => {
    if (spec.multiple) {
      const list = flags[name];
      flags[name] = [...(Array.isArray(list) ? list : []), String(value)];
    } else {
      flags[name] = value;
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--") || (arg.startsWith("-") && arg.length > 1)) {
      let name: string;
      let inline: string | undefined;
      if (arg.startsWith("--")) {
        const eq = arg.indexOf("=");
        name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
        inline = eq === -1 ? undefined : arg.slice(eq + 1);
      } else {
        const short = arg.slice(1, 2);
        const long = shorts.get(short);
        if (!long) throw unknownFlag(arg, specs);
        name = long;
        inline = arg.length > 2 ? arg.slice(2) : undefined;
        // Boolean short flags combine: -qh is -q -h.
        if (inline !== undefined && specs[long]?.type === "boolean") {
          const rest = [...inline].map((letter) => shorts.get(letter));
          if (rest.every((flag) => flag !== undefined && specs[flag]?.type === "boolean")) {
            set(long, specs[long]!, true);
            for (const flag of rest) set(flag!, specs[flag!]!, true);
            continue;
          }
        }
      }
      const spec = specs[name];
      if (!spec && name.startsWith("no-") && specs[name.slice(3)]?.type === "boolean") {
        set(name.slice(3), specs[name.slice(3)]!, false);
        continue;
      }
      if (!spec) throw unknownFlag(arg, specs);
      if (spec.type === "boolean") {
        if (inline !== undefined) {
          throw new TesseraError("E_USAGE", `--${name} takes no value`, { hint: `write --${name} alone` });
        }
        set(name, spec, true);
        continue;
      }
      let value = inline;
      if (value === undefined) {
        value = argv[i + 1];
        if (value === undefined) {
          throw new TesseraError("E_USAGE", `--${name} needs a value`, {
            hint: `--${name} ${spec.value ?? "VALUE"}`,
          });
        }
        i++;
      }
      set(name, spec, value);
      continue;
    }
    if (options.stopAtPositional) {
      positionals.push(...argv.slice(i));
      break;
    }
    positionals.push(arg);
  }
  // Each key was set by its own spec above: the one place the definitions meet the values.
  return { flags: flags as FlagValues<S>, positionals };
}

/**
 * An unknown option: the option meant when one is close (`--jsn` → `--json`, `--dry` → `--dry-run`,
 * `-T` → `-t`, `-json` → `--json`), else this command's options, so the hint always answers.
 */
function unknownFlag(arg: string, specs: FlagSpecs): TesseraError {
  const given = arg.split("=")[0]!;
  const name = given.replace(/^-+/, "");
  const longs = Object.keys(specs);
  let suggestion: string | undefined;
  if (!given.startsWith("--")) {
    const letter = name.slice(0, 1);
    const other = letter === letter.toLowerCase() ? letter.toUpperCase() : letter.toLowerCase();
    const short = longs.find((long) => specs[long]!.short === other);
    if (short) suggestion = `-${other}`;
  }
  if (!suggestion && name.length > 1) {
    const prefixed = longs.filter((long) => long.startsWith(name));
    const long = closest(name, longs) ?? (prefixed.length === 1 ? prefixed[0] : undefined);
    if (long) suggestion = `--${long}`;
  }
  return new TesseraError("E_USAGE", `unknown option ${given}`, {
    hint: suggestion
      ? `did you mean ${suggestion}?`
      : `valid options: ${longs.map((long) => `--${long}`).join(", ")}`,
  });
}

/** The flags every command that resolves accepts. */
export const LAYER_FLAGS = {
  manifest: {
    type: "string",
    value: "FILE",
    help: "the manifest (default: tessera.yaml, Dockfile.yaml or manifest.json here)",
  },
  env: {
    type: "string",
    value: "PROFILE",
    help: "the profile (also TESSERA_ENV): selects .env.PROFILE, env.PROFILE.yaml and profiles.PROFILE",
  },
  secret: {
    type: "string",
    multiple: true,
    value: "NAME=VALUE",
    help: "set a variable (highest precedence; repeatable)",
  },
  values: {
    type: "string",
    multiple: true,
    value: "FILE",
    help: "a YAML value file (repeatable; first given wins)",
  },
  "env-file": {
    type: "string",
    multiple: true,
    value: "FILE",
    help: "a dotenv file (repeatable; first given wins)",
  },
  "secrets-dir": {
    type: "string",
    multiple: true,
    value: "DIR",
    help: "a directory of one-file secrets, file name = variable (/run/secrets; repeatable)",
  },
  "empty-is-unset": {
    type: "boolean",
    help: "an empty value counts as unset: it does not shadow lower layers (CI variables)",
  },
  strict: {
    type: "boolean",
    help: "make W_GENERIC_VALUE (a generic file's secret in a profile's build) and W_DIALECT errors (exit 4)",
  },
  "allow-missing-secrets": {
    type: "boolean",
    help: "warn instead of failing when required variables are missing",
  },
  "secrets-from": {
    type: "string",
    multiple: true,
    value: "NAME",
    help: "use only this external store (repeatable)",
  },
  offline: { type: "boolean", help: "external stores answer from their caches only" },
  "allow-host-env": {
    type: "boolean",
    help: "trust a manifest from another repository with the host (environment, value files, names)",
  },
  quiet: { type: "boolean", short: "q", help: "print no warnings" },
  help: { type: "boolean", short: "h", help: "show help" },
} as const satisfies FlagSpecs;

export function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const left = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.value ? ` ${spec.value}` : ""}`;
    return [left, spec.help] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`).join("\n");
}

export function helpText(usage: string, summary: string, specs: FlagSpecs, extra = ""): string {
  return `${summary}\n\nUsage: ${usage}\n\nOptions:\n${formatFlags(specs)}\n${extra ? `\n${extra}\n` : ""}`;
}
