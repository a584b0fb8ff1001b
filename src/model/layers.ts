/**
 * Value layers. Each layer is a list of value sources; every value carries its origin from the moment
 * it is read, so `explain`, errors and masking never look anything up again.
 *
 * A layer is the kind of a source; the order of the sources is the precedence (../layers/gather.ts):
 *
 *   flag      --secret NAME=VALUE
 *   env       the process environment (read by name only, never wholesale)
 *   files     NAME_FILE, --secrets-dir DIR, `files` sources: one file per value
 *   values    YAML value files
 *   dotenv    dotenv files
 *   store     the encrypted workspace store (.tessera/store.age)
 *   external  external stores (./external.ts)
 *   manifest  manifest defaults and config values (a profile's, and the base)
 *
 * Files named on the command line come before a profile's own sources, which come before the workspace
 * store and the files found for every profile ("generic" files).
 */
import { literal, type Template } from "./template.js";

export type LayerId = "flag" | "env" | "files" | "values" | "store" | "dotenv" | "external" | "manifest";

export const LAYERS: readonly LayerId[] = [
  "flag",
  "env",
  "files",
  "values",
  "store",
  "dotenv",
  "external",
  "manifest",
];

export const LAYER_TITLES: Record<LayerId, string> = {
  flag: "--secret flag",
  env: "process environment",
  files: "secret file",
  values: "YAML value file",
  store: "workspace store",
  dotenv: "dotenv file",
  external: "external store",
  manifest: "manifest",
};

/** Where a value came from. Never holds the value. */
export interface Origin {
  layer: LayerId;
  /** Human-readable place: "--secret", "process environment", ".env:3", "tessera.yaml:12 (default)". */
  where: string;
  file?: string | undefined;
  line?: number | undefined;
  column?: number | undefined;
  /** A local file found for every profile (`.env`, `env.yaml`, a base `sources:` file), not for the selected one. */
  generic?: boolean | undefined;
}

export interface Candidate {
  name: string;
  template: Template;
  origin: Origin;
}

/** A place values come from, in one layer. */
export interface ValueSource {
  layer: LayerId;
  /** How the source is named in "looked in" lists: ".env", "--env-file prod.env", "process environment". */
  label: string;
  /** The source's `name:` in the manifest, for `from:` references. */
  name?: string | undefined;
  /** false for a file that does not exist (it still appears in "looked in" lists). */
  present: boolean;
  /** Why a source that is not present was not read, for "looked in" lists (default: "not found"). */
  note?: string | undefined;
  /** Candidates for `name`, the winner first (a file may set a name twice). */
  lookup(name: string): readonly Candidate[];
  /** Every name defined here (the process environment answers none: it is never enumerated). */
  names(): Iterable<string>;
  /**
   * For a `manifest` source in the list: the position of a profile's manifest values (`profiles.P`),
   * which outrank the workspace store and the generic files. It defines no name itself.
   */
  profileValues?: string | undefined;
}

/** A source backed by a finished list of candidates (flags, files). */
export class StaticSource implements ValueSource {
  private readonly byName = new Map<string, Candidate[]>();

  constructor(
    readonly layer: LayerId,
    readonly label: string,
    candidates: Iterable<Candidate>,
    options: {
      name?: string | undefined;
      present?: boolean | undefined;
      lastWins?: boolean | undefined;
      note?: string | undefined;
    } = {},
  ) {
    this.name = options.name;
    this.present = options.present ?? true;
    this.note = options.note;
    for (const candidate of candidates) {
      const list = this.byName.get(candidate.name);
      if (!list) this.byName.set(candidate.name, [candidate]);
      else if (options.lastWins) list.unshift(candidate);
      else list.push(candidate);
    }
  }

  readonly name?: string | undefined;
  readonly present: boolean;
  readonly note?: string | undefined;

  lookup(name: string): readonly Candidate[] {
    return this.byName.get(name) ?? [];
  }

  names(): Iterable<string> {
    return this.byName.keys();
  }
}

/** The process environment: asked by name only. Values are literal (never interpolated). */
export class EnvironmentSource implements ValueSource {
  readonly layer = "env" as const;
  readonly label: string;
  readonly present = true;
  private readonly cache = new Map<string, Candidate[]>();

  /** With `only`, the names it may answer (for a manifest from another repository); others are unset. */
  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly only?: ReadonlySet<string>,
  ) {
    this.label = only
      ? "process environment (only the names the workspace's own manifest declares: the manifest comes from another repository; --allow-host-env)"
      : "process environment";
  }

  lookup(name: string): readonly Candidate[] {
    let found = this.cache.get(name);
    if (!found) {
      const allowed = !this.only || this.only.has(name);
      const value = allowed && Object.hasOwn(this.env, name) ? this.env[name] : undefined;
      found =
        value === undefined
          ? []
          : [{ name, template: literal(value), origin: { layer: "env", where: "process environment" } }];
      this.cache.set(name, found);
    }
    return found;
  }

  names(): Iterable<string> {
    return [];
  }
}

/** All value sources in precedence order (the first source that defines a name wins). */
export interface LayerStack {
  sources: ValueSource[];
  /** Warnings found while reading (invalid names in files, ignored keys). */
  warnings: import("../errors.js").Diagnostic[];
}
