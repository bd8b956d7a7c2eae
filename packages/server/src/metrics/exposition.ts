/**
 * What prom-client's text exposition needs to read as ZooKeeper's provider's does: a summary
 * with nothing observed in its window has quantiles of NaN there (the Prometheus Java client's),
 * and 0 from prom-client. A 0 would read as "no latency" to an alert; NaN says "no data".
 *
 * @module
 */

/** A sample line's labels, `name="value"` pairs with Prometheus's escapes. */
const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The labels of a sample but `quantile`, in a fixed order: what its `_count` line carries. */
function labelsKey(labels: string): string {
  return [...labels.matchAll(labelPattern)]
    .filter(([, name]) => name !== 'quantile')
    .map(([, name, value]) => `${name}=${value}`)
    .sort()
    .join(',');
}

/** A sample line: name, the labels between braces (or ''), and the value. */
const samplePattern = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;

/** The exposition with each quantile of a summary whose `_count` is 0 written as NaN. */
export function emptyQuantilesAsNaN(text: string): string {
  const lines = text.split('\n');
  const counts = new Map<string, number>();
  for (const line of lines) {
    const match = samplePattern.exec(line);
    if (match === null || !match[1]!.endsWith('_count')) continue;
    counts.set(`${match[1]!.slice(0, -'_count'.length)}|${labelsKey(match[2] ?? '')}`, Number(match[3]));
  }
  return lines
    .map((line) => {
      const match = samplePattern.exec(line);
      if (match === null || match[2] === undefined || !/(^|,)quantile="/.test(match[2])) return line;
      const count = counts.get(`${match[1]}|${labelsKey(match[2])}`);
      return count === 0 ? `${line.slice(0, line.length - match[3]!.length)}NaN` : line;
    })
    .join('\n');
}
