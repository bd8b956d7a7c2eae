/**
 * Schemas: one declaration per message or record that drives both its encoder and its
 * decoder, so the two cannot drift apart. A schema is typed against the value it encodes
 * (`struct<Vote>({...})` must name every field of Vote, each with a schema of its type),
 * and compiles once, at module load, into a pair of plain functions: the code a careful
 * hand would write (one call per field, object literals of a fixed shape), so the hot
 * path costs what hand-written code cost. Generated code calls only the Writer and Reader
 * primitives and the constants a schema hands it; no input ever reaches the generator.
 *
 * Field order is encoding order: reordering the fields of a schema changes the bytes, and
 * the golden-byte tests fail until that is made on purpose. Union tags are explicit
 * numbers (see tags.ts), never positions in a list.
 *
 * A third function, `size`, gives the bytes `write` would write without writing them, for
 * callers that want only a length (a metric of proposal sizes). It checks nothing: for a
 * value `write` would refuse, its answer means nothing.
 */
import {
  dataBytes,
  intBytes,
  nullableDataBytes,
  type Reader,
  stringBytes,
  varuintBytes,
  type Writer,
} from './bytes.js';
import { joinPath, nestError } from './codec-error.js';

/** The code one schema node contributes to a reader: statements, and the expression holding the value read. */
interface ReadCode {
  readonly code: string;
  readonly result: string;
}

/** Names locals and collects the values generated code refers to. */
class Generator {
  private count = 0;
  readonly constants: unknown[] = [];

  local(hint: string): string {
    return `${hint}${this.count++}`;
  }

  /** A name generated code uses for `value`. */
  constant(value: unknown): string {
    let index = this.constants.indexOf(value);
    if (index < 0) {
      index = this.constants.length;
      this.constants.push(value);
    }
    return `k${index}`;
  }
}

const literal = (text: string) => JSON.stringify(text);

/** The local the statements of a size function add each part's bytes to. */
const size = 'size';

/** How a value of type T is written and read. Build one with the functions below. */
export abstract class Schema<T> {
  /** Never set: makes Schema<T> invariant in T, so a field's schema must match its type exactly. */
  declare readonly valueType: (value: T) => T;
  /** Statements writing the value of expression `value` with the Writer `w`. */
  abstract emitWrite(g: Generator, value: string, path: string): string;
  /** Statements reading a value with the Reader `r`. */
  abstract emitRead(g: Generator, path: string): ReadCode;
  /** Statements adding to `size` the bytes emitWrite would write for expression `value`. */
  abstract emitSize(g: Generator, value: string): string;
}

/** A compiled schema. */
export interface Codec<T> {
  write(w: Writer, value: T): void;
  read(r: Reader): T;
  /** The bytes `write` writes for a value it accepts (unchecked: see the module comment). */
  size(value: T): number;
}

/** Turns a schema into its two functions. Paths in errors start at the value's root. */
export function compile<T>(schema: Schema<T>): Codec<T> {
  const g = new Generator();
  const write = schema.emitWrite(g, 'value', '');
  const read = schema.emitRead(g, '');
  const sized = schema.emitSize(g, 'value');
  const constants = g.constants.map((_value, index) => `const k${index} = constants[${index}];`).join('\n');
  const source = `${constants}
return {
  write(w, value) {
${write}
  },
  read(r) {
${read.code}
    return ${read.result};
  },
  size(value) {
    let ${size} = 0;
${sized}
    return ${size};
  },
};`;
  // The source is built from schemas declared in this package; no input ever reaches it.
  return new Function('constants', source)(g.constants) as Codec<T>;
}

/** A primitive: one Writer and one Reader method of the same name, with fixed extra arguments. */
class Primitive<T> extends Schema<T> {
  constructor(
    private readonly method: 'int' | 'bool' | 'zxid' | 'int64' | 'string' | 'data' | 'nullableData',
    private readonly extra = '',
  ) {
    super();
  }

  emitSize(g: Generator, value: string): string {
    switch (this.method) {
      case 'bool':
        return `${size} += 1;`;
      case 'zxid':
        return `${size} += 8;`;
      case 'int64':
        return `${size} += 9;`;
      case 'int':
        return `${size} += ${g.constant(intBytes)}(${value});`;
      case 'string':
        return `${size} += ${g.constant(stringBytes)}(${value});`;
      case 'data':
        return `${size} += ${g.constant(dataBytes)}(${value});`;
      case 'nullableData':
        return `${size} += ${g.constant(nullableDataBytes)}(${value});`;
    }
  }

  emitWrite(_g: Generator, value: string, path: string): string {
    return `w.${this.method}(${value}, ${literal(path)}${this.extra});`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const v = g.local('v');
    return { code: `const ${v} = r.${this.method}(${literal(path)}${this.extra});`, result: v };
  }
}

/** An integer in `min..max` (both safe integers). */
export function integer(min: number, max: number): Schema<number> {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max)
    throw new RangeError(`bad integer range ${min}..${max}`);
  return new Primitive<number>('int', `, ${min}, ${max}`);
}

/** A boolean: one byte, 0 or 1. */
export const boolean: Schema<boolean> = new Primitive<boolean>('bool');
/** A UTF-8 string, at most `stringBytesMax` bytes. */
export const string: Schema<string> = new Primitive<string>('string');
/** A byte array, at most `dataBytesMax` bytes; decoded as a copy. */
export const data: Schema<Uint8Array> = new Primitive<Uint8Array>('data');
/** Znode data: a byte array as `data`, or null (ZooKeeper keeps the two apart). */
export const nullableData: Schema<Uint8Array | null> = new Primitive<Uint8Array | null>('nullableData');
/** A signed 64-bit bigint. */
export const int64: Schema<bigint> = new Primitive<bigint>('int64');

/** A branded signed 64-bit bigint (a session id): decoding restores what a server encoded. */
export function brandedInt64<B extends bigint>(): Schema<B> {
  return new Primitive<B>('int64');
}

/** A byte array of `min..max` bytes (within `dataBytesMax` too), checked both ways. */
class BoundedData extends Schema<Uint8Array> {
  constructor(
    private readonly what: string,
    private readonly min: number,
    private readonly max: number,
  ) {
    super();
  }

  emitWrite(_g: Generator, value: string, path: string): string {
    return `if (${value}.length < ${this.min} || ${value}.length > ${this.max})
  throw w.fail(${literal(path)}, ${literal(`${this.what} of `)} + ${value}.length + ${literal(` bytes, not ${this.min}..${this.max}`)});
w.data(${value}, ${literal(path)});`;
  }

  emitSize(g: Generator, value: string): string {
    return `${size} += ${g.constant(dataBytes)}(${value});`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const v = g.local('v');
    return {
      code: `const ${v} = r.data(${literal(path)});
if (${v}.length < ${this.min} || ${v}.length > ${this.max})
  throw r.fail(${literal(path)}, ${literal(`${this.what} of `)} + ${v}.length + ${literal(` bytes, not ${this.min}..${this.max}`)});`,
      result: v,
    };
  }
}

/** A byte array of `min..max` bytes: `what` names it in errors. */
export function boundedData(what: string, min: number, max: number): Schema<Uint8Array> {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || min > max)
    throw new RangeError(`bad length range ${min}..${max}`);
  return new BoundedData(what, min, max);
}

/** A zxid (or any branded bigint of 64 unsigned bits). */
export function zxid<Z extends bigint>(): Schema<Z> {
  return new Primitive<Z>('zxid');
}

/** One of a fixed set of strings, each written as its one-byte tag. */
class Enumeration<T extends string> extends Schema<T> {
  private readonly byName: Map<string, number>;
  private readonly byTag: (string | undefined)[];

  constructor(
    private readonly what: string,
    tags: { readonly [K in T]: number },
  ) {
    super();
    this.byName = new Map(Object.entries<number>(tags));
    this.byTag = [];
    for (const [name, tag] of this.byName) {
      if (!Number.isInteger(tag) || tag < 0 || tag > 255)
        throw new RangeError(`${what} tag ${tag} is not a byte`);
      this.byTag[tag] = name;
    }
  }

  emitWrite(g: Generator, value: string, path: string): string {
    const tag = g.local('t');
    return `{ const ${tag} = ${g.constant(this.byName)}.get(${value});
if (${tag} === undefined) throw w.fail(${literal(path)}, ${literal(`unknown ${this.what}: `)} + String(${value}));
w.u8(${tag}); }`;
  }

  emitSize(): string {
    return `${size} += 1;`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const tag = g.local('t');
    const v = g.local('v');
    return {
      code: `const ${tag} = r.u8(${literal(path)}); const ${v} = ${g.constant(this.byTag)}[${tag}];
if (${v} === undefined) throw r.fail(${literal(path)}, ${literal(`unknown ${this.what} tag `)} + ${tag});`,
      result: v,
    };
  }
}

/** A string enumeration with explicit tags (see tags.ts). */
export function enumeration<T extends string>(what: string, tags: { readonly [K in T]: number }): Schema<T> {
  return new Enumeration<T>(what, tags);
}

/** An integer that must be one of a known set (error codes, create modes), written as an integer. */
class IntegerSet<T extends number> extends Schema<T> {
  private readonly allowed: ReadonlySet<number>;
  private readonly extra: string;

  constructor(
    private readonly what: string,
    values: readonly T[],
  ) {
    super();
    this.allowed = new Set(values);
    this.extra = `, ${Math.min(...values)}, ${Math.max(...values)}`;
  }

  emitWrite(g: Generator, value: string, path: string): string {
    return `if (!${g.constant(this.allowed)}.has(${value})) throw w.fail(${literal(path)}, ${literal(`unknown ${this.what}: `)} + String(${value}));
w.int(${value}, ${literal(path)}${this.extra});`;
  }

  emitSize(g: Generator, value: string): string {
    return `${size} += ${g.constant(intBytes)}(${value});`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const v = g.local('v');
    return {
      code: `const ${v} = r.int(${literal(path)}${this.extra});
if (!${g.constant(this.allowed)}.has(${v})) throw r.fail(${literal(path)}, ${literal(`unknown ${this.what} `)} + ${v});`,
      result: v,
    };
  }
}

/** An integer from a fixed set of values. */
export function integerSet<T extends number>(what: string, values: readonly T[]): Schema<T> {
  if (values.length === 0 || !values.every((v) => Number.isSafeInteger(v)))
    throw new RangeError(`${what}: needs safe integers`);
  return new IntegerSet<T>(what, values);
}

/** The schema of every field of T, in the order they are written. */
export type Fields<T> = { readonly [K in keyof T]-?: Schema<T[K]> };

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function fieldEntries(fields: object): [string, Schema<unknown>][] {
  const entries = Object.entries(fields) as [string, Schema<unknown>][];
  for (const [name] of entries)
    if (!identifier.test(name)) throw new Error(`field name ${name} is not an identifier`);
  return entries;
}

function emitFieldsWrite(
  g: Generator,
  fields: [string, Schema<unknown>][],
  object: string,
  path: string,
): string {
  return fields
    .map(([name, schema]) => schema.emitWrite(g, `${object}.${name}`, joinPath(path, name)))
    .join('\n');
}

function emitFieldsSize(g: Generator, fields: [string, Schema<unknown>][], object: string): string {
  return fields.map(([name, schema]) => schema.emitSize(g, `${object}.${name}`)).join('\n');
}

/** Reads every field, then builds the object in one literal (one shape for every value). */
function emitFieldsRead(
  g: Generator,
  fields: [string, Schema<unknown>][],
  path: string,
  leading: string,
): { code: string; literal: string } {
  const reads = fields.map(([name, schema]) => [name, schema.emitRead(g, joinPath(path, name))] as const);
  const code = reads.map(([, read]) => read.code).join('\n');
  const properties = reads.map(([name, read]) => `${name}: ${read.result}`);
  return { code, literal: `{ ${[leading, ...properties].filter((p) => p !== '').join(', ')} }` };
}

class Struct<T> extends Schema<T> {
  private readonly fields: [string, Schema<unknown>][];

  constructor(fields: Fields<T>) {
    super();
    this.fields = fieldEntries(fields);
  }

  emitWrite(g: Generator, value: string, path: string): string {
    const o = g.local('o');
    return `{ const ${o} = ${value};
if (${o} === null || typeof ${o} !== 'object') throw w.fail(${literal(path)}, 'not an object: ' + String(${o}));
${emitFieldsWrite(g, this.fields, o, path)} }`;
  }

  emitSize(g: Generator, value: string): string {
    const o = g.local('o');
    return `{ const ${o} = ${value};
${emitFieldsSize(g, this.fields, o)} }`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const o = g.local('o');
    const read = emitFieldsRead(g, this.fields, path, '');
    return { code: `${read.code}\nconst ${o} = ${read.literal};`, result: o };
  }
}

/** An object with fixed fields, written one after the other. */
export function struct<T>(fields: Fields<T>): Schema<T> {
  return new Struct<T>(fields);
}

/** A pair, as `[a, b]`. */
class Pair<A, B> extends Schema<readonly [A, B]> {
  constructor(
    private readonly first: Schema<A>,
    private readonly second: Schema<B>,
  ) {
    super();
  }

  emitWrite(g: Generator, value: string, path: string): string {
    const t = g.local('p');
    return `{ const ${t} = ${value};
if (!Array.isArray(${t}) || ${t}.length !== 2) throw w.fail(${literal(path)}, 'not a pair: ' + String(${t}));
${this.first.emitWrite(g, `${t}[0]`, joinPath(path, '[0]'))}
${this.second.emitWrite(g, `${t}[1]`, joinPath(path, '[1]'))} }`;
  }

  emitSize(g: Generator, value: string): string {
    const t = g.local('p');
    return `{ const ${t} = ${value};
${this.first.emitSize(g, `${t}[0]`)}
${this.second.emitSize(g, `${t}[1]`)} }`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const a = this.first.emitRead(g, joinPath(path, '[0]'));
    const b = this.second.emitRead(g, joinPath(path, '[1]'));
    const t = g.local('p');
    return { code: `${a.code}\n${b.code}\nconst ${t} = [${a.result}, ${b.result}];`, result: t };
  }
}

/** Two values side by side. */
export function pair<A, B>(first: Schema<A>, second: Schema<B>): Schema<readonly [A, B]> {
  return new Pair(first, second);
}

/** A varint count, then each element; an error inside names the element's index. */
class List<T> extends Schema<readonly T[]> {
  constructor(private readonly item: Schema<T>) {
    super();
  }

  emitWrite(g: Generator, value: string, path: string): string {
    const a = g.local('a');
    const i = g.local('i');
    const e = g.local('e');
    return `{ const ${a} = ${value}; w.listLength(${a}, ${literal(path)});
for (let ${i} = 0; ${i} < ${a}.length; ${i}++) {
  try { ${this.item.emitWrite(g, `${a}[${i}]`, '')} }
  catch (${e}) { throw ${g.constant(nestError)}(${e}, ${literal(path)} + '[' + ${i} + ']'); }
} }`;
  }

  emitSize(g: Generator, value: string): string {
    const a = g.local('a');
    const i = g.local('i');
    return `{ const ${a} = ${value}; ${size} += ${g.constant(varuintBytes)}(${a}.length);
for (let ${i} = 0; ${i} < ${a}.length; ${i}++) { ${this.item.emitSize(g, `${a}[${i}]`)} } }`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const n = g.local('n');
    const a = g.local('a');
    const i = g.local('i');
    const e = g.local('e');
    const item = this.item.emitRead(g, '');
    return {
      code: `const ${n} = r.listLength(${literal(path)}); const ${a} = new Array(${n});
for (let ${i} = 0; ${i} < ${n}; ${i}++) {
  try { ${item.code}
    ${a}[${i}] = ${item.result}; }
  catch (${e}) { throw ${g.constant(nestError)}(${e}, ${literal(path)} + '[' + ${i} + ']'); }
}`,
      result: a,
    };
  }
}

/** A list of values of one schema, at most `listLengthMax` long. */
export function list<T>(item: Schema<T>): Schema<readonly T[]> {
  return new List(item);
}

/** A presence byte (0 or 1), then the value when present. */
class Optional<T> extends Schema<T | undefined> {
  constructor(private readonly inner: Schema<T>) {
    super();
  }

  emitWrite(g: Generator, value: string, path: string): string {
    const v = g.local('o');
    return `{ const ${v} = ${value}; if (${v} === undefined) w.u8(0); else { w.u8(1); ${this.inner.emitWrite(g, v, path)} } }`;
  }

  emitSize(g: Generator, value: string): string {
    const v = g.local('o');
    return `{ const ${v} = ${value}; ${size} += 1; if (${v} !== undefined) { ${this.inner.emitSize(g, v)} } }`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const v = g.local('o');
    const inner = this.inner.emitRead(g, path);
    return {
      code: `let ${v}; if (r.bool(${literal(path)})) { ${inner.code}\n${v} = ${inner.result}; }`,
      result: v,
    };
  }
}

/** A value or undefined. */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> {
  return new Optional(inner);
}

/** A presence byte (0 or 1), then the value when not null: a jute ustring's null, say. */
class Nullable<T> extends Schema<T | null> {
  constructor(private readonly inner: Schema<T>) {
    super();
  }

  emitWrite(g: Generator, value: string, path: string): string {
    const v = g.local('o');
    return `{ const ${v} = ${value}; if (${v} === null) w.u8(0); else { w.u8(1); ${this.inner.emitWrite(g, v, path)} } }`;
  }

  emitSize(g: Generator, value: string): string {
    const v = g.local('o');
    return `{ const ${v} = ${value}; ${size} += 1; if (${v} !== null) { ${this.inner.emitSize(g, v)} } }`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const v = g.local('o');
    const inner = this.inner.emitRead(g, path);
    return {
      code: `let ${v} = null; if (r.bool(${literal(path)})) { ${inner.code}\n${v} = ${inner.result}; }`,
      result: v,
    };
  }
}

/** A value or null. */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return new Nullable(inner);
}

/** The fields of the member of union T whose discriminant D is K, without D. */
type VariantFields<T, D extends keyof T, K> = Fields<Omit<Extract<T, { readonly [P in D]: K }>, D>>;

/**
 * A tagged union: the member's tag as one byte, then its fields. At the root of a message
 * the member's name leads the paths in errors (`followerInfo.acceptedEpoch`); inside a
 * field the field's name does (`body.path`).
 */
class Union<T> extends Schema<T> {
  private readonly members: { name: string; tag: number; fields: [string, Schema<unknown>][] }[];

  constructor(
    private readonly discriminant: string,
    private readonly what: string,
    tags: Readonly<Record<string, number>>,
    variants: Readonly<Record<string, object>>,
  ) {
    super();
    const seen = new Map<number, string>();
    this.members = Object.entries(variants).map(([name, fields]) => {
      const tag = tags[name];
      if (tag === undefined || !Number.isInteger(tag) || tag < 0 || tag > 255)
        throw new RangeError(`${what} ${name} has no one-byte tag`);
      const other = seen.get(tag);
      if (other !== undefined) throw new RangeError(`${what} ${name} and ${other} share tag ${tag}`);
      seen.set(tag, name);
      return { name, tag, fields: fieldEntries(fields) };
    });
  }

  emitWrite(g: Generator, value: string, path: string): string {
    const o = g.local('o');
    const cases = this.members.map(({ name, tag, fields }) => {
      const at = path === '' ? name : path;
      return `case ${literal(name)}: w.u8(${tag});\n${emitFieldsWrite(g, fields, o, at)}\nbreak;`;
    });
    return `{ const ${o} = ${value};
if (${o} === null || typeof ${o} !== 'object') throw w.fail(${literal(path)}, 'not an object: ' + String(${o}));
switch (${o}.${this.discriminant}) {
${cases.join('\n')}
default: throw w.fail(${literal(path)}, ${literal(`not a ${this.what}: `)} + String(${o}.${this.discriminant}));
} }`;
  }

  emitSize(g: Generator, value: string): string {
    const o = g.local('o');
    const cases = this.members.map(
      ({ name, fields }) => `case ${literal(name)}: ${size} += 1;\n${emitFieldsSize(g, fields, o)}\nbreak;`,
    );
    return `{ const ${o} = ${value};
switch (${o}.${this.discriminant}) {
${cases.join('\n')}
} }`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const tag = g.local('t');
    const v = g.local('u');
    const cases = this.members.map(({ name, tag: number, fields }) => {
      const at = path === '' ? name : path;
      const read = emitFieldsRead(g, fields, at, `${this.discriminant}: ${literal(name)}`);
      return `case ${number}: {\n${read.code}\n${v} = ${read.literal};\nbreak; }`;
    });
    return {
      code: `const ${tag} = r.u8(${literal(path)}); let ${v};
switch (${tag}) {
${cases.join('\n')}
default: throw r.fail(${literal(path)}, ${literal(`unknown ${this.what} tag `)} + ${tag});
}`,
      result: v,
    };
  }
}

/**
 * A union discriminated by `discriminant`, with one explicit tag per member. `variants`
 * may cover a subset of the members (a multi's parts): only those are written and read.
 */
export function union<T extends { readonly [P in D]: string }, D extends keyof T & string>(
  discriminant: D,
  what: string,
  tags: { readonly [K in T[D]]: number },
  variants: { readonly [K in T[D]]: VariantFields<T, D, K> },
): Schema<T> {
  return new Union<T>(discriminant, what, tags, variants);
}

/** A schema compiled on its own and called where it is used: keeps each generated function small. */
class Named<T> extends Schema<T> {
  private compiled: Codec<T> | undefined;

  constructor(private readonly inner: Schema<T>) {
    super();
  }

  /** The compiled codec, built on first use. */
  codec(): Codec<T> {
    this.compiled ??= compile(this.inner);
    return this.compiled;
  }

  emitWrite(g: Generator, value: string, path: string): string {
    const c = g.constant(this.codec());
    if (path === '') return `${c}.write(w, ${value});`;
    const e = g.local('e');
    return `try { ${c}.write(w, ${value}); } catch (${e}) { throw ${g.constant(nestError)}(${e}, ${literal(path)}); }`;
  }

  emitSize(g: Generator, value: string): string {
    return `${size} += ${g.constant(this.codec())}.size(${value});`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const c = g.constant(this.codec());
    const v = g.local('v');
    if (path === '') return { code: `const ${v} = ${c}.read(r);`, result: v };
    const e = g.local('e');
    return {
      code: `let ${v}; try { ${v} = ${c}.read(r); } catch (${e}) { throw ${g.constant(nestError)}(${e}, ${literal(path)}); }`,
      result: v,
    };
  }
}

/** Compiles `inner` into functions of its own, which every use calls. */
export function named<T>(inner: Schema<T>): Schema<T> & { codec(): Codec<T> } {
  return new Named(inner);
}

/**
 * Keeps each value's encoding in `cache`, written once and reused: a leader logs a
 * transaction and proposes it to every follower, a follower logs the one it decoded.
 * Values must be immutable, and the cache entry goes with the value.
 */
class Memoized<T extends object> extends Schema<T> {
  constructor(
    private readonly inner: Schema<T>,
    private readonly cache: WeakMap<T, Uint8Array>,
  ) {
    super();
  }

  emitWrite(g: Generator, value: string, path: string): string {
    const o = g.local('o');
    const known = g.local('b');
    const start = g.local('s');
    const cache = g.constant(this.cache);
    return `{ const ${o} = ${value}; const ${known} = typeof ${o} === 'object' && ${o} !== null ? ${cache}.get(${o}) : undefined;
if (${known} !== undefined) w.kept(${known});
else { const ${start} = w.pos; ${this.inner.emitWrite(g, o, path)}
  ${cache}.set(${o}, w.copyFrom(${start})); } }`;
  }

  /** The kept encoding's length when there is one (a leader's proposal: it logged each txn first). */
  emitSize(g: Generator, value: string): string {
    const o = g.local('o');
    const known = g.local('b');
    return `{ const ${o} = ${value}; const ${known} = ${g.constant(this.cache)}.get(${o});
if (${known} !== undefined) ${size} += ${known}.length;
else { ${this.inner.emitSize(g, o)} } }`;
  }

  emitRead(g: Generator, path: string): ReadCode {
    const start = g.local('s');
    const inner = this.inner.emitRead(g, path);
    return {
      code: `const ${start} = r.position;\n${inner.code}\n${g.constant(this.cache)}.set(${inner.result}, r.copyFrom(${start}));`,
      result: inner.result,
    };
  }
}

/**
 * A value that often repeats the one read before it at the same place in a record (the ACL
 * of each znode of a snapshot chunk, of each create in a log record): when the bytes repeat,
 * the value read before is shared rather than decoded again. The encoding is the schema's
 * own; sharing is sound because decoding is deterministic and self-delimiting (equal bytes
 * read as an equal value of the same length), and only for immutable values.
 */
class Repeating<T> extends Schema<T> {
  /** This schema's place in every record, as Readers remember what was read there. */
  private readonly site = {};

  constructor(private readonly inner: Schema<T>) {
    super();
  }

  emitWrite(g: Generator, value: string, path: string): string {
    return this.inner.emitWrite(g, value, path);
  }

  emitSize(g: Generator, value: string): string {
    return this.inner.emitSize(g, value);
  }

  emitRead(g: Generator, path: string): ReadCode {
    const v = g.local('v');
    const start = g.local('s');
    const site = g.constant(this.site);
    const inner = this.inner.emitRead(g, path);
    return {
      code: `let ${v} = r.repeated(${site});
if (${v} === undefined) { const ${start} = r.position;
${inner.code}
  ${v} = ${inner.result}; r.remember(${site}, ${start}, ${v}); }`,
      result: v,
    };
  }
}

/** `inner`, shared with the value read before at the same place when its bytes repeat. */
export function repeating<T>(inner: Schema<T>): Schema<T> {
  return new Repeating(inner);
}

/** `inner`, with each value's encoding kept in `cache`. */
export function memoized<T extends object>(inner: Schema<T>, cache: WeakMap<T, Uint8Array>): Schema<T> {
  return new Memoized(inner, cache);
}
