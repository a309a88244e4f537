// The Terraform module read without Terraform: every .tf file parsed by
// @cdktn/hcl2json (HCL → JSON, with real diagnostics), merged into one view,
// the references inside its expressions listed, and a small evaluator for the
// few expression forms the functions' environment uses, so tests can check the
// module against the code offline (no google provider is available here).

import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

// Loaded untyped on purpose: the package's .d.ts pulls the DOM library into the
// whole program (`/// <reference lib="dom" />`), which changes Node's fetch types.
const hcl = createRequire(import.meta.url)('@cdktn/hcl2json') as {
  parse(filename: string, contents: string): Promise<Record<string, unknown>>;
  getReferencesInExpression(filename: string, expression: string): Promise<{ value: string }[]>;
};

/** HCL text → JSON; rejects with a diagnostic naming the file, line and column. */
export const parseHcl = hcl.parse;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** One block as hcl2json gives it: attributes, with nested blocks as arrays of objects. */
export type Block = Obj;

export interface TerraformModule {
  dir: string;
  files: string[];
  variables: Record<string, Block>;
  locals: Record<string, Json>;
  /** resources[type][name] */
  resources: Record<string, Record<string, Block>>;
  data: Record<string, Record<string, Block>>;
  outputs: Record<string, Block>;
  checks: Record<string, Block>;
}

/** `${expr}` strings found anywhere in a value, with the path of keys that leads to each. */
export function* expressions(value: Json, at: string[] = []): Generator<{ at: string[]; text: string }> {
  if (typeof value === 'string') {
    if (value.includes('${')) yield { at, text: value };
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* expressions(value[i]!, [...at, String(i)]);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* expressions(v, [...at, k]);
  }
}

function single(blocks: Json, what: string): Block {
  if (!Array.isArray(blocks) || blocks.length !== 1) throw new Error(`${what} is declared ${Array.isArray(blocks) ? blocks.length : 0} times`);
  return blocks[0] as Block;
}

function addNamed(into: Record<string, Block>, group: Json | undefined, what: string, file: string): void {
  for (const [name, blocks] of Object.entries((group ?? {}) as Obj)) {
    if (into[name]) throw new Error(`${what} "${name}" is declared twice (again in ${file})`);
    into[name] = single(blocks, `${what} "${name}"`);
  }
}

/** Parses every .tf file in `dir`; rejects with hcl2json's diagnostic (file:line,col) on a syntax error. */
export async function loadTerraformModule(dir: string): Promise<TerraformModule> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.tf')).sort();
  const m: TerraformModule = { dir, files, variables: {}, locals: {}, resources: {}, data: {}, outputs: {}, checks: {} };
  for (const file of files) {
    const json = (await parseHcl(file, await readFile(path.join(dir, file), 'utf8'))) as Obj;
    addNamed(m.variables, json.variable, 'variable', file);
    addNamed(m.outputs, json.output, 'output', file);
    addNamed(m.checks, json.check, 'check', file);
    for (const block of (json.locals ?? []) as Obj[]) {
      for (const [k, v] of Object.entries(block)) {
        if (k in m.locals) throw new Error(`local.${k} is declared twice (again in ${file})`);
        m.locals[k] = v;
      }
    }
    for (const [kind, into] of [['resource', m.resources], ['data', m.data]] as const) {
      for (const [type, named] of Object.entries((json[kind] ?? {}) as Obj)) addNamed((into[type] ??= {}), named, `${kind} ${type}`, file);
    }
  }
  return m;
}

/** A reference split into its parts; an index in quotes becomes { key }. `google_x.y."a".z` → ['google_x', 'y', {key:'a'}, 'z']. */
export type RefPart = string | { key: string };

export function splitReference(ref: string): RefPart[] {
  const parts: RefPart[] = [];
  for (const m of ref.matchAll(/"((?:[^"\\]|\\.)*)"|([^.]+)/g)) parts.push(m[1] !== undefined ? { key: m[1] } : m[2]!);
  return parts;
}

/** Every reference (var.x, local.y, type.name…, each.key) in an expression string. */
export async function referencesIn(text: string): Promise<string[]> {
  const refs = await hcl.getReferencesInExpression('module.tf', asTemplateSource(text));
  return refs.map((r) => r.value);
}

/**
 * hcl2json gives a string attribute decoded: `"a \"b\" ${x["k"]}"` arrives as
 * `a "b" ${x["k"]}`. To parse it again as a template, the literal parts get
 * their quotes and backslashes escaped again; the `${…}` parts are HCL and stay.
 */
export function asTemplateSource(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (text.startsWith('${', i)) {
      // copy the interpolation up to its closing brace, skipping braces inside its strings
      let depth = 0;
      let j = i;
      let quoted = false;
      for (; j < text.length; j++) {
        const c = text[j]!;
        if (quoted) {
          if (c === '\\') j++;
          else if (c === '"') quoted = false;
        } else if (c === '"') quoted = true;
        else if (c === '{') depth++;
        else if (c === '}' && --depth === 0) break;
      }
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      const c = text[i++]!;
      out += c === '"' || c === '\\' ? `\\${c}` : c;
    }
  }
  return out;
}

export interface EvalContext {
  module: TerraformModule;
  /** Values for variables without a default (project_id). */
  vars: Record<string, Json>;
}

export function variableValue(ctx: EvalContext, name: string): Json {
  if (name in ctx.vars) return ctx.vars[name]!;
  const v = ctx.module.variables[name];
  if (!v) throw new Error(`var.${name} is not declared`);
  if (!('default' in v)) throw new Error(`var.${name} has no default: give it in the context`);
  return v.default!;
}

/**
 * Evaluates the expression forms the module's environment uses: literals,
 * templates of `${var.x}`, `${tostring(var.x)}`, `${local.x}` and
 * `${google_pubsub_topic.topic["k"].name}` (the topic's name from local.topics).
 * Anything else throws, naming the expression: extend this evaluator, or
 * keep the module's environment this simple.
 */
export function evaluate(ctx: EvalContext, value: Json): Json {
  if (typeof value !== 'string' || !value.includes('${')) return value;
  const whole = /^\$\{([^{}]*)\}$/.exec(value);
  if (whole) return evaluateTerm(ctx, whole[1]!.trim());
  return value.replace(/\$\{([^{}]*)\}/g, (_, term: string) => String(evaluateTerm(ctx, term.trim())));
}

function evaluateTerm(ctx: EvalContext, term: string): Json {
  let m: RegExpExecArray | null;
  if ((m = /^var\.(\w+)$/.exec(term))) return variableValue(ctx, m[1]!);
  if ((m = /^tostring\(var\.(\w+)\)$/.exec(term))) return String(variableValue(ctx, m[1]!));
  if ((m = /^local\.(\w+)$/.exec(term))) {
    if (!(m[1]! in ctx.module.locals)) throw new Error(`local.${m[1]} is not declared`);
    return evaluate(ctx, ctx.module.locals[m[1]!]!);
  }
  if ((m = /^google_pubsub_topic\.topic\["(\w+)"\]\.name$/.exec(term))) {
    const topics = ctx.module.locals.topics as Obj | undefined;
    if (!topics || !(m[1]! in topics)) throw new Error(`local.topics has no "${m[1]}"`);
    return evaluate(ctx, topics[m[1]!]!);
  }
  throw new Error(`the test's evaluator cannot evaluate \${${term}}`);
}
