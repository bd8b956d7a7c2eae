/**
 * JSON as ZooKeeper's admin server writes it with Jackson: 64-bit numbers (session ids,
 * zxids) printed exactly, which `JSON.stringify` cannot do with bigints.
 *
 * @module
 */

/** Pretty-printed JSON where bigints are written as exact integer literals. */
export function toJson(value: unknown): string {
  return write(value, '');
}

function write(value: unknown, indent: string): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      // Jackson quotes what is not a number: "NaN", "Infinity" (an empty summary's quantiles).
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case 'boolean':
      return String(value);
    case 'string':
      return JSON.stringify(value);
    default:
      break;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[ ]';
    return `[ ${value.map((item) => write(item, inner)).join(', ')} ]`;
  }
  const entries =
    value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>);
  const shown = entries.filter(([, item]) => item !== undefined);
  if (shown.length === 0) return '{ }';
  return `{\n${shown.map(([key, item]) => `${inner}${JSON.stringify(String(key))} : ${write(item, inner)}`).join(',\n')}\n${indent}}`;
}
