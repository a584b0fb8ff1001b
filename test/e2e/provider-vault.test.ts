/**
 * The vault provider, end to end through the built CLI, against a local fake of Vault's HTTP API
 * (test/support/fake-stores.ts). These are protocol tests: no real Vault can run here, so what is
 * checked is that Tessera speaks the documented API (paths, headers, login bodies, answers and error
 * bodies as Vault sends them) and maps every outcome to the right value, exit status and message.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { project } from "../helpers.ts";
import {
  closedPort,
  type FakeServer,
  selfSignedCert,
  startVault,
  type Tls,
  tesseraAsync,
} from "../support/fake-stores.ts";

const TOKEN = "hvs.fake-root-token-0123456789";
const SECRET_ID = "fake-secret-id-9f8e7d6c";
const ISSUED = "hvs.fake-issued-by-login-42";
const JWT = "eyJhbGciOiJSUzI1NiJ9.fake-service-account-jwt.sig";

/** Values that a careless quoting, decoding or interpolation would change. */
const TRICKY: Record<string, unknown> = {
  MULTILINE: "-----BEGIN KEY-----\nline two\n\nafter a blank line\n",
  QUOTES: `"double" 'single' \`back\` \\ backslash`,
  UNICODE: "ünïcødé ✓ 日本語 🔑 \u00a0nbsp",
  DOLLARS: "$X ${Y} $$ ${Z:-default} $(whoami)",
  SPACES: "  leading and trailing  ",
  EMPTY: "",
  PORT: 5432,
  ENABLED: true,
  NESTED: { a: [1, "two"], b: null },
};
const TRICKY_TEXT: Record<string, string> = {
  MULTILINE: TRICKY.MULTILINE as string,
  QUOTES: TRICKY.QUOTES as string,
  UNICODE: TRICKY.UNICODE as string,
  DOLLARS: TRICKY.DOLLARS as string,
  SPACES: TRICKY.SPACES as string,
  EMPTY: "",
  PORT: "5432",
  ENABLED: "true",
  NESTED: '{"a":[1,"two"],"b":null}',
};
const NAMES = Object.keys(TRICKY);
/** An empty value does not satisfy a required variable: EMPTY is declared optional. */
const REQUIRED = NAMES.filter((name) => name !== "EMPTY");

function source(vault: FakeServer, extra = ""): string {
  return `sources:\n  - { type: vault, name: hv, address: "${vault.url}"${extra ? `, ${extra}` : ""} }\n`;
}

function noLeak(text: string, ...secrets: string[]): void {
  for (const secret of [TOKEN, SECRET_ID, ISSUED, JWT, ...secrets]) {
    assert.ok(!text.includes(secret), `the output shows ${JSON.stringify(secret)}:\n${text}`);
  }
}

function json(stdout: string): Record<string, string> {
  return JSON.parse(stdout) as Record<string, string>;
}

describe("vault: reading KV", () => {
  let vault: FakeServer;
  before(async () => {
    vault = await startVault({
      tokens: [TOKEN],
      mounts: {
        secret: {
          version: 2,
          secrets: {
            app: TRICKY,
            "team/db": { username: "app_user", password: "fake-db-pass-1" },
            "team/api": { key: "fake-api-key-2" },
            "app/prod": { MODE: "production" },
            "app/dev": { MODE: "development" },
          },
        },
        kv: { version: 1, secrets: { legacy: { OLD_KEY: "fake-v1-value", COUNT: 3 } } },
      },
    });
  });
  after(() => vault.close());

  test("KV v2: every searched name comes from one read of secret/data/app, byte for byte", async () => {
    vault.reset();
    const dir = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [${REQUIRED.join(", ")}]\n  optional: [EMPTY]\n`,
    });
    const result = await tesseraAsync(["export", "--format", "json"], {
      cwd: dir,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), TRICKY_TEXT);
    const calls = vault.calls();
    assert.equal(calls.length, 1, "one read serves every name");
    assert.equal(calls[0]!.method, "GET");
    assert.equal(calls[0]!.path, "/v1/secret/data/app");
    assert.equal(calls[0]!.headers["x-vault-token"], TOKEN);
    assert.equal(calls[0]!.headers["x-vault-namespace"], undefined);
  });

  test("the values reach a `tessera run` child unchanged", async () => {
    const dir = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [${REQUIRED.join(", ")}]\n  optional: [EMPTY]\n`,
      "print.mjs": `process.stdout.write(JSON.stringify(Object.fromEntries(${JSON.stringify(NAMES)}.map((n) => [n, process.env[n]]))));\n`,
    });
    const result = await tesseraAsync(["run", "--no-mask", "--", process.execPath, "print.mjs"], {
      cwd: dir,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), TRICKY_TEXT);
  });

  test("KV v1: GET /v1/{mount}/{path}, the fields are `data`", async () => {
    vault.reset();
    const dir = project({
      "tessera.yaml": `${source(vault, "mount: kv, version: v1, path: legacy")}secrets:\n  required: [OLD_KEY]\nconfig:\n  COUNT: { required: true }\n`,
    });
    const result = await tesseraAsync(["export", "--format", "json"], {
      cwd: dir,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), { OLD_KEY: "fake-v1-value", COUNT: "3" });
    assert.deepEqual(
      vault.calls().map((call) => call.path),
      ["/v1/kv/legacy"],
    );
    const explain = await tesseraAsync(["explain", "OLD_KEY"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.match(explain.stdout, /vault source "hv" kv\/legacy#OLD_KEY/);
  });

  test("version: v1 against a KV v2 mount is refused with a hint (E_SOURCE_INVALID, exit 4)", async () => {
    const dir = project({
      "tessera.yaml": `${source(vault, "version: v1, path: app")}secrets:\n  required: [PORT]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 4, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_INVALID.*vault source "hv": secret\/app: secret is a KV version 2 engine/,
    );
    assert.match(result.stderr, /set version: v2/);
  });

  test("a mount that does not exist is E_SOURCE_INVALID naming it", async () => {
    const dir = project({
      "tessera.yaml": `${source(vault, "mount: nope, path: app")}secrets:\n  required: [PORT]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /vault source "hv": nope\/data\/app: no secrets engine is mounted at nope/);
  });

  test("from: key is a path under the mount, property a field; one read per distinct path", async () => {
    vault.reset();
    const dir = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:
  required:
    - name: DB_USER
      from: { source: hv, key: team/db, property: username }
    - name: DB_PASSWORD
      from: { source: hv, key: team/db, property: password }
    - name: API_KEY
      from: { source: hv, key: /team/api/ }
    - PORT
`,
    });
    const result = await tesseraAsync(["export", "--format", "json"], {
      cwd: dir,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), {
      DB_USER: "app_user",
      DB_PASSWORD: "fake-db-pass-1",
      API_KEY: "fake-api-key-2",
      PORT: "5432",
    });
    assert.deepEqual(
      vault
        .calls()
        .map((call) => call.path)
        .sort(),
      ["/v1/secret/data/app", "/v1/secret/data/team/api", "/v1/secret/data/team/db"],
    );
    const explain = await tesseraAsync(["explain", "DB_PASSWORD"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(explain.status, 0, explain.stderr);
    assert.match(explain.stdout, /vault source "hv" secret\/data\/team\/db#password/);
    noLeak(explain.stdout, "fake-db-pass-1");
    const single = await tesseraAsync(["explain", "API_KEY"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.match(single.stdout, /vault source "hv" secret\/data\/team\/api#key/);
  });

  test('explain shows where a searched name was found: vault source "NAME" secret/data/app#NAME', async () => {
    const dir = project({
      "tessera.yaml": `${source(vault)}secrets:\n  required:\n    - name: password\n      from: { source: hv, key: app, property: QUOTES }\n`,
    });
    const searched = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [QUOTES]\n`,
    });
    const explain = await tesseraAsync(["explain", "QUOTES"], { cwd: searched, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(explain.status, 0, explain.stderr);
    assert.match(explain.stdout, /✓ vault source "hv" secret\/data\/app#QUOTES/);
    const ref = await tesseraAsync(["explain", "password"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.match(ref.stdout, /vault source "hv" secret\/data\/app#QUOTES/);
    noLeak(explain.stdout + ref.stdout, TRICKY.QUOTES as string);
  });

  test("from: without property on a secret of several fields asks for one (exit 4), naming fields only", async () => {
    const dir = project({
      "tessera.yaml": `${source(vault)}secrets:\n  required:\n    - name: DB\n      from: { source: hv, key: team/db }\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 4, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_INVALID.*vault source "hv": secret\/data\/team\/db has 2 fields \(username, password\)/,
    );
    assert.match(result.stderr, /property: FIELD/);
    noLeak(result.stderr, "fake-db-pass-1", "app_user");
  });

  test("path: is interpolated, TESSERA_ENV being the profile", async () => {
    const dir = project({
      "tessera.yaml": `${source(vault, 'path: "app/${TESSERA_ENV}"')}config:\n  MODE: { required: true }\nprofiles:\n  prod: {}\n  dev: {}\n`,
    });
    for (const [profile, mode] of [
      ["prod", "production"],
      ["dev", "development"],
    ]) {
      const result = await tesseraAsync(["export", "--env", profile!, "--format", "json"], {
        cwd: dir,
        env: { VAULT_TOKEN: TOKEN },
      });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(json(result.stdout), { MODE: mode });
    }
  });

  test("a name a higher layer sets is not fetched; nothing to fetch, no request", async () => {
    vault.reset();
    const dir = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [PORT]\n`,
      ".env": "PORT=1\n",
    });
    const result = await tesseraAsync(["export", "--format", "json"], {
      cwd: dir,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), { PORT: "1" });
    assert.equal(vault.calls().length, 0);
  });
});

describe("vault: missing values", () => {
  let vault: FakeServer;
  before(async () => {
    vault = await startVault({
      tokens: [TOKEN],
      mounts: { secret: { version: 2, secrets: { app: { HAVE: "x-have" } } } },
    });
  });
  after(() => vault.close());

  test("a missing optional name is left out; a missing required one exits 3 naming it and the source", async () => {
    const optional = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [HAVE]\n  optional: [NOPE]\n`,
    });
    const ok = await tesseraAsync(["export", "--format", "json"], {
      cwd: optional,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(json(ok.stdout), { HAVE: "x-have" });

    const required = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [HAVE, NOPE]\n`,
    });
    const missing = await tesseraAsync(["check"], { cwd: required, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(missing.status, 3, missing.stderr);
    assert.match(missing.stderr, /E_MISSING_REQUIRED/);
    assert.match(missing.stderr, /NOPE\n\s+looked in: .*vault source "hv"/);
  });

  test("a path that does not exist (404): every name of it is missing, not an error", async () => {
    const dir = project({
      "tessera.yaml": `${source(vault, "path: no/such/path")}secrets:\n  required: [HAVE]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stderr, /HAVE\n\s+looked in: .*vault source "hv"/);
  });

  test("a from: field that is not in the secret is missing (exit 3)", async () => {
    const dir = project({
      "tessera.yaml": `${source(vault)}secrets:\n  required:\n    - name: X\n      from: { source: hv, key: app, property: other }\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stderr, /E_MISSING_REQUIRED/);
  });

  test("without path:, a source serves only from: references (searched names are missing)", async () => {
    vault.reset();
    const dir = project({ "tessera.yaml": `${source(vault)}secrets:\n  optional: [HAVE]\n` });
    const result = await tesseraAsync(["export", "--format", "json"], {
      cwd: dir,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), {});
    assert.equal(vault.calls().length, 0);
  });
});

describe("vault: authentication", () => {
  let vault: FakeServer;
  before(async () => {
    vault = await startVault({
      tokens: [TOKEN],
      mounts: {
        secret: {
          version: 2,
          secrets: { app: { DB_PASSWORD: "fake-pass-auth" }, other: { ONLY: "fake-other" } },
        },
      },
      approle: { mount: "approle-ci", roleId: "role-1234", secretId: SECRET_ID, issues: ISSUED },
      kubernetes: { mount: "k8s-prod", role: "web", jwt: JWT, issues: `${ISSUED}-k8s` },
    });
  });
  after(() => vault.close());

  const manifest = (vaultServer: FakeServer, auth: string) =>
    `${source(vaultServer, `path: app, auth: ${auth}`)}secrets:\n  required:\n    - DB_PASSWORD\n    - name: ONLY\n      from: { source: hv, key: other, property: ONLY }\n`;

  test("token: VAULT_TOKEN, a tokenEnv of one's own, then ~/.vault-token under HOME", async () => {
    const plain = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [DB_PASSWORD]\n`,
    });
    const fromEnv = await tesseraAsync(["export", "--format", "json"], {
      cwd: plain,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.deepEqual(json(fromEnv.stdout), { DB_PASSWORD: "fake-pass-auth" }, fromEnv.stderr);

    const custom = project({
      "tessera.yaml": manifest(vault, "{ method: token, tokenEnv: APP_VAULT_TOKEN }"),
    });
    const fromCustom = await tesseraAsync(["export", "--format", "json"], {
      cwd: custom,
      env: { APP_VAULT_TOKEN: TOKEN, VAULT_TOKEN: "hvs.wrong-one" },
    });
    assert.equal(fromCustom.status, 0, fromCustom.stderr);

    const home = project({ ".vault-token": `${TOKEN}\n` });
    vault.reset();
    const fromFile = await tesseraAsync(["export", "--format", "json"], { cwd: plain, env: { HOME: home } });
    assert.equal(fromFile.status, 0, fromFile.stderr);
    assert.equal(vault.calls()[0]!.headers["x-vault-token"], TOKEN);
  });

  test("no token anywhere: E_SOURCE_AUTH (exit 5) with a hint, before any request", async () => {
    vault.reset();
    const dir = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [DB_PASSWORD]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { HOME: project() } });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_AUTH.*vault source "hv": no token: VAULT_TOKEN is not set and there is no ~\/\.vault-token/,
    );
    assert.match(result.stderr, /vault login/);
    assert.equal(vault.calls().length, 0);
  });

  test("a token Vault does not know: E_SOURCE_AUTH, the token never shown", async () => {
    const dir = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [DB_PASSWORD]\n`,
    });
    const result = await tesseraAsync(["check"], {
      cwd: dir,
      env: { VAULT_TOKEN: "hvs.unknown-fake-token-77" },
    });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_AUTH.*vault source "hv": secret\/data\/app: the token is not valid/,
    );
    noLeak(result.stderr, "hvs.unknown-fake-token-77");
  });

  test("AppRole: one login (POST auth/<path>/login {role_id, secret_id}), its token for every read", async () => {
    vault.reset();
    const dir = project({
      "tessera.yaml": manifest(vault, "{ method: approle, roleId: role-1234, path: approle-ci }"),
    });
    const result = await tesseraAsync(["export", "--format", "json"], {
      cwd: dir,
      env: { VAULT_SECRET_ID: SECRET_ID, VAULT_TOKEN: TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), { DB_PASSWORD: "fake-pass-auth", ONLY: "fake-other" });
    const logins = vault.calls(/^POST /);
    assert.equal(logins.length, 1, "one login per run");
    assert.equal(logins[0]!.path, "/v1/auth/approle-ci/login");
    assert.deepEqual(JSON.parse(logins[0]!.body), { role_id: "role-1234", secret_id: SECRET_ID });
    assert.equal(logins[0]!.headers["x-vault-token"], undefined);
    const reads = vault.calls(/^GET /);
    assert.equal(reads.length, 2);
    for (const read of reads) assert.equal(read.headers["x-vault-token"], ISSUED);
  });

  test("AppRole: secretIdEnv; a refused login or a missing secret id is E_SOURCE_AUTH, never echoing it", async () => {
    const dir = project({
      "tessera.yaml": manifest(
        vault,
        "{ method: approle, roleId: role-1234, path: approle-ci, secretIdEnv: CI_SECRET_ID }",
      ),
    });
    const ok = await tesseraAsync(["check"], { cwd: dir, env: { CI_SECRET_ID: SECRET_ID } });
    assert.equal(ok.status, 0, ok.stderr);

    const refused = await tesseraAsync(["check"], {
      cwd: dir,
      env: { CI_SECRET_ID: "fake-wrong-secret-id-31" },
    });
    assert.equal(refused.status, 5, refused.stderr);
    assert.match(
      refused.stderr,
      /E_SOURCE_AUTH.*vault source "hv": AppRole login at auth\/approle-ci: the login was refused: invalid role or secret ID \(HTTP 400\)/,
    );
    noLeak(refused.stderr, "fake-wrong-secret-id-31");

    const unset = await tesseraAsync(["check"], { cwd: dir });
    assert.equal(unset.status, 5, unset.stderr);
    assert.match(unset.stderr, /E_SOURCE_AUTH.*AppRole login: CI_SECRET_ID is not set/);

    const wrongMount = project({ "tessera.yaml": manifest(vault, "{ method: approle, roleId: role-1234 }") });
    const noRoute = await tesseraAsync(["check"], { cwd: wrongMount, env: { VAULT_SECRET_ID: SECRET_ID } });
    assert.equal(noRoute.status, 5, noRoute.stderr);
    assert.match(noRoute.stderr, /E_SOURCE_AUTH.*AppRole login at auth\/approle: no such auth method/);
  });

  test("Kubernetes: POST auth/<mountPath>/login {role, jwt}, the JWT read from jwtPath", async () => {
    vault.reset();
    const dir = project({
      "tessera.yaml": manifest(
        vault,
        "{ method: kubernetes, role: web, mountPath: k8s-prod, jwtPath: sa/token }",
      ),
      "sa/token": `${JWT}\n`,
    });
    const result = await tesseraAsync(["export", "--format", "json"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), { DB_PASSWORD: "fake-pass-auth", ONLY: "fake-other" });
    const logins = vault.calls(/^POST /);
    assert.equal(logins.length, 1);
    assert.equal(logins[0]!.path, "/v1/auth/k8s-prod/login");
    assert.deepEqual(JSON.parse(logins[0]!.body), { role: "web", jwt: JWT });
    for (const read of vault.calls(/^GET /)) assert.equal(read.headers["x-vault-token"], `${ISSUED}-k8s`);
  });

  test("Kubernetes: a JWT Vault refuses, or none at jwtPath, is E_SOURCE_AUTH", async () => {
    const refused = project({
      "tessera.yaml": manifest(
        vault,
        "{ method: kubernetes, role: web, mountPath: k8s-prod, jwtPath: token }",
      ),
      token: "eyJ.fake-other-jwt.x\n",
    });
    const bad = await tesseraAsync(["check"], { cwd: refused });
    assert.equal(bad.status, 5, bad.stderr);
    assert.match(
      bad.stderr,
      /E_SOURCE_AUTH.*Kubernetes login at auth\/k8s-prod: the login was refused: permission denied \(HTTP 403\)/,
    );
    noLeak(bad.stderr, "eyJ.fake-other-jwt.x");

    const none = project({
      "tessera.yaml": manifest(vault, "{ method: kubernetes, role: web, jwtPath: /nonexistent/sa/token }"),
    });
    const missing = await tesseraAsync(["check"], { cwd: none });
    assert.equal(missing.status, 5, missing.stderr);
    assert.match(
      missing.stderr,
      /E_SOURCE_AUTH.*cannot read the service account token \/nonexistent\/sa\/token \(ENOENT\)/,
    );
  });

  test("VAULT_TOKEN and VAULT_SECRET_ID do not reach a `tessera run` child unless declared", async () => {
    const files = {
      "print.mjs": "process.stdout.write(JSON.stringify(process.env));\n",
    };
    const undeclared = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [DB_PASSWORD]\n`,
      ...files,
    });
    const env = { VAULT_TOKEN: TOKEN, VAULT_SECRET_ID: SECRET_ID };
    const hidden = await tesseraAsync(["run", "--no-mask", "--", process.execPath, "print.mjs"], {
      cwd: undeclared,
      env,
    });
    assert.equal(hidden.status, 0, hidden.stderr);
    const childEnv = json(hidden.stdout);
    assert.equal(childEnv.DB_PASSWORD, "fake-pass-auth");
    assert.ok(!("VAULT_TOKEN" in childEnv), "VAULT_TOKEN reached the child");
    assert.ok(!("VAULT_SECRET_ID" in childEnv), "VAULT_SECRET_ID reached the child");

    const declared = project({
      "tessera.yaml": `${source(vault, "path: app")}secrets:\n  required: [DB_PASSWORD, VAULT_TOKEN]\n`,
      ...files,
    });
    const passed = await tesseraAsync(["run", "--no-mask", "--", process.execPath, "print.mjs"], {
      cwd: declared,
      env,
    });
    assert.equal(passed.status, 0, passed.stderr);
    assert.equal(json(passed.stdout).VAULT_TOKEN, TOKEN);
  });
});

describe("vault: namespaces and TLS", () => {
  let tls: Tls;
  let secure: FakeServer;
  let namespaced: FakeServer;
  before(async () => {
    tls = selfSignedCert();
    const mounts = { secret: { version: 2 as const, secrets: { app: { TLS_VALUE: "fake-over-tls" } } } };
    secure = await startVault({ tokens: [TOKEN], mounts, tls });
    namespaced = await startVault({ tokens: [TOKEN], mounts, namespace: "team-a/dev" });
  });
  after(async () => {
    await secure.close();
    await namespaced.close();
  });

  test("namespace: sends X-Vault-Namespace (VAULT_NAMESPACE is the default)", async () => {
    namespaced.reset();
    const body = "secrets:\n  required: [TLS_VALUE]\n";
    const written = project({
      "tessera.yaml": `${source(namespaced, 'path: app, namespace: "team-a/dev"')}${body}`,
    });
    const result = await tesseraAsync(["export", "--format", "json"], {
      cwd: written,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), { TLS_VALUE: "fake-over-tls" });
    assert.equal(namespaced.calls()[0]!.headers["x-vault-namespace"], "team-a/dev");

    const fromEnv = project({ "tessera.yaml": `${source(namespaced, "path: app")}${body}` });
    const viaEnv = await tesseraAsync(["check"], {
      cwd: fromEnv,
      env: { VAULT_TOKEN: TOKEN, VAULT_NAMESPACE: "team-a/dev" },
    });
    assert.equal(viaEnv.status, 0, viaEnv.stderr);
    const without = await tesseraAsync(["check"], { cwd: fromEnv, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(without.status, 5, "outside the namespace the token is refused");
    assert.match(without.stderr, /E_SOURCE_DENIED/);
  });

  test("caCert: trusts that PEM for an https Vault (VAULT_CACERT is the default)", async () => {
    const dir = project({
      "tessera.yaml": `${source(secure, "path: app, caCert: certs/ca.pem")}secrets:\n  required: [TLS_VALUE]\n`,
      "certs/ca.pem": tls.cert,
    });
    const result = await tesseraAsync(["export", "--format", "json"], {
      cwd: dir,
      env: { VAULT_TOKEN: TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), { TLS_VALUE: "fake-over-tls" });

    const viaEnv = project({
      "tessera.yaml": `${source(secure, "path: app")}secrets:\n  required: [TLS_VALUE]\n`,
    });
    const env = await tesseraAsync(["check"], {
      cwd: viaEnv,
      env: { VAULT_TOKEN: TOKEN, VAULT_CACERT: tls.certFile },
    });
    assert.equal(env.status, 0, env.stderr);
  });

  test("an https Vault whose CA is not trusted: E_SOURCE_UNREACHABLE at once, with the caCert hint", async () => {
    secure.reset();
    const dir = project({
      "tessera.yaml": `${source(secure, "path: app")}secrets:\n  required: [TLS_VALUE]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_UNREACHABLE.*vault source "hv": cannot verify the TLS certificate of https:\/\/localhost:\d+ \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
    );
    assert.match(result.stderr, /caCert/);
    assert.equal(secure.calls().length, 0, "no request got through");

    const unreadable = project({
      "tessera.yaml": `${source(secure, "path: app, caCert: missing.pem")}secrets:\n  required: [TLS_VALUE]\n`,
    });
    const invalid = await tesseraAsync(["check"], { cwd: unreadable, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(invalid.status, 4, invalid.stderr);
    assert.match(
      invalid.stderr,
      /E_SOURCE_INVALID.*cannot read the CA certificate .*missing\.pem \(ENOENT\)/,
    );
  });
});

describe("vault: failures", () => {
  let vault: FakeServer;
  before(async () => {
    vault = await startVault({
      tokens: [TOKEN],
      mounts: {
        secret: { version: 2, secrets: { app: { VALUE: "fake-failure-value" }, forbidden: { X: "fake-x" } } },
      },
      deny: ["secret/data/forbidden"],
    });
  });
  after(() => vault.close());

  const manifest = (vaultServer: FakeServer, extra = "") =>
    `${source(vaultServer, `path: app${extra}`)}secrets:\n  required: [VALUE]\n`;

  test("403 permission denied: E_SOURCE_DENIED (exit 5) naming the source and the path", async () => {
    const dir = project({
      "tessera.yaml": `${source(vault)}secrets:\n  required:\n    - name: X\n      from: { source: hv, key: forbidden, property: X }\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /error\[E_SOURCE_DENIED\]: tessera\.yaml:\d+:\d+: vault source "hv": secret\/data\/forbidden: permission denied \(HTTP 403\)/,
    );
    assert.match(result.stderr, /policies/);
    noLeak(result.stderr, "fake-x");
  });

  test("connection refused: E_SOURCE_UNREACHABLE (exit 5) naming the address", async () => {
    const port = await closedPort();
    const dir = project({
      "tessera.yaml": `sources:\n  - { type: vault, name: hv, path: app }\nsecrets:\n  required: [VALUE]\n`,
    });
    const result = await tesseraAsync(["check"], {
      cwd: dir,
      env: { VAULT_TOKEN: TOKEN, VAULT_ADDR: `http://127.0.0.1:${port}` },
    });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `E_SOURCE_UNREACHABLE.*vault source "hv": cannot connect to http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`,
      ),
    );
    noLeak(result.stderr);
  });

  test("a sealed Vault: E_SOURCE_UNREACHABLE with the hint that it is sealed", async () => {
    const sealed = await startVault({ tokens: [TOKEN], sealed: true });
    try {
      const dir = project({ "tessera.yaml": manifest(sealed) });
      const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
      assert.equal(result.status, 5, result.stderr);
      assert.match(
        result.stderr,
        /E_SOURCE_UNREACHABLE.*vault source "hv": secret\/data\/app: the Vault is sealed/,
      );
      assert.match(result.stderr, /hint: the Vault is sealed/);
    } finally {
      await sealed.close();
    }
  });

  for (const [label, fault] of [
    [
      "429 (rate limited)",
      { status: 429, body: { errors: ['request path "secret/data/app": rate limit quota exceeded'] } },
    ],
    ["500", { status: 500, body: { errors: ["internal error"] } }],
    ["502 from a proxy (not JSON)", { status: 502, body: "<html>Bad Gateway</html>" }],
    ["a dropped connection", { reset: true as const }],
  ] as const) {
    test(`${label}, then 200: retried, the value served`, async () => {
      vault.reset();
      vault.inject(fault, { match: /^GET /, times: 1 });
      const dir = project({ "tessera.yaml": manifest(vault) });
      const result = await tesseraAsync(["export", "--format", "json"], {
        cwd: dir,
        env: { VAULT_TOKEN: TOKEN },
      });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(json(result.stdout), { VALUE: "fake-failure-value" });
      assert.equal(vault.calls().length, 2);
    });
  }

  test("500 on every attempt: E_SOURCE_FAILED (exit 5) after three attempts", async () => {
    vault.reset();
    vault.inject({ status: 500, body: { errors: ["internal error"] } }, { times: 10 });
    const dir = project({ "tessera.yaml": manifest(vault) });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_FAILED.*vault source "hv": secret\/data\/app: internal error \(HTTP 500\)/,
    );
    assert.equal(vault.calls().length, 3);
  });

  test("timeout: 500ms and a Vault that never answers: E_SOURCE_UNREACHABLE in bounded time", async () => {
    vault.reset();
    vault.inject({ hang: true }, { times: 10 });
    const dir = project({ "tessera.yaml": manifest(vault, ", timeout: 500ms") });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 5, result.stderr);
    assert.match(result.stderr, /E_SOURCE_UNREACHABLE.*vault source "hv": no answer within 500 ms/);
    assert.equal(vault.calls().length, 3, "three attempts");
    assert.ok(result.ms < 6000, `took ${result.ms} ms`);
  });

  test("no address: E_SOURCE_INVALID (exit 4); an address that is not a URL likewise", async () => {
    const none = project({
      "tessera.yaml": "sources:\n  - { type: vault, name: hv, path: app }\nsecrets:\n  required: [VALUE]\n",
    });
    const result = await tesseraAsync(["check"], { cwd: none, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /E_SOURCE_INVALID.*vault source "hv": no address/);
    assert.match(result.stderr, /VAULT_ADDR/);

    const bad = project({
      "tessera.yaml":
        "sources:\n  - { type: vault, name: hv, path: app, address: vault.example:8200 }\nsecrets:\n  required: [VALUE]\n",
    });
    const notUrl = await tesseraAsync(["check"], { cwd: bad, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(notUrl.status, 4, notUrl.stderr);
    assert.match(notUrl.stderr, /E_SOURCE_INVALID.*address is not an http\(s\) URL/);
  });

  test("a token file path in a message never reveals the token; values never appear in errors", async () => {
    vault.reset();
    vault.inject({ status: 403, body: { errors: [`permission denied for token ${TOKEN}`] } }, { times: 1 });
    const dir = project({ "tessera.yaml": manifest(vault) });
    const result = await tesseraAsync(["check"], { cwd: dir, env: { VAULT_TOKEN: TOKEN } });
    assert.equal(result.status, 5, result.stderr);
    assert.match(result.stderr, /E_SOURCE_DENIED/);
    noLeak(result.stderr, "fake-failure-value");
  });
});
