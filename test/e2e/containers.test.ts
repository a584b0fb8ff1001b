/**
 * Containers read their secret files (issue 10 §3), proven with the real engines:
 *
 * 1. `tessera build -t compose --secrets-mode files --with-values` writes each secret 0444 in a 0700
 *    directory owned by the building user: docker-compose and podman-compose start the service as
 *    `user: "1000"` and `cat /run/secrets/<name>` inside gives the value, while on the host user 1000 (or
 *    any other user) cannot read the files.
 * 2. examples/container: an image whose ENTRYPOINT is `tessera run --` and whose USER is 1000, built offline
 *    from the example's own Dockerfile (test/support/containers.ts), runs its app with the secrets as plain
 *    variables, made by the real `tessera run` inside the container from compose's secrets (NAME_FILE, with
 *    docker-compose and podman-compose) and from a mounted directory (tessera.yaml's `type: files` source,
 *    and --secrets-dir), with docker and with podman. The app prints fingerprints, never values.
 *
 * As root (CI), the project is built by an unprivileged uid (1234), neither root nor the containers' user.
 * A missing engine skips these tests on a developer's machine and fails them under CI=true.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { project } from "../helpers.ts";
import {
  composeEscape,
  docker,
  type Engine,
  haveDocker,
  haveDockerCompose,
  havePodman,
  havePodmanCompose,
  IMAGE,
  podman,
  requireComponent,
} from "../support/consumers.ts";
import {
  BUILDER,
  buildExampleImage,
  canSwitchUsers,
  composeUpWith,
  EXAMPLE,
  handToBuilder,
  OFFLINE_BLOCK,
  offlineDockerfile,
  removeImage,
  runAs,
  splitDockerfile,
  tesseraAsBuilder,
} from "../support/containers.ts";
import { assertNoValues } from "./cli-support.ts";

const VALUES = { OPENAI_API_KEY: "sk-test-fake-0001", DB_PASSWORD: "pw-test-fake-0002" };
const FILES = { OPENAI_API_KEY: "openai_api_key", DB_PASSWORD: "db_password" };
/** The containers' user: not root, and not the user that built (and owns) the files. */
const CONTAINER_USER = { uid: 1000, gid: 1000 };

const engines = { docker, podman };

/** `tessera build ARGS --out out` as the builder in a project of `files`; returns the project directory. */
function buildAsBuilder(files: Record<string, string>, args: readonly string[]): string {
  const dir = project(files);
  handToBuilder(dir);
  const result = tesseraAsBuilder(["build", ...args, "--out", "out"], { cwd: dir });
  assert.equal(result.status, 0, result.stderr);
  assertNoValues([result.stdout, result.stderr], Object.values(VALUES));
  return dir;
}

// ---------------------------------------------------------------------------------------------------------------
// 1. compose files mode, any container user

const FIXTURE = `service: { name: app, image: ${JSON.stringify(IMAGE)} }
secrets:
  required: [OPENAI_API_KEY, DB_PASSWORD]
config:
  LOG_LEVEL: info
`;
const DOTENV = Object.entries(VALUES)
  .map(([name, value]) => `${name}=${value}\n`)
  .join("");

function buildComposeFiles(): string {
  return buildAsBuilder({ "tessera.yaml": FIXTURE, ".env": DOTENV }, [
    "-t",
    "compose",
    "--secrets-mode",
    "files",
    "--with-values",
  ]);
}

/**
 * The busybox script the service runs: its user, the secret files as it sees them (`ls -ln`), then `cat` of
 * each path given, marked `@@ok` or `@@failed`.
 */
const CAT_SCRIPT = [
  'echo "@@id $(id -u) $(id -g)"',
  "ls -lnL /run/secrets",
  'for f in "$@"; do',
  '  echo "@@cat $f"',
  '  if cat "$f"; then echo; echo "@@ok"; else echo "@@failed"; fi',
  "done",
].join("\n");

interface CatResult {
  id: string;
  /** path → its text, or null where cat failed */
  files: Map<string, string | null>;
  /** name in /run/secrets → `ls -l` mode, uid */
  listing: Map<string, { mode: string; uid: number }>;
}

function parseCat(log: string): CatResult {
  const lines = log.split("\n");
  const id = lines.find((line) => line.startsWith("@@id "))?.slice(5);
  assert.ok(id, `the container printed its user:\n${log}`);
  const files = new Map<string, string | null>();
  const listing = new Map<string, { mode: string; uid: number }>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const ls = /^([-dlrwxsStT]{10})\s+\d+\s+(\d+)\s+\d+\s+\d+\s+.*\s(\S+)$/.exec(line);
    if (ls) listing.set(ls[3]!, { mode: ls[1]!, uid: Number(ls[2]) });
    if (!line.startsWith("@@cat ")) continue;
    const path = line.slice(6);
    if (lines[i + 1] === "@@failed") files.set(path, null);
    else if (lines[i + 2] === "@@ok") files.set(path, lines[i + 1]!);
    else assert.fail(`unexpected output after ${line}:\n${log}`);
  }
  return { id, files, listing };
}

function assertCatAsUser1000(runner: "docker-compose" | "podman-compose"): void {
  const dir = buildComposeFiles();
  const paths = Object.values(FILES).map((file) => `/run/secrets/${file}`);
  const services = composeUpWith(runner, {
    dir: join(dir, "out"),
    overrides: {
      app: {
        // compose.yaml has no user (the manifest says nothing about it): the override sets it
        user: `${CONTAINER_USER.uid}`,
        command: ["sh", "-c", CAT_SCRIPT, "cat-secrets", ...paths].map(composeEscape),
      },
    },
  });
  const app = services.get("app");
  assert.ok(app, `${runner} ran the service`);
  assert.equal(app.exitCode, 0, `${app.log}\n${app.errors}`);
  const seen = parseCat(app.log);
  assert.equal(seen.id, `${CONTAINER_USER.uid} 0`, "the process runs as uid 1000 (not root)");
  for (const [name, file] of Object.entries(FILES)) {
    assert.equal(
      seen.files.get(`/run/secrets/${file}`),
      VALUES[name as keyof typeof VALUES],
      `cat /run/secrets/${file} as uid 1000\n${app.log}\n${app.errors}`,
    );
    // a bind mount keeps the host's owner and mode: the builder's, 0444
    assert.deepEqual(seen.listing.get(file), { mode: "-r--r--r--", uid: BUILDER.uid }, app.log);
  }
}

describe("compose --secrets-mode files: readable by the container's non-root user, not by other users on the host", () => {
  test("the build writes each secret 0444 in a 0700 directory owned by the building user", () => {
    const dir = buildComposeFiles();
    const secrets = join(dir, "out", "secrets");
    const stat = statSync(secrets);
    assert.equal((stat.mode & 0o777).toString(8), "700");
    assert.equal(stat.uid, BUILDER.uid, "owned by the building user");
    assert.deepEqual(readdirSync(secrets).sort(), Object.values(FILES).sort());
    for (const [name, file] of Object.entries(FILES)) {
      const fileStat = statSync(join(secrets, file));
      assert.equal((fileStat.mode & 0o777).toString(8), "444", file);
      assert.equal(fileStat.uid, BUILDER.uid, file);
      assert.equal(readFileSync(join(secrets, file), "utf8"), VALUES[name as keyof typeof VALUES]);
    }
  });

  test("on the host, user 1000 (the containers' user) and nobody cannot list or read them; the rest of the output is readable", {
    skip: canSwitchUsers ? false : "needs root to act as other users",
  }, () => {
    const dir = buildComposeFiles();
    const out = join(dir, "out");
    for (const user of [CONTAINER_USER, { uid: 65534, gid: 65534 }]) {
      const compose = runAs(user, "cat", [join(out, "compose.yaml")]);
      assert.equal(compose.status, 0, `uid ${user.uid} reads compose.yaml (control): ${compose.stderr}`);
      for (const file of Object.values(FILES)) {
        const read = runAs(user, "cat", [join(out, "secrets", file)]);
        assert.notEqual(read.status, 0, `uid ${user.uid} must not read secrets/${file}`);
        assert.match(read.stderr, /Permission denied/);
        assert.equal(read.stdout, "");
      }
      const list = runAs(user, "ls", [join(out, "secrets")]);
      assert.notEqual(list.status, 0, `uid ${user.uid} must not list secrets/`);
      assert.match(list.stderr, /Permission denied/);
    }
    // the building user reads them (0444)
    const owner = runAs(BUILDER, "cat", [join(out, "secrets", FILES.OPENAI_API_KEY)]);
    assert.equal(owner.status, 0, owner.stderr);
    assert.equal(owner.stdout, VALUES.OPENAI_API_KEY);
  });

  describe(
    "docker-compose",
    requireComponent("docker-compose", () => haveDocker() && haveDockerCompose()),
    () => {
      test('docker-compose up, user: "1000": cat /run/secrets/<name> gives each value', () => {
        assertCatAsUser1000("docker-compose");
      });
    },
  );

  describe(
    "podman-compose",
    requireComponent("podman-compose", () => havePodman() && havePodmanCompose()),
    () => {
      test('podman-compose up, user: "1000": cat /run/secrets/<name> gives each value', () => {
        assertCatAsUser1000("podman-compose");
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// 2. examples/container: tessera run as the entrypoint of a non-root image

const sha = (value: string) => createHash("sha256").update(value).digest("hex").slice(0, 16);

/** What the example app prints when it got the values (see examples/container/app.mjs). */
function expectedReport(uid: number): string[] {
  return [
    `greeter running as uid ${uid}`,
    ...Object.entries(VALUES).map(
      ([name, value]) => `${name}: ${value.length} characters, sha256 ${sha(value)}`,
    ),
    "LOG_LEVEL: info",
    "PORT: 8080",
  ];
}

function assertReport(output: { status?: number | null; stdout: string; stderr: string }, uid: number): void {
  const lines = output.stdout.split("\n").map((line) => line.trimEnd());
  for (const line of expectedReport(uid)) {
    assert.ok(
      lines.includes(line),
      `the app printed ${JSON.stringify(line)}:\n${output.stdout}\n${output.stderr}`,
    );
  }
  // the app prints fingerprints only, and tessera run masks its output anyway
  assertNoValues([output.stdout, output.stderr], Object.values(VALUES));
}

/** A copy of the example (manifest and app) with the values in a file, built for compose files mode. */
function buildExample(): string {
  const files: Record<string, string> = { "values.env": DOTENV };
  for (const entry of ["tessera.yaml", "app.mjs"]) files[entry] = readFileSync(join(EXAMPLE, entry), "utf8");
  // --env-file: a file named on the command line beats the manifest's /run/secrets source, should the
  // host have one
  return buildAsBuilder(files, [
    "-t",
    "compose",
    "--secrets-mode",
    "files",
    "--with-values",
    "--env-file",
    "values.env",
  ]);
}

describe("examples/container: tessera run is the entrypoint of a non-root image", () => {
  test("the Dockerfile runs tessera run as its entrypoint as uid 1000; the offline build replaces only its install block", () => {
    const text = readFileSync(join(EXAMPLE, "Dockerfile"), "utf8");
    const { block, after: rest } = splitDockerfile(text);
    assert.match(block, /^FROM node:\S+$/m, "users build FROM a node image");
    assert.match(block, /npm install --global/);
    assert.doesNotMatch(rest, /^FROM /m, "everything after the install block is shared with the test image");
    assert.match(rest, /^USER 1000$/m);
    assert.match(rest, /^ENTRYPOINT \["tessera", "run", "--"\]$/m);
    assert.match(rest, /^CMD \["node", "app\.mjs"\]$/m);
    assert.ok(offlineDockerfile().endsWith(`${OFFLINE_BLOCK}${rest}`));
    for (const file of ["tessera.yaml", "app.mjs", "README.md"]) {
      assert.ok(statSync(join(EXAMPLE, file)).isFile(), `examples/container/${file}`);
    }
  });

  for (const engine of ["docker", "podman"] as const satisfies readonly Engine[]) {
    const have = engine === "docker" ? haveDocker : havePodman;
    const runner = engine === "docker" ? "docker-compose" : "podman-compose";
    const haveRunner = engine === "docker" ? haveDockerCompose : havePodmanCompose;
    const cli = engines[engine];

    describe(engine, requireComponent(engine, have), () => {
      let image = "";
      let out = "";
      before(() => {
        image = buildExampleImage(engine);
        out = join(buildExample(), "out");
      });
      after(() => {
        if (image) removeImage(engine, image);
      });

      /** `ENGINE run --rm --network none ARGS IMAGE COMMAND…` */
      const runImage = (args: readonly string[], command: readonly string[]) =>
        cli(["run", "--rm", "--network", "none", ...args, image, ...command], { timeout: 300_000 });

      test(
        `${runner}: compose's secrets reach the app as variables (NAME_FILE), run as the image's user 1000`,
        requireComponent(runner, haveRunner),
        () => {
          // the built compose.yaml as it is, but for the image (the one just built) and a command that exits
          const services = composeUpWith(runner, {
            dir: out,
            overrides: { greeter: { image, command: ["node", "app.mjs", "--check"] } },
          });
          const greeter = services.get("greeter");
          assert.ok(greeter, `${runner} ran the service`);
          assert.equal(greeter.exitCode, 0, `${greeter.log}\n${greeter.errors}`);
          assertReport({ stdout: greeter.log, stderr: greeter.errors }, CONTAINER_USER.uid);
        },
      );

      test(`${engine} run -v DIR:/run/secrets:ro: tessera.yaml's files source reads the directory, run as the (non-root) building user`, () => {
        // The 0700 directory is its owner's: the container runs as that user (`--user "$(id -u)"`).
        const result = runImage(
          ["--user", `${BUILDER.uid}:${BUILDER.gid}`, "-v", `${join(out, "secrets")}:/run/secrets:ro`],
          ["node", "app.mjs", "--check"],
        );
        assert.equal(result.status, 0, result.stderr);
        assertReport(result, BUILDER.uid);
      });

      test(`${engine} run --entrypoint tessera … run --secrets-dir /secrets: the directory named on the command line`, () => {
        const result = runImage(
          [
            "--user",
            `${BUILDER.uid}:${BUILDER.gid}`,
            "-v",
            `${join(out, "secrets")}:/secrets:ro`,
            "--entrypoint",
            "tessera",
          ],
          ["run", "--secrets-dir", "/secrets", "--", "node", "app.mjs", "--check"],
        );
        assert.equal(result.status, 0, result.stderr);
        assertReport(result, BUILDER.uid);
      });

      test(`${engine} run -v FILE:/run/secrets/NAME:ro -e NAME_FILE, as the image's user 1000: one file per secret, as compose mounts them`, () => {
        const args: string[] = [];
        for (const [name, file] of Object.entries(FILES)) {
          args.push("-v", `${join(out, "secrets", file)}:/run/secrets/${file}:ro`);
          args.push("-e", `${name}_FILE=/run/secrets/${file}`);
        }
        const result = runImage(args, ["node", "app.mjs", "--check"]);
        assert.equal(result.status, 0, result.stderr);
        assertReport(result, CONTAINER_USER.uid);
      });

      test(`${engine} run -v DIR:/run/secrets:ro as a user who cannot read DIR: the app does not start`, {
        skip: BUILDER.uid === CONTAINER_USER.uid ? "the building user is the image's user" : false,
      }, () => {
        // The image's user 1000 cannot open the builder's 0700 directory: tessera run stops, naming it.
        const result = runImage(
          ["-v", `${join(out, "secrets")}:/run/secrets:ro`],
          ["node", "app.mjs", "--check"],
        );
        assert.equal(result.status, 4, result.stderr);
        assert.match(
          result.stderr,
          /^tessera: error\[E_FILE_INVALID\]: secrets directory: \/run\/secrets cannot be read \(EACCES\)/m,
        );
        assert.doesNotMatch(result.stdout, /greeter running/);
      });
    });
  }
});
