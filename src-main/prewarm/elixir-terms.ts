// Reads the subset of Elixir term syntax that Mix writes into mix.lock: one map literal
// whose values are tuples, lists (incl. keyword lists), atoms, strings, integers,
// booleans and nil. Mix writes the file with `inspect/2` (elixir-lang/elixir
// lib/mix/lib/mix/dep/lock.ex: `"app": #{inspect(rev, limit: :infinity)},`) and reads it
// back with Code.string_to_quoted + eval. Syntax per the Elixir syntax reference
// (https://hexdocs.pm/elixir/syntax-reference.html). Nothing is evaluated here.
//
// Not supported (a clear error is raised instead): interpolation, heredocs, sigils,
// charlists, floats, structs, variables and function calls.
import { TermSyntaxError, TextCursor, TokenCursor, type Loc } from './text-cursor.js';

export type { Loc };

export type ElixirTerm =
  | { type: 'atom'; value: string; loc: Loc }
  | { type: 'string'; value: string; loc: Loc }
  | { type: 'integer'; value: number; loc: Loc }
  | { type: 'boolean'; value: boolean; loc: Loc }
  | { type: 'nil'; loc: Loc }
  | { type: 'tuple'; items: ElixirTerm[]; loc: Loc }
  | { type: 'list'; items: ElixirTerm[]; loc: Loc }
  | { type: 'map'; entries: ElixirMapEntry[]; loc: Loc };

export interface ElixirMapEntry {
  key: ElixirTerm;
  value: ElixirTerm;
}

export class ElixirSyntaxError extends TermSyntaxError {}

type Token =
  | { kind: 'punct'; value: '%{' | '{' | '}' | '[' | ']' | ',' | '=>' | '-'; loc: Loc }
  | { kind: 'atom'; value: string; loc: Loc }
  | { kind: 'key'; value: string; loc: Loc } // `name:` / `"quoted name":` keyword key
  | { kind: 'string'; value: string; loc: Loc }
  | { kind: 'integer'; value: number; loc: Loc }
  | { kind: 'ident'; value: string; loc: Loc } // true / false / nil or an (unsupported) identifier
  | { kind: 'eof'; loc: Loc };

const IDENT_START = /[a-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const ATOM_START = /[A-Za-z_]/;
const ATOM_CHAR = /[A-Za-z0-9_@]/;
const ALIAS_SEGMENT = /^[A-Z][A-Za-z0-9_]*/;

class Lexer extends TextCursor {
  protected error(reason: string, line: number, column: number): Error {
    return new ElixirSyntaxError(reason, line, column);
  }

  private skipSpaceAndComments(): void {
    for (;;) {
      const ch = this.peek();
      if (this.isSpace(ch)) {
        this.advance();
      } else if (ch === '#') {
        while (this.pos < this.text.length && this.peek() !== '\n') this.advance();
      } else {
        return;
      }
    }
  }

  tokenize(): Token[] {
    const tokens: Token[] = [];
    for (;;) {
      this.skipSpaceAndComments();
      const loc = this.loc();
      if (this.pos >= this.text.length) {
        tokens.push({ kind: 'eof', loc });
        return tokens;
      }
      const ch = this.peek();
      if (ch === '%') {
        if (this.peek(1) === '{') {
          this.pos += 2;
          tokens.push({ kind: 'punct', value: '%{', loc });
          continue;
        }
        this.fail(/[A-Z]/.test(this.peek(1)) ? 'structs are not supported in lock files' : 'unexpected "%"');
      }
      if (ch === '{' || ch === '}' || ch === '[' || ch === ']' || ch === ',') {
        this.advance();
        tokens.push({ kind: 'punct', value: ch, loc });
        continue;
      }
      if (ch === '=') {
        if (this.peek(1) === '>') {
          this.pos += 2;
          tokens.push({ kind: 'punct', value: '=>', loc });
          continue;
        }
        this.fail('unexpected "=" (did you mean "=>"?)');
      }
      if (ch === '-') {
        this.advance();
        tokens.push({ kind: 'punct', value: '-', loc });
        continue;
      }
      if (ch === ':') {
        tokens.push(this.atom(loc));
        continue;
      }
      if (ch === '"') {
        if (this.text.startsWith('"""', this.pos)) this.fail('heredocs are not supported in lock files');
        this.advance();
        const value = this.stringBody('"', loc);
        // `"quoted key": value`: the colon must follow the quote directly, then whitespace.
        if (this.peek() === ':' && this.peek(1) !== ':') {
          this.advance();
          this.requireSpaceAfterKey(value);
          tokens.push({ kind: 'key', value, loc });
        } else {
          tokens.push({ kind: 'string', value, loc });
        }
        continue;
      }
      if (ch === "'") this.fail('charlists are not supported in lock files');
      if (ch === '~') this.fail('sigils are not supported in lock files');
      if (ch === '?') this.fail('character literals are not supported in lock files');
      if (/[0-9]/.test(ch)) {
        tokens.push({ kind: 'integer', value: this.integer(loc), loc });
        continue;
      }
      if (/[A-Z]/.test(ch)) {
        tokens.push({ kind: 'atom', value: this.alias(), loc });
        continue;
      }
      if (IDENT_START.test(ch)) {
        let name = '';
        while (IDENT_CHAR.test(this.peek())) name += this.advance();
        if (this.peek() === '?' || this.peek() === '!') name += this.advance();
        if (this.peek() === ':' && this.peek(1) !== ':') {
          this.advance();
          this.requireSpaceAfterKey(name);
          tokens.push({ kind: 'key', value: name, loc });
        } else {
          tokens.push({ kind: 'ident', value: name, loc });
        }
        continue;
      }
      this.fail(`unexpected character ${JSON.stringify(ch)}`);
    }
  }

  private requireSpaceAfterKey(name: string): void {
    const next = this.peek();
    if (next !== '' && !/\s/.test(next)) {
      this.fail(`keyword key ${JSON.stringify(name + ':')} must be followed by whitespace`);
    }
  }

  private atom(loc: Loc): Token {
    this.advance(); // ':'
    const ch = this.peek();
    if (ch === '"' || ch === "'") {
      this.advance();
      return { kind: 'atom', value: this.stringBody(ch, loc), loc };
    }
    if (!ATOM_START.test(ch)) {
      this.fail(ch === '' ? 'unexpected end of input after ":"' : `unsupported atom syntax ":${ch}"`, loc);
    }
    let name = '';
    while (ATOM_CHAR.test(this.peek())) name += this.advance();
    if (this.peek() === '?' || this.peek() === '!') name += this.advance();
    if (/^[A-Z]/.test(name) && this.peek() === '.') {
      // `:Foo.Bar` is not an atom literal; be explicit rather than guessing.
      this.fail(`unsupported atom syntax ":${name}."`, loc);
    }
    return { kind: 'atom', value: name, loc };
  }

  /** `Foo.Bar` is the atom `:"Elixir.Foo.Bar"`. */
  private alias(): string {
    const segments: string[] = [];
    for (;;) {
      const match = ALIAS_SEGMENT.exec(this.text.slice(this.pos, this.pos + 256));
      if (!match) this.fail('expected an alias segment');
      segments.push(match[0]);
      this.pos += match[0].length;
      if (this.peek() === '.' && /[A-Z]/.test(this.peek(1))) {
        this.advance();
        continue;
      }
      break;
    }
    if (this.peek() === '(' || this.peek() === '.') this.fail('function calls are not supported in lock files');
    return `Elixir.${segments.join('.')}`;
  }

  private integer(loc: Loc): number {
    let digits = '';
    let radix = 10;
    if (this.peek() === '0' && /[xob]/.test(this.peek(1))) {
      radix = { x: 16, o: 8, b: 2 }[this.peek(1) as 'x' | 'o' | 'b'];
      this.pos += 2;
    }
    const digit = radix === 16 ? /[0-9a-fA-F]/ : radix === 8 ? /[0-7]/ : radix === 2 ? /[01]/ : /[0-9]/;
    for (;;) {
      const ch = this.peek();
      if (digit.test(ch)) {
        digits += this.advance();
      } else if (ch === '_' && digits !== '' && digit.test(this.peek(1))) {
        this.advance();
      } else {
        break;
      }
    }
    if (digits === '') this.fail('expected digits', loc);
    if (this.peek() === '.' && /[0-9]/.test(this.peek(1))) this.fail('floats are not supported in lock files', loc);
    if (IDENT_CHAR.test(this.peek())) this.fail(`invalid character ${JSON.stringify(this.peek())} in number`);
    const value = Number.parseInt(digits, radix);
    if (!Number.isSafeInteger(value)) this.fail('integer is too large', loc);
    return value;
  }

  /** Reads up to the closing `quote`, decoding escapes; the opening quote is already consumed. */
  private stringBody(quote: string, start: Loc): string {
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string', start);
      const ch = this.advance();
      if (ch === quote) return out;
      if (ch === '#' && this.peek() === '{') this.fail('string interpolation is not supported in lock files', this.loc(this.pos - 1));
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const escLoc = this.loc(this.pos - 1);
      if (this.pos >= this.text.length) this.fail('unterminated string', start);
      const e = this.advance();
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 's':
          out += ' ';
          break;
        case '0':
          out += '\0';
          break;
        case 'a':
          out += '\x07';
          break;
        case 'b':
          out += '\b';
          break;
        case 'd':
          out += '\x7f';
          break;
        case 'e':
          out += '\x1b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\n':
          break; // backslash-newline: line continuation
        case 'x':
          out += this.codePointEscape(escLoc, 'x');
          break;
        case 'u':
          out += this.codePointEscape(escLoc, 'u');
          break;
        default:
          out += e; // \\ \" \' \# and unknown escapes stand for the character itself
      }
    }
  }

  private codePointEscape(loc: Loc, kind: 'x' | 'u'): string {
    let hex = '';
    if (this.peek() === '{') {
      this.advance();
      while (/[0-9a-fA-F]/.test(this.peek()) && hex.length < 6) hex += this.advance();
      if (this.peek() !== '}' || hex === '') this.fail(`invalid \\${kind}{...} escape`, loc);
      this.advance();
    } else {
      const want = kind === 'x' ? 2 : 4;
      while (/[0-9a-fA-F]/.test(this.peek()) && hex.length < want) hex += this.advance();
      if (hex.length !== want) this.fail(`invalid \\${kind} escape: expected ${want} hex digits`, loc);
    }
    const code = Number.parseInt(hex, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail(`invalid code point in \\${kind} escape`, loc);
    return String.fromCodePoint(code);
  }
}

class Parser extends TokenCursor<Token> {
  protected error(reason: string, line: number, column: number): Error {
    return new ElixirSyntaxError(reason, line, column);
  }

  private expectPunct(value: string, context: string): void {
    if (!this.isPunct(value)) this.fail(`expected "${value}" ${context}, found ${describe(this.peek())}`);
    this.next();
  }

  parseDocument(): ElixirTerm {
    const term = this.value();
    const rest = this.peek();
    if (rest.kind !== 'eof') this.fail(`unexpected ${describe(rest)} after the end of the term`, rest);
    return term;
  }

  private value(): ElixirTerm {
    const token = this.next();
    const loc = token.loc;
    switch (token.kind) {
      case 'atom':
        return atomTerm(token.value, loc);
      case 'string':
        return { type: 'string', value: token.value, loc };
      case 'integer':
        return { type: 'integer', value: token.value, loc };
      case 'ident':
        if (token.value === 'true' || token.value === 'false' || token.value === 'nil') return atomTerm(token.value, loc);
        return this.fail(`unexpected identifier "${token.value}" (variables and calls are not allowed in lock files)`, token);
      case 'key':
        return this.fail(`unexpected keyword key "${token.value}:" outside a list, tuple or map`, token);
      case 'eof':
        return this.fail('unexpected end of input, expected a value', token);
      case 'punct':
        switch (token.value) {
          case '%{':
            return this.map(loc);
          case '{':
            return { type: 'tuple', items: this.sequence('}', 'tuple', true), loc };
          case '[':
            return { type: 'list', items: this.sequence(']', 'list', false), loc };
          case '-': {
            const num = this.next();
            if (num.kind !== 'integer') this.fail('expected an integer after "-"', num);
            return { type: 'integer', value: -num.value, loc };
          }
          default:
            return this.fail(`unexpected "${token.value}"`, token);
        }
    }
  }

  /** A keyword pair `key: value` as the tuple `{:key, value}`. */
  private keywordPair(): ElixirTerm {
    const key = this.next();
    if (key.kind !== 'key') this.fail(`expected a keyword key (keyword pairs must come last), found ${describe(key)}`, key);
    const value = this.value();
    return { type: 'tuple', items: [atomTerm(key.value, key.loc), value], loc: key.loc };
  }

  /**
   * Items of a list or tuple. Trailing `key: value` pairs are keyword sugar: in a list they
   * are its items; in a tuple they form one trailing keyword list (`{:a, b: 1}` is `{:a, [b: 1]}`).
   */
  private sequence(close: '}' | ']', what: string, groupKeywords: boolean): ElixirTerm[] {
    const items: ElixirTerm[] = [];
    let keywords: ElixirTerm[] | undefined;
    while (!this.isPunct(close)) {
      if (this.peek().kind === 'key' || keywords) {
        if (!keywords) {
          keywords = [];
          if (groupKeywords) items.push({ type: 'list', items: keywords, loc: this.peek().loc });
        }
        const pair = this.keywordPair();
        if (groupKeywords) keywords.push(pair);
        else items.push(pair);
      } else {
        items.push(this.value());
      }
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      if (!this.isPunct(close)) this.fail(`expected "," or "${close}" in ${what}, found ${describe(this.peek())}`);
    }
    this.next();
    return items;
  }

  private map(loc: Loc): ElixirTerm {
    const entries: ElixirMapEntry[] = [];
    let keywordsStarted = false;
    while (!this.isPunct('}')) {
      if (this.peek().kind === 'key' || keywordsStarted) {
        keywordsStarted = true;
        const key = this.next();
        if (key.kind !== 'key') this.fail(`expected a keyword key (keyword entries must come last in a map), found ${describe(key)}`, key);
        entries.push({ key: atomTerm(key.value, key.loc), value: this.value() });
      } else {
        const key = this.value();
        this.expectPunct('=>', 'after a map key');
        entries.push({ key, value: this.value() });
      }
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      if (!this.isPunct('}')) this.fail(`expected "," or "}" in map, found ${describe(this.peek())}`);
    }
    this.next();
    return { type: 'map', entries, loc };
  }
}

/** `true`, `false` and `nil` are atoms in Elixir; `:true` and `true` give the same term. */
function atomTerm(name: string, loc: Loc): ElixirTerm {
  if (name === 'true' || name === 'false') return { type: 'boolean', value: name === 'true', loc };
  if (name === 'nil') return { type: 'nil', loc };
  return { type: 'atom', value: name, loc };
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of input';
    case 'punct':
      return `"${token.value}"`;
    case 'atom':
      return `atom :${token.value}`;
    case 'key':
      return `keyword key "${token.value}:"`;
    case 'string':
      return `string ${JSON.stringify(token.value)}`;
    case 'integer':
      return `integer ${token.value}`;
    case 'ident':
      return `"${token.value}"`;
  }
}

/** Parses exactly one Elixir term (e.g. the whole of a mix.lock). Throws ElixirSyntaxError. */
export function parseElixirTerm(text: string): ElixirTerm {
  return new Parser(new Lexer(text).tokenize()).parseDocument();
}

/**
 * A keyword list (`[hex: :jason, optional: true]`) as a Map from key to value, or undefined
 * when `term` is not a list of `{atom, value}` pairs. The first occurrence of a key wins,
 * as with Keyword.get/2.
 */
export function keywordToMap(term: ElixirTerm): Map<string, ElixirTerm> | undefined {
  if (term.type !== 'list') return undefined;
  const out = new Map<string, ElixirTerm>();
  for (const item of term.items) {
    if (item.type !== 'tuple' || item.items.length !== 2) return undefined;
    const [key, value] = item.items as [ElixirTerm, ElixirTerm];
    const name = atomName(key);
    if (name === undefined) return undefined;
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

/** The atom's name for atom, boolean and nil terms; undefined for anything else. */
export function atomName(term: ElixirTerm): string | undefined {
  if (term.type === 'atom') return term.value;
  if (term.type === 'boolean') return String(term.value);
  if (term.type === 'nil') return 'nil';
  return undefined;
}
