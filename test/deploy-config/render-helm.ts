/**
 * A deliberately tiny Helm renderer: `helm` is not installed here, and the
 * chart in helm/meltano-cloud keeps to a small subset of Go templates. This
 * renders exactly that subset and throws on anything else, so a template
 * construct it does not know can never render silently into something wrong.
 *
 * Supported:
 *   {{ pipeline }}  {{- ... -}}  {{/* comment *\/}}
 *   {{ if pipeline }} ... {{ else }} ... {{ end }}
 *   {{ range $k, $v := pipeline }} ... {{ end }}   (maps in sorted key order, lists by index)
 *   {{ define "name" }} ... {{ end }}
 *   operands: . .Values.a.b .Release.X .Chart.X $ $v $v.a "string" 123 true false (pipeline)
 *   functions: include toYaml nindent indent quote default required eq not
 *
 * Stricter than Helm on purpose: a missing key anywhere in a field chain
 * throws (Helm would print nothing), and numbers Helm would print in exponent
 * form (>= 1e6, or not integers) throw when printed.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Value = unknown;
type Dict = Record<string, Value>;

// No prototype check: under Jest, parsed YAML may come from another realm.
const isDict = (v: Value): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------- tokenizer

interface TextToken {
  kind: 'text';
  text: string;
}
interface ActionToken {
  kind: 'action';
  body: string;
  where: string;
}
type Token = TextToken | ActionToken;

function tokenize(source: string, file: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let trimNext = false;
  const lineAt = (i: number) => source.slice(0, i).split('\n').length;
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    let text = source.slice(pos, open === -1 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open === -1) {
      tokens.push({ kind: 'text', text });
      break;
    }
    const where = `${file}:${lineAt(open)}`;
    let start = open + 2;
    if (/^-\s/.test(source.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    } else if (source[start] === '-') {
      throw new TemplateError(`${where}: "{{-" must be followed by a space`);
    }
    tokens.push({ kind: 'text', text });
    if (source.slice(start).trimStart().startsWith('/*')) {
      // A comment: everything up to "*/}}" or "*/ -}}".
      const m = /\*\/(\s-)?\}\}/.exec(source.slice(start));
      if (!m) throw new TemplateError(`${where}: unterminated comment`);
      trimNext = m[1] !== undefined;
      pos = start + m.index + m[0].length;
      continue;
    }
    // Find the closing braces outside string literals.
    let i = start;
    let quote: string | undefined;
    for (; i < source.length; i++) {
      const c = source[i];
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === '`') {
        quote = c;
      } else if (c === '}' && source[i + 1] === '}') {
        break;
      } else if (c === '\n') {
        throw new TemplateError(`${where}: actions may not span lines`);
      }
    }
    if (i >= source.length) throw new TemplateError(`${where}: unterminated action`);
    let body = source.slice(start, i);
    if (/\s-$/.test(body)) {
      trimNext = true;
      body = body.slice(0, -1);
    } else if (body.endsWith('-')) {
      throw new TemplateError(`${where}: "-}}" must follow a space`);
    }
    body = body.trim();
    pos = i + 2;
    if (body === '') throw new TemplateError(`${where}: empty action`);
    tokens.push({ kind: 'action', body, where });
  }
  return tokens.filter((t) => t.kind === 'action' || t.text !== '');
}

// ------------------------------------------------------------- expressions

type Operand =
  | { kind: 'literal'; value: Value }
  /** base: 'dot' for `.`, else a variable name such as `$` or `$v`. */
  | { kind: 'field'; base: string; path: string[] }
  | { kind: 'ident'; name: string }
  | { kind: 'sub'; pipeline: Pipeline };
type Command = Operand[];
interface Pipeline {
  decl: string[];
  commands: Command[];
}

const FUNCTIONS = new Set([
  'include',
  'toYaml',
  'nindent',
  'indent',
  'quote',
  'default',
  'required',
  'eq',
  'not',
]);

function lexExpression(src: string, where: string): string[] {
  const out: string[] = [];
  const re =
    /\s*(?:("(?:[^"\\]|\\.)*")|(:=)|([|(),])|(-?\d+(?:\.\d+)?)|(\.(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)?)|(\$\w*(?:\.[A-Za-z_]\w*)*)|([A-Za-z_]\w*))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new TemplateError(`${where}: cannot read ${JSON.stringify(src.slice(pos))}`);
    out.push(m[0].trim());
    pos = re.lastIndex;
  }
  return out;
}

function parsePipeline(tokens: string[], where: string, allowDecl: boolean): Pipeline {
  let i = 0;
  const decl: string[] = [];
  const declEnd = tokens.indexOf(':=');
  if (declEnd !== -1) {
    if (!allowDecl) throw new TemplateError(`${where}: variable declarations only in range`);
    const names = tokens.slice(0, declEnd).filter((t) => t !== ',');
    if (names.length < 1 || names.length > 2 || names.some((n) => !/^\$\w+$/.test(n))) {
      throw new TemplateError(`${where}: malformed declaration`);
    }
    decl.push(...names);
    i = declEnd + 1;
  }
  const parseCommands = (stopAtParen: boolean): Command[] => {
    const commands: Command[] = [[]];
    for (; i < tokens.length; i++) {
      const tok = tokens[i]!;
      const current = commands[commands.length - 1]!;
      if (tok === '|') {
        if (current.length === 0) throw new TemplateError(`${where}: empty command before |`);
        commands.push([]);
      } else if (tok === '(') {
        i++;
        const inner = parseCommands(true);
        current.push({ kind: 'sub', pipeline: { decl: [], commands: inner } });
      } else if (tok === ')') {
        if (!stopAtParen) throw new TemplateError(`${where}: unbalanced )`);
        break;
      } else if (tok === ',' || tok === ':=') {
        throw new TemplateError(`${where}: unexpected ${tok}`);
      } else if (tok.startsWith('"')) {
        current.push({ kind: 'literal', value: JSON.parse(tok) as string });
      } else if (/^-?\d/.test(tok)) {
        current.push({ kind: 'literal', value: Number(tok) });
      } else if (tok === 'true' || tok === 'false') {
        current.push({ kind: 'literal', value: tok === 'true' });
      } else if (tok.startsWith('.')) {
        current.push({ kind: 'field', base: 'dot', path: tok.split('.').slice(1).filter(Boolean) });
      } else if (tok.startsWith('$')) {
        const [name, ...rest] = tok.split('.');
        current.push({ kind: 'field', base: name!, path: rest });
      } else {
        if (!FUNCTIONS.has(tok)) {
          throw new TemplateError(
            `${where}: unsupported function or keyword ${JSON.stringify(tok)}`,
          );
        }
        current.push({ kind: 'ident', name: tok });
      }
    }
    if (stopAtParen && tokens[i] !== ')') throw new TemplateError(`${where}: unbalanced (`);
    if (commands.some((c) => c.length === 0)) throw new TemplateError(`${where}: empty command`);
    return commands;
  };
  const commands = parseCommands(false);
  return { decl, commands };
}

// -------------------------------------------------------------------- AST

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'print'; pipeline: Pipeline; where: string }
  | { kind: 'if'; cond: Pipeline; then: Node[]; else: Node[]; where: string }
  | { kind: 'range'; pipeline: Pipeline; body: Node[]; where: string };

interface Parsed {
  nodes: Node[];
  defines: Map<string, Node[]>;
}

function parseTemplate(source: string, file: string): Parsed {
  const tokens = tokenize(source, file);
  const defines = new Map<string, Node[]>();
  type Frame =
    | { kind: 'root'; nodes: Node[] }
    | { kind: 'if'; node: Extract<Node, { kind: 'if' }>; inElse: boolean; where: string }
    | { kind: 'range'; node: Extract<Node, { kind: 'range' }>; where: string }
    | { kind: 'define'; name: string; nodes: Node[]; where: string };
  const root: Frame = { kind: 'root', nodes: [] };
  const stack: Frame[] = [root];
  const target = (): Node[] => {
    const top = stack[stack.length - 1]!;
    switch (top.kind) {
      case 'root':
        return top.nodes;
      case 'if':
        return top.inElse ? top.node.else : top.node.then;
      case 'range':
        return top.node.body;
      case 'define':
        return top.nodes;
    }
  };
  for (const token of tokens) {
    if (token.kind === 'text') {
      target().push({ kind: 'text', text: token.text });
      continue;
    }
    const { body, where } = token;
    const keyword = /^(\w+)\b/.exec(body)?.[1] ?? '';
    const rest = body.slice(keyword.length).trim();
    switch (keyword) {
      case 'if': {
        const node: Extract<Node, { kind: 'if' }> = {
          kind: 'if',
          cond: parsePipeline(lexExpression(rest, where), where, false),
          then: [],
          else: [],
          where,
        };
        target().push(node);
        stack.push({ kind: 'if', node, inElse: false, where });
        break;
      }
      case 'else': {
        const top = stack[stack.length - 1]!;
        if (rest !== '') throw new TemplateError(`${where}: "else ${rest}" is not supported`);
        if (top.kind !== 'if' || top.inElse) throw new TemplateError(`${where}: else without if`);
        top.inElse = true;
        break;
      }
      case 'range': {
        const node: Extract<Node, { kind: 'range' }> = {
          kind: 'range',
          pipeline: parsePipeline(lexExpression(rest, where), where, true),
          body: [],
          where,
        };
        target().push(node);
        stack.push({ kind: 'range', node, where });
        break;
      }
      case 'define': {
        if (stack.length !== 1) throw new TemplateError(`${where}: define must be at top level`);
        const m = /^"([^"]+)"$/.exec(rest);
        if (!m) throw new TemplateError(`${where}: define needs one quoted name`);
        stack.push({ kind: 'define', name: m[1]!, nodes: [], where });
        break;
      }
      case 'end': {
        if (rest !== '') throw new TemplateError(`${where}: malformed end`);
        const top = stack.pop()!;
        if (top.kind === 'root') throw new TemplateError(`${where}: end without a block`);
        if (top.kind === 'define') {
          if (defines.has(top.name)) throw new TemplateError(`${where}: ${top.name} defined twice`);
          defines.set(top.name, top.nodes);
        }
        break;
      }
      case 'with':
      case 'template':
      case 'block':
      case 'break':
      case 'continue':
      case 'nil':
        throw new TemplateError(`${where}: "${keyword}" is not supported by this renderer`);
      default:
        target().push({
          kind: 'print',
          pipeline: parsePipeline(lexExpression(body, where), where, false),
          where,
        });
    }
  }
  if (stack.length !== 1) {
    const open = stack[stack.length - 1] as { kind: string; where?: string };
    throw new TemplateError(`${file}: unclosed ${open.kind} opened at ${open.where ?? '?'}`);
  }
  return { nodes: root.nodes, defines };
}

// ---------------------------------------------------------------- evaluate

interface Scope {
  dot: Value;
  vars: Map<string, Value>;
}

function truthy(v: Value): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return true;
}

/** How Go's %v prints a scalar; refuses values whose Helm output this renderer cannot mimic. */
function goString(v: Value, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || Math.abs(v) >= 1e6) {
      throw new TemplateError(
        `${where}: Helm prints ${v} differently (float64 %v); quote it in the values`,
      );
    }
    return String(v);
  }
  throw new TemplateError(`${where}: cannot print ${JSON.stringify(v) ?? String(v)} as text`);
}

const indentLines = (n: number, s: string) => {
  const pad = ' '.repeat(n);
  return pad + s.replace(/\n/g, `\n${pad}`);
};

class Renderer {
  constructor(private readonly defines: Map<string, Node[]>) {}

  private depth = 0;

  renderNodes(nodes: Node[], scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out += node.text;
          break;
        case 'print':
          out += goString(this.pipeline(node.pipeline, scope, node.where), node.where);
          break;
        case 'if':
          out += this.renderNodes(
            truthy(this.pipeline(node.cond, scope, node.where)) ? node.then : node.else,
            scope,
          );
          break;
        case 'range': {
          const collection = this.pipeline(node.pipeline, scope, node.where);
          let entries: [Value, Value][];
          if (Array.isArray(collection)) entries = collection.map((v, i) => [i, v]);
          else if (isDict(collection))
            entries = Object.keys(collection)
              .sort()
              .map((k) => [k, collection[k]]);
          else if (collection === null || collection === undefined) entries = [];
          else throw new TemplateError(`${node.where}: cannot range over a scalar`);
          for (const [key, value] of entries) {
            const vars = new Map(scope.vars);
            const [first, second] = node.pipeline.decl;
            if (second) {
              vars.set(first!, key);
              vars.set(second, value);
            } else if (first) {
              vars.set(first, value);
            }
            out += this.renderNodes(node.body, { dot: value, vars });
          }
          break;
        }
      }
    }
    return out;
  }

  include(name: Value, data: Value, where: string): string {
    if (typeof name !== 'string') throw new TemplateError(`${where}: include needs a name`);
    const body = this.defines.get(name);
    if (!body) throw new TemplateError(`${where}: no template named ${JSON.stringify(name)}`);
    if (++this.depth > 50) throw new TemplateError(`${where}: include recursion`);
    try {
      return this.renderNodes(body, { dot: data, vars: new Map([['$', data]]) });
    } finally {
      this.depth--;
    }
  }

  private operand(op: Operand, scope: Scope, where: string): Value {
    switch (op.kind) {
      case 'literal':
        return op.value;
      case 'sub':
        return this.pipeline(op.pipeline, scope, where);
      case 'ident':
        throw new TemplateError(`${where}: function ${op.name} used as a value`);
      case 'field': {
        let value: Value;
        if (op.base === 'dot') value = scope.dot;
        else if (scope.vars.has(op.base)) value = scope.vars.get(op.base);
        else throw new TemplateError(`${where}: undefined variable ${op.base}`);
        const seen: string[] = [op.base === 'dot' ? '' : op.base];
        for (const key of op.path) {
          seen.push(key);
          if (!isDict(value) || !Object.prototype.hasOwnProperty.call(value, key)) {
            throw new TemplateError(`${where}: ${seen.join('.')} is not defined`);
          }
          value = value[key];
        }
        return value;
      }
    }
  }

  pipeline(p: Pipeline, scope: Scope, where: string): Value {
    let result: Value;
    let first = true;
    for (const command of p.commands) {
      const [head, ...rest] = command;
      if (head!.kind !== 'ident') {
        if (!first || rest.length > 0) {
          throw new TemplateError(`${where}: only a function can follow | or take arguments`);
        }
        result = this.operand(head!, scope, where);
      } else {
        const args = rest.map((op) => this.operand(op, scope, where));
        if (!first) args.push(result);
        result = this.call(head!.name, args, where);
      }
      first = false;
    }
    return result;
  }

  private call(name: string, args: Value[], where: string): Value {
    const arity = (n: number) => {
      if (args.length !== n)
        throw new TemplateError(`${where}: ${name} takes ${n} arguments, got ${args.length}`);
    };
    const num = (v: Value): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new TemplateError(`${where}: ${name} needs a non-negative integer`);
      return v;
    };
    const str = (v: Value): string => {
      if (typeof v !== 'string') throw new TemplateError(`${where}: ${name} needs a string`);
      return v;
    };
    switch (name) {
      case 'include':
        arity(2);
        return this.include(args[0], args[1], where);
      case 'toYaml': {
        arity(1);
        const v = args[0];
        if (v === undefined) throw new TemplateError(`${where}: toYaml of nothing`);
        return stringifyYaml(v, { lineWidth: 0, sortMapEntries: true }).replace(/\n$/, '');
      }
      case 'nindent':
        arity(2);
        return '\n' + indentLines(num(args[0]), str(args[1]));
      case 'indent':
        arity(2);
        return indentLines(num(args[0]), str(args[1]));
      case 'quote':
        arity(1);
        return JSON.stringify(goString(args[0], where));
      case 'default':
        arity(2);
        return truthy(args[1]) ? args[1] : args[0];
      case 'required':
        arity(2);
        if (args[1] === null || args[1] === undefined || args[1] === '')
          throw new TemplateError(`${where}: ${str(args[0])}`);
        return args[1];
      case 'eq': {
        arity(2);
        const [a, b] = args;
        const scalar = (v: Value) => ['string', 'number', 'boolean'].includes(typeof v);
        if (!scalar(a) || !scalar(b) || typeof a !== typeof b) {
          throw new TemplateError(`${where}: eq compares two scalars of the same type`);
        }
        return a === b;
      }
      case 'not':
        arity(1);
        return !truthy(args[0]);
      default:
        throw new TemplateError(`${where}: unsupported function ${name}`);
    }
  }
}

// ------------------------------------------------------------------ charts

/** Helm's values merge: maps merge key by key, anything else replaces, null deletes. */
export function mergeValues(base: Value, override: Value): Value {
  if (!isDict(base) || !isDict(override)) return structuredClone(override);
  const out: Dict = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else out[key] = key in out ? mergeValues(out[key], value) : structuredClone(value);
  }
  return out;
}

/**
 * Paths (dotted) of override keys that the chart's default values do not
 * have; below a `freeForm` path (or an empty map in the defaults) any key goes.
 */
export function unknownValueKeys(
  defaults: Value,
  override: Value,
  freeForm: string[] = [],
  prefix = '',
): string[] {
  if (!isDict(override) || !isDict(defaults)) return [];
  if (freeForm.includes(prefix.replace(/\.$/, '')) || Object.keys(defaults).length === 0) return [];
  return Object.entries(override).flatMap(([key, value]) =>
    key in defaults
      ? unknownValueKeys(defaults[key], value, freeForm, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

export interface RenderOptions {
  values?: Dict;
  releaseName?: string;
  namespace?: string;
}

export interface RenderedFile {
  file: string;
  /** The YAML documents of the file, empty ones dropped. */
  documents: string[];
}

export interface Chart {
  dir: string;
  meta: Dict;
  defaults: Dict;
}

export function loadChart(dir: string): Chart {
  const meta = parseYaml(readFileSync(path.join(dir, 'Chart.yaml'), 'utf8')) as Value;
  const defaults = parseYaml(readFileSync(path.join(dir, 'values.yaml'), 'utf8')) as Value;
  if (!isDict(meta) || !isDict(defaults))
    throw new TemplateError('malformed Chart.yaml or values.yaml');
  for (const key of ['apiVersion', 'name', 'version', 'appVersion']) {
    if (typeof meta[key] !== 'string')
      throw new TemplateError(`Chart.yaml: ${key} must be a string`);
  }
  return { dir, meta, defaults };
}

export function renderChart(chart: Chart, options: RenderOptions = {}): RenderedFile[] {
  const templatesDir = path.join(chart.dir, 'templates');
  const files = readdirSync(templatesDir).sort();
  const parsed = new Map<string, Parsed>();
  const defines = new Map<string, Node[]>();
  for (const file of files) {
    const full = path.join(templatesDir, file);
    if (statSync(full).isDirectory())
      throw new TemplateError(`${file}: subdirectories are not supported`);
    const isHelper = file.startsWith('_') && file.endsWith('.tpl');
    if (!isHelper && !file.endsWith('.yaml')) {
      throw new TemplateError(`${file}: only *.yaml templates and _*.tpl helpers are supported`);
    }
    const result = parseTemplate(readFileSync(full, 'utf8'), file);
    for (const [name, body] of result.defines) {
      if (defines.has(name)) throw new TemplateError(`${file}: ${name} defined twice`);
      defines.set(name, body);
    }
    if (isHelper) {
      const stray = result.nodes.filter((n) => n.kind !== 'text' || n.text.trim() !== '');
      if (stray.length > 0) throw new TemplateError(`${file}: content outside define blocks`);
    } else {
      parsed.set(file, result);
    }
  }
  const values = mergeValues(chart.defaults, options.values ?? {});
  const root: Dict = {
    Values: values,
    Release: {
      Name: options.releaseName ?? 'meltano-cloud',
      Namespace: options.namespace ?? 'meltano-cloud',
      Service: 'Helm',
      IsInstall: true,
      IsUpgrade: false,
    },
    Chart: {
      Name: chart.meta.name,
      Version: chart.meta.version,
      AppVersion: chart.meta.appVersion,
    },
  };
  const renderer = new Renderer(defines);
  return [...parsed].map(([file, { nodes }]) => {
    const text = renderer.renderNodes(nodes, { dot: root, vars: new Map([['$', root]]) });
    const documents = text
      .split(/^---[ \t]*$/m)
      .filter((doc) => doc.replace(/^\s*#.*$/gm, '').trim() !== '');
    return { file, documents };
  });
}

/** Every rendered document parsed as YAML (strict: duplicate keys and syntax errors throw). */
export function renderManifests(
  chart: Chart,
  options: RenderOptions = {},
): { file: string; object: Dict }[] {
  return renderChart(chart, options).flatMap(({ file, documents }) =>
    documents.map((doc) => {
      let object: Value;
      try {
        object = parseYaml(doc, { strict: true, uniqueKeys: true, prettyErrors: true });
      } catch (error) {
        throw new TemplateError(
          `${file}: rendered YAML does not parse: ${error instanceof Error ? error.message : String(error)}\n${doc}`,
        );
      }
      if (!isDict(object)) throw new TemplateError(`${file}: a document is not a mapping:\n${doc}`);
      return { file, object };
    }),
  );
}
