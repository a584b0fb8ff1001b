/**
 * Tessera touches only what it wrote: an output directory is its own record (.tessera-outputs). It never
 * replaces a file it did not write, merges its ignore lines into a .gitignore that exists, removes the
 * files an earlier build wrote and this one does not, and never follows a symbolic link out: not one in
 * the directory, not one at deploy/<target> a repository committed (one named with --out is followed).
 * A path that cannot be a directory is a coded error naming it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { missingProgram, project, tessera } from "../helpers.ts";
import { haveKubectl, kustomizeBuild, requireComponent } from "../support/consumers.ts";

const SECRET = "fake-db-password-7f3a";
const MANIFEST = `service: { name: shop, image: "shop:1" }
secrets:
  required: [DB_PASSWORD]
config:
  LOG_LEVEL: info
`;
const HAND_COMPOSE = "services:\n  mine:\n    image: mine:1\n";
const HAND_IGNORE = "node_modules\n.env\n";

function git(dir: string, ...args: string[]) {
  return spawnSync("git", ["-c", "user.email=t@example.test", "-c", "user.name=t", ...args], {
    cwd: dir,
    encoding: "utf8",
  });
}

describe("build writes only what it owns", () => {
  test("-o . next to a hand-written compose.yaml: refused, nothing written, nothing replaced", () => {
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": `DB_PASSWORD=${SECRET}\n`,
      "compose.yaml": HAND_COMPOSE,
      ".gitignore": HAND_IGNORE,
    });
    const result = tessera(["build", "-t", "compose", "--with-values", "-o", "."], { cwd: dir });
    assert.equal(result.status, 4, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /error\[E_OUTPUT_EXISTS\]: compose\.yaml exists and was not written by tessera build/,
    );
    assert.match(result.stderr, /hint: tessera replaces only files it wrote \(listed in \.tessera-outputs\)/);
    assert.equal(readFileSync(join(dir, "compose.yaml"), "utf8"), HAND_COMPOSE);
    assert.equal(readFileSync(join(dir, ".gitignore"), "utf8"), HAND_IGNORE);
    assert.equal(existsSync(join(dir, "secrets.env")), false);
    assert.equal(existsSync(join(dir, ".tessera-outputs")), false);
  });

  test("-o . with a .gitignore of the project: its lines stay, Tessera's are added once", () => {
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": `DB_PASSWORD=${SECRET}\n`,
      ".gitignore": HAND_IGNORE,
    });
    for (let round = 0; round < 2; round++) {
      const result = tessera(["build", "-t", "compose", "--with-values", "-o", "."], { cwd: dir });
      assert.equal(result.status, 0, result.stderr);
    }
    const ignore = readFileSync(join(dir, ".gitignore"), "utf8");
    assert.ok(ignore.startsWith(HAND_IGNORE), ignore);
    assert.equal(ignore.split("\n").filter((line) => line === "secrets.env").length, 1, ignore);
    const record = readFileSync(join(dir, ".tessera-outputs"), "utf8");
    assert.deepEqual(
      record.split("\n").filter((line) => line && !line.startsWith("#")),
      ["compose.yaml", "secrets.env"],
    );
    assert.ok(!record.includes(SECRET));
  });

  test("a file the record no longer lists is the user's: the next build refuses to replace it", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n` });
    assert.equal(tessera(["build", "-t", "kubernetes", "-o", "k8s"], { cwd: dir }).status, 0);
    const record = join(dir, "k8s", ".tessera-outputs");
    writeFileSync(record, readFileSync(record, "utf8").replace("deployment.yaml\n", ""));
    writeFileSync(join(dir, "k8s", "deployment.yaml"), "# mine now\n");
    const again = tessera(["build", "-t", "kubernetes", "-o", "k8s"], { cwd: dir });
    assert.equal(again.status, 4, again.stderr);
    assert.match(again.stderr, /E_OUTPUT_EXISTS\]: k8s\/deployment\.yaml exists/);
    assert.equal(readFileSync(join(dir, "k8s", "deployment.yaml"), "utf8"), "# mine now\n");
  });

  test("stale artifacts go: the ConfigMap when no config is left, the value file without --with-values", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n` });
    assert.equal(
      tessera(["build", "-t", "kubernetes", "--with-values", "-o", "k8s"], { cwd: dir }).status,
      0,
    );
    assert.ok(existsSync(join(dir, "k8s", "configmap.yaml")));
    writeFileSync(join(dir, "tessera.yaml"), MANIFEST.replace("config:\n  LOG_LEVEL: info\n", ""));
    writeFileSync(join(dir, "k8s", "notes.txt"), "my own notes\n");
    const result = tessera(["build", "-t", "kubernetes", "-o", "k8s"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stderr,
      /removed k8s\/configmap\.yaml: an earlier build wrote it and this one does not/,
    );
    assert.match(result.stderr, /removed k8s\/secret\.values\.yaml: it held values/);
    assert.equal(existsSync(join(dir, "k8s", "configmap.yaml")), false);
    assert.equal(existsSync(join(dir, "k8s", "secret.values.yaml")), false);
    assert.equal(readFileSync(join(dir, "k8s", "notes.txt"), "utf8"), "my own notes\n", "not Tessera's");
  });

  test("compose secret files: stale ones removed, and their directory when empty", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n` });
    const args = ["build", "-t", "compose", "--secrets-mode", "files", "-o", "c"];
    assert.equal(tessera([...args, "--with-values"], { cwd: dir }).status, 0);
    assert.equal(readFileSync(join(dir, "c", "secrets", "db_password"), "utf8"), SECRET);
    // Readable by the container's user whoever it is; on the host, only the owner reaches it.
    assert.equal(statSync(join(dir, "c", "secrets", "db_password")).mode & 0o777, 0o444);
    assert.equal(statSync(join(dir, "c", "secrets")).mode & 0o777, 0o700);
    const result = tessera(args, { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(existsSync(join(dir, "c", "secrets")), false);
  });

  test("a symbolic link where an artifact goes is not followed", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n` });
    const elsewhere = project({ "precious.yaml": "keep: me\n" });
    mkdirSync(join(dir, "k8s"));
    symlinkSync(join(elsewhere, "precious.yaml"), join(dir, "k8s", "deployment.yaml"));
    const result = tessera(["build", "-t", "kubernetes", "-o", "k8s"], { cwd: dir });
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /E_OUTPUT_EXISTS/);
    assert.equal(readFileSync(join(elsewhere, "precious.yaml"), "utf8"), "keep: me\n");
  });

  test("a directory built by an earlier version (no record) is rebuilt and gets a record", () => {
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": `DB_PASSWORD=${SECRET}\n`,
      "k8s/deployment.yaml": "# Generated by tessera build. Edit the manifest, not this file.\nold: 1\n",
      "k8s/secret.values.yaml": "# Generated by tessera build. Edit the manifest, not this file.\nold: 1\n",
      "k8s/.gitignore": "# files with values: never commit them\n*.values.yaml\n",
    });
    const result = tessera(["build", "-t", "kubernetes", "-o", "k8s"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(existsSync(join(dir, "k8s", "secret.values.yaml")), false);
    assert.ok(existsSync(join(dir, "k8s", ".tessera-outputs")));
  });

  test("in a git work tree, value files are ignored and nothing of the build is left untracked with values", (t) => {
    if (spawnSync("git", ["--version"]).status !== 0) return missingProgram(t, "git");
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": `DB_PASSWORD=${SECRET}\n`,
      ".gitignore": ".env\n",
    });
    git(dir, "init", "-q");
    const result = tessera(["build", "-t", "compose", "--with-values", "-o", "."], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    git(dir, "add", "-A");
    const staged = git(dir, "diff", "--cached", "--name-only").stdout.split("\n").filter(Boolean);
    for (const file of staged) {
      assert.ok(!readFileSync(join(dir, file), "utf8").includes(SECRET), `${file} would commit a value`);
    }
    assert.ok(staged.includes("compose.yaml") && !staged.includes("secrets.env"), staged.join(" "));
  });
});

const haveGit = () => spawnSync("git", ["--version"]).status === 0;

/** A git repository with `files` committed (symbolic links made by `links`: path → target). */
function committed(files: Record<string, string>, links: Record<string, string> = {}): string {
  const dir = project(files);
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    symlinkSync(target, join(dir, path));
  }
  git(dir, "init", "-q");
  git(dir, "add", "-A");
  assert.equal(git(dir, "commit", "-q", "-m", "fixture").status, 0);
  return dir;
}

describe("no symbolic link takes a build out of its directory", () => {
  test("a record line through a link inside the directory: refused, the file it reaches kept, nothing written", () => {
    const victims = project({ victim: "precious\n" });
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": `DB_PASSWORD=${SECRET}\n`,
      "deploy/docker/.tessera-outputs": "lnk/victim\n",
    });
    symlinkSync(victims, join(dir, "deploy", "docker", "lnk"));
    const result = tessera(["build", "-t", "docker"], { cwd: dir });
    assert.equal(result.status, 4, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /error\[E_OUTPUT_EXISTS\]: deploy\/docker\/lnk is a symbolic link \(to .+\): tessera build does not follow links inside its output directory/,
    );
    assert.doesNotMatch(result.stderr, /removed/);
    assert.equal(readFileSync(join(victims, "victim"), "utf8"), "precious\n");
    assert.equal(existsSync(join(dir, "deploy", "docker", "run.sh")), false, "nothing written");
    assert.equal(readFileSync(join(dir, "deploy", "docker", ".tessera-outputs"), "utf8"), "lnk/victim\n");
  });

  test("a committed link where value files go (compose's secrets/): refused before anything is written", (t) => {
    if (!haveGit()) return missingProgram(t, "git");
    const outside = project({});
    const before = statSync(outside).mode & 0o777;
    const dir = committed(
      { "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n`, ".gitignore": ".env\n" },
      { "deploy/compose/secrets": outside },
    );
    const result = tessera(["build", "-t", "compose", "--secrets-mode", "files", "--with-values"], {
      cwd: dir,
    });
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /E_OUTPUT_EXISTS\]: deploy\/compose\/secrets is a symbolic link/);
    assert.deepEqual(readdirSync(outside), [], "no value written through the link");
    assert.equal(statSync(outside).mode & 0o777, before, "its mode unchanged");
    assert.deepEqual(readdirSync(join(dir, "deploy", "compose")), ["secrets"], "nothing written beside it");
  });

  test("a file where a directory of the build goes: refused with its path, not an internal error", () => {
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": `DB_PASSWORD=${SECRET}\n`,
      "c/secrets": "mine\n",
    });
    const result = tessera(
      ["build", "-t", "compose", "--secrets-mode", "files", "--with-values", "-o", "c"],
      {
        cwd: dir,
      },
    );
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /E_OUTPUT_EXISTS\]: c\/secrets is not a directory/);
    assert.deepEqual(readdirSync(join(dir, "c")), ["secrets"]);
  });

  test("record lines that are absolute or hold .. are ignored: nothing outside is removed", () => {
    const victims = project({ victim: "precious\n" });
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": `DB_PASSWORD=${SECRET}\n`,
      "deploy/docker/.tessera-outputs": `${join(victims, "victim")}\n../../victim\nsecrets/../../victim\n`,
      victim: "also precious\n",
      "deploy/victim": "precious too\n",
    });
    const result = tessera(["build", "-t", "docker"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /removed/);
    assert.equal(readFileSync(join(victims, "victim"), "utf8"), "precious\n");
    assert.equal(readFileSync(join(dir, "victim"), "utf8"), "also precious\n");
    assert.equal(readFileSync(join(dir, "deploy", "victim"), "utf8"), "precious too\n");
    assert.doesNotMatch(readFileSync(join(dir, "deploy", "docker", ".tessera-outputs"), "utf8"), /victim/);
  });

  test("deploy/<target> or deploy/ a link: refused; a link named with --out is the user's, followed", () => {
    for (const link of ["deploy/kubernetes", "deploy"]) {
      const elsewhere = project({});
      const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n` });
      if (link === "deploy") mkdirSync(join(elsewhere, "kubernetes"));
      else mkdirSync(join(dir, "deploy"));
      symlinkSync(elsewhere, join(dir, link));
      for (const args of [[], ["-o", "deploy/kubernetes"]]) {
        const result = tessera(["build", "-t", "k8s", ...args], { cwd: dir });
        assert.equal(result.status, 4, `${link} ${args.join(" ")}: ${result.stderr}`);
        assert.match(
          result.stderr,
          new RegExp(`E_OUTPUT_EXISTS\\]: ${link} is a symbolic link \\(to ${elsewhere}\\)`),
        );
        assert.match(result.stderr, /hint: a repository can commit such a link/);
      }
      const untouched = link === "deploy" ? join(elsewhere, "kubernetes") : elsewhere;
      assert.deepEqual(readdirSync(untouched), [], `${link}: nothing written where it points`);
    }
    const elsewhere = project({});
    const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n` });
    symlinkSync(elsewhere, join(dir, "mine"));
    const result = tessera(["build", "-t", "kubernetes", "-o", "mine"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^mine\/deployment\.yaml$/m);
    assert.ok(existsSync(join(elsewhere, "deployment.yaml")));
    assert.ok(lstatSync(join(dir, "mine")).isSymbolicLink(), "the link stays a link");
  });

  test("--out through a link into a repository: git is asked where the file really is (tracked: refused)", (t) => {
    if (!haveGit()) return missingProgram(t, "git");
    const placeholder = "DB_PASSWORD=placeholder\n";
    const repo = committed({
      "vals/secrets.env": placeholder,
      "vals/.tessera-outputs": "compose.yaml\nsecrets.env\n",
    });
    const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n` });
    symlinkSync(join(repo, "vals"), join(dir, "out"));
    const result = tessera(["build", "-t", "compose", "--with-values", "-o", "out"], { cwd: dir });
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /E_OUTPUT_NOT_IGNORED\]: out\/secrets\.env would hold values/);
    assert.equal(readFileSync(join(repo, "vals", "secrets.env"), "utf8"), placeholder);
  });

  test("git cannot answer inside a work tree (a damaged index): the value file is refused", (t) => {
    if (!haveGit()) return missingProgram(t, "git");
    const dir = committed({
      "tessera.yaml": MANIFEST,
      ".env": `DB_PASSWORD=${SECRET}\n`,
      ".gitignore": ".env\n",
    });
    writeFileSync(join(dir, ".git", "index"), "not an index\n");
    assert.notEqual(git(dir, "check-ignore", "-q", "x").status, 0, "git fails to answer");
    const result = tessera(["build", "-t", "compose", "--with-values", "-o", "c"], { cwd: dir });
    assert.equal(result.status, 4, result.stderr);
    assert.match(
      result.stderr,
      /E_OUTPUT_NOT_IGNORED\]: c\/secrets\.env would hold values inside a git work tree/,
    );
    assert.equal(existsSync(join(dir, "c", "secrets.env")), false);
  });
});

describe("a bad output path is a coded error naming it", () => {
  test("--out below a regular file: E_OUTPUT_UNWRITABLE (exit 2), not E_INTERNAL", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n`, afile: "mine\n" });
    for (const out of ["afile/sub", "afile"]) {
      const result = tessera(["build", "-t", "kubernetes", "--out", out], { cwd: dir });
      assert.equal(result.status, 2, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`error\\[E_OUTPUT_UNWRITABLE\\]: cannot write to ${out}: afile is a file`),
      );
      assert.match(result.stderr, /hint: the output directory must be a directory: move afile away/);
    }
    const deployFile = project({
      "tessera.yaml": MANIFEST,
      ".env": `DB_PASSWORD=${SECRET}\n`,
      deploy: "x\n",
    });
    const result = tessera(["build", "-t", "docker"], { cwd: deployFile });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /E_OUTPUT_UNWRITABLE\]: cannot write to deploy\/docker: deploy is a file/);
    assert.equal(readFileSync(join(dir, "afile"), "utf8"), "mine\n");
  });
});

describe("one build, one consistent set of files, whatever came before", () => {
  /** Every file below dir, relative, without the record itself. */
  const listing = (dir: string): string[] => {
    const out: string[] = [];
    const walk = (here: string, prefix: string) => {
      for (const entry of readdirSync(here, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(here, entry.name), `${prefix}${entry.name}/`);
        else out.push(`${prefix}${entry.name}`);
      }
    };
    walk(dir, "");
    return out.sort();
  };

  const cases: { target: string; variants: string[][] }[] = [
    {
      target: "kubernetes",
      variants: [[], ["--with-values"], ["--kustomize"], ["--kustomize", "--with-values"]],
    },
    {
      target: "compose",
      variants: [
        [],
        ["--with-values"],
        ["--secrets-mode", "files"],
        ["--secrets-mode", "files", "--with-values"],
      ],
    },
    { target: "docker", variants: [[], ["--with-values"]] },
  ];
  for (const { target, variants } of cases) {
    test(
      `${target}: every sequence of two builds leaves exactly what the second alone writes`,
      requireComponent("kubectl", haveKubectl),
      () => {
        const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${SECRET}\n` });
        for (const [i, second] of variants.entries()) {
          const alone = `alone-${i}`;
          assert.equal(tessera(["build", "-t", target, ...second, "-o", alone], { cwd: dir }).status, 0);
          for (const [j, first] of variants.entries()) {
            const out = `seq-${i}-${j}`;
            assert.equal(tessera(["build", "-t", target, ...first, "-o", out], { cwd: dir }).status, 0);
            const result = tessera(["build", "-t", target, ...second, "-o", out], { cwd: dir });
            assert.equal(result.status, 0, result.stderr);
            const what = `${first.join(" ") || "plain"} then ${second.join(" ") || "plain"}`;
            assert.deepEqual(listing(join(dir, out)), listing(join(dir, alone)), what);
            if (existsSync(join(dir, out, "kustomization.yaml"))) kustomizeBuild(join(dir, out));
          }
        }
      },
    );
  }
});
