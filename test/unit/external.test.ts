/** The pool and the retry policy every provider runs under (src/sources/external.ts). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { pool, retry } from "../../src/layers/external.ts";
import { ProviderError, refId } from "../../src/providers/types.ts";

describe("pool", () => {
  test("never runs more than its size at once, and keeps the input order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(5), { maxLength: 40 }),
        fc.integer({ min: 1, max: 10 }),
        async (delays, size) => {
          let running = 0;
          let most = 0;
          const out = await pool(delays, size, async (delay) => {
            running++;
            most = Math.max(most, running);
            await new Promise((resolve) => setTimeout(resolve, delay));
            running--;
            return delay * 2;
          });
          assert.deepEqual(
            out,
            delays.map((delay) => delay * 2),
          );
          assert.ok(most <= size, `${most} > ${size}`);
          if (delays.length >= size) assert.equal(most, size, "it does run size at once");
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("retry", () => {
  test("transient failures are retried (3 attempts in all), others are not", async () => {
    let calls = 0;
    await assert.rejects(
      retry(async () => {
        calls++;
        throw new ProviderError("unreachable", "connection refused");
      }, 1000),
      /connection refused/,
    );
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(
      retry(async () => {
        calls++;
        throw new ProviderError("denied", "permission denied");
      }, 1000),
      /permission denied/,
    );
    assert.equal(calls, 1);
    calls = 0;
    const value = await retry(async () => {
      calls++;
      if (calls < 3) throw new ProviderError("failed", "HTTP 503", { transient: true });
      return "ok";
    }, 1000);
    assert.equal(value, "ok");
    assert.equal(calls, 3);
  });

  test("each attempt has its own time limit, and its signal is aborted when it runs out", async () => {
    const signals: AbortSignal[] = [];
    const started = Date.now();
    await assert.rejects(
      retry((signal) => {
        signals.push(signal);
        return new Promise(() => {});
      }, 50),
      /no answer within 50 ms/,
    );
    assert.equal(signals.length, 3);
    assert.ok(signals.every((signal) => signal.aborted));
    assert.ok(Date.now() - started < 2000);
  });
});

test("refId keeps key and property apart", () => {
  assert.notEqual(refId("a#b", undefined), refId("a", "b"));
  assert.equal(refId("a", undefined), "a");
});
