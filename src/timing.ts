/**
 * TESSERA_TIMING=1 prints where start-up time goes, on stderr: a diagnostic for slow starts (a slow
 * disk, a huge value file) that costs nothing when unset.
 */
const enabled = process.env.TESSERA_TIMING === "1";
const marks: [string, number][] = [];

export function mark(label: string): void {
  if (enabled) marks.push([label, performance.now()]);
}

export function report(): void {
  if (!enabled || marks.length === 0) return;
  let previous = 0;
  const parts = marks.map(([label, at]) => {
    const part = `${label} +${(at - previous).toFixed(2)}`;
    previous = at;
    return part;
  });
  process.stderr.write(`tessera: timing (ms since process start): ${parts.join(", ")}\n`);
}
