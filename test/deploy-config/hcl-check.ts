/**
 * Just enough HCL to check terraform/ structurally (no terraform binary or
 * HCL parser here): comments and string literals are lexed properly, with
 * `${...}` interpolations kept as code, so braces can be balanced and
 * references found. Anything this lexer does not handle (heredocs, `%{`
 * template directives) throws instead of being skipped.
 */

export class HclError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HclError';
  }
}

export interface HclFile {
  file: string;
  /**
   * The source without comments; every string literal replaced by the
   * placeholder "§<index>" followed by its interpolations as ` (code)`.
   */
  code: string;
  /** Literal text of each string, interpolations written back as ${...}. */
  strings: string[];
  /** Whether each string contains an interpolation. */
  interpolated: boolean[];
}

export function lexHcl(source: string, file: string): HclFile {
  let i = 0;
  const strings: string[] = [];
  const interpolated: boolean[] = [];
  const line = () => source.slice(0, i).split('\n').length;
  const fail = (message: string): never => {
    throw new HclError(`${file}:${line()}: ${message}`);
  };

  /** Code up to the end of input, or (inside an interpolation) its closing brace. */
  function code(inInterpolation: boolean): string {
    let out = '';
    let depth = 0;
    while (i < source.length) {
      const c = source[i]!;
      const next = source[i + 1];
      if (c === '#' || (c === '/' && next === '/')) {
        while (i < source.length && source[i] !== '\n') i++;
        continue;
      }
      if (c === '/' && next === '*') {
        const end = source.indexOf('*/', i + 2);
        if (end === -1) fail('unterminated /* comment');
        i = end + 2;
        out += ' ';
        continue;
      }
      if (c === '"') {
        i++;
        out += stringLiteral();
        continue;
      }
      if (c === '<' && next === '<' && /^<<-?[A-Za-z_]/.test(source.slice(i, i + 4))) {
        fail('heredocs are not supported by this check');
      }
      if (inInterpolation) {
        if (c === '{') depth++;
        if (c === '}') {
          if (depth === 0) {
            i++;
            return out;
          }
          depth--;
        }
      }
      out += c;
      i++;
    }
    if (inInterpolation) fail('unterminated ${ interpolation');
    return out;
  }

  function stringLiteral(): string {
    let text = '';
    let exprs = '';
    let hasInterpolation = false;
    for (;;) {
      if (i >= source.length || source[i] === '\n') fail('unterminated string');
      const c = source[i]!;
      if (c === '\\') {
        text += source.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (c === '"') {
        i++;
        break;
      }
      if (source.startsWith('$${', i) || source.startsWith('%%{', i)) {
        text += source.slice(i + 1, i + 3);
        i += 3;
        continue;
      }
      if (source.startsWith('%{', i))
        fail('template directives (%{) are not supported by this check');
      if (source.startsWith('${', i)) {
        i += 2;
        const inner = code(true);
        text += '${' + inner + '}';
        exprs += ` (${inner})`;
        hasInterpolation = true;
        continue;
      }
      text += c;
      i++;
    }
    strings.push(text);
    interpolated.push(hasInterpolation);
    return `"§${strings.length - 1}"${exprs}`;
  }

  const out = code(false);
  // Brackets must balance in the code (strings are out of the way).
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const ch of out) {
    if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs) {
      if (stack.pop() !== pairs[ch]) throw new HclError(`${file}: unbalanced ${ch}`);
    }
  }
  if (stack.length > 0) throw new HclError(`${file}: unclosed ${stack.join('')}`);
  return { file, code: out, strings, interpolated };
}

/** Index just past the bracket closing the one at `open`. */
function closing(code: string, open: number): number {
  let depth = 0;
  for (let j = open; j < code.length; j++) {
    if ('([{'.includes(code[j]!)) depth++;
    else if (')]}'.includes(code[j]!)) {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  throw new HclError('unbalanced brackets');
}

export interface HclBlock {
  type: string;
  labels: string[];
  /** Code between the braces. */
  body: string;
}

/**
 * The blocks of a body (top level of a file, or a block's body). Throws on
 * anything at that level that is neither a block nor, when `attributes` is
 * allowed, an attribute.
 */
export function blocksOf(
  hcl: HclFile,
  body = hcl.code,
  attributes = false,
): { blocks: HclBlock[]; attributes: Map<string, string> } {
  const blocks: HclBlock[] = [];
  const attrs = new Map<string, string>();
  let j = 0;
  const header = /\s*([A-Za-z_][\w-]*)((?:\s+"§\d+")*)\s*\{/y;
  const attribute = /\s*([A-Za-z_][\w-]*)\s*=(?!=)/y;
  while (j < body.length) {
    if (/^\s*$/.test(body.slice(j))) break;
    header.lastIndex = j;
    const h = header.exec(body);
    if (h) {
      const open = header.lastIndex - 1;
      const end = closing(body, open);
      const labels = [...h[2]!.matchAll(/"§(\d+)"/g)].map((m) => hcl.strings[Number(m[1])]!);
      blocks.push({ type: h[1]!, labels, body: body.slice(open + 1, end - 1) });
      j = end;
      continue;
    }
    attribute.lastIndex = j;
    const a = attribute.exec(body);
    if (a && attributes) {
      // The value runs to the end of the line, or further while brackets are open.
      let k = attribute.lastIndex;
      let depth = 0;
      for (; k < body.length; k++) {
        const ch = body[k]!;
        if ('([{'.includes(ch)) depth++;
        else if (')]}'.includes(ch)) depth--;
        else if (ch === '\n' && depth === 0) break;
      }
      attrs.set(a[1]!, body.slice(attribute.lastIndex, k).trim());
      j = k;
      continue;
    }
    throw new HclError(
      `${hcl.file}: unexpected ${JSON.stringify(body.slice(j, j + 40).trim())} (${attributes ? 'not a block or attribute' : 'only blocks at top level'})`,
    );
  }
  return { blocks, attributes: attrs };
}

/** The literal text of an attribute value that is a single plain string, else undefined. */
export function literal(hcl: HclFile, value: string | undefined): string | undefined {
  const m = /^"§(\d+)"$/.exec(value ?? '');
  if (!m || hcl.interpolated[Number(m[1])]) return undefined;
  return hcl.strings[Number(m[1])];
}

export interface References {
  variables: Set<string>;
  locals: Set<string>;
  /** `type.name` of managed resources. */
  resources: Set<string>;
  /** `type.name` of data sources. */
  data: Set<string>;
}

/** Every var./local./data./resource reference in code (interpolations included). */
export function referencesIn(code: string): References {
  const refs: References = {
    variables: new Set(),
    locals: new Set(),
    resources: new Set(),
    data: new Set(),
  };
  // Not preceded by a name character, a dot (attribute access) or a placeholder.
  const lead = '(?<![\\w.§-])';
  for (const m of code.matchAll(new RegExp(`${lead}var\\.([A-Za-z_][\\w-]*)`, 'g')))
    refs.variables.add(m[1]!);
  for (const m of code.matchAll(new RegExp(`${lead}local\\.([A-Za-z_][\\w-]*)`, 'g')))
    refs.locals.add(m[1]!);
  for (const m of code.matchAll(
    new RegExp(`${lead}data\\.([a-z][a-z0-9_]*)\\.([A-Za-z_][\\w-]*)`, 'g'),
  ))
    refs.data.add(`${m[1]}.${m[2]}`);
  for (const m of code.matchAll(
    new RegExp(`${lead}([a-z][a-z0-9]*_[a-z0-9_]+)\\.([A-Za-z_][\\w-]*)`, 'g'),
  ))
    refs.resources.add(`${m[1]}.${m[2]}`);
  return refs;
}
