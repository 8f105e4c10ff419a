// Reads a sequence of dot-terminated Erlang terms, the format of rebar.lock: rebar3 writes
// it with io_lib:format("~p") and reads it with file:consult/1 (erlang/rebar3
// apps/rebar/src/rebar_config.erl write_lock_file/consult_lock_file). Syntax per the Erlang
// reference manual (https://www.erlang.org/doc/system/data_types.html, "Data Types") and
// erl_scan escapes. Supported: tuples, lists (incl. `[H | T]` with a list tail), binaries of
// string and integer segments (`<<"name">>`, `<<"é"/utf8>>`, `<<1,2>>`), strings (adjacent
// strings concatenate), atoms (bare and 'quoted'), integers (`42`, `-1`, `16#FF`, `$a`,
// `1_000`) and `%` comments. Nothing is evaluated.
//
// Not supported (a clear error is raised instead): floats, maps, records, funs, pids,
// variables and expressions.
import { TermSyntaxError, TextCursor, TokenCursor, type Loc } from './text-cursor.js';

export type { Loc };

export type ErlangTerm =
  | { type: 'atom'; value: string; loc: Loc }
  /** A double-quoted string; in Erlang this is a list of character codes. */
  | { type: 'string'; value: string; loc: Loc }
  /** A binary; `value` is its bytes decoded as UTF-8 (or as Latin-1 when not valid UTF-8). */
  | { type: 'binary'; value: string; loc: Loc }
  | { type: 'integer'; value: number; loc: Loc }
  | { type: 'tuple'; items: ErlangTerm[]; loc: Loc }
  | { type: 'list'; items: ErlangTerm[]; loc: Loc };

export class ErlangSyntaxError extends TermSyntaxError {}

type Token =
  | { kind: 'punct'; value: '{' | '}' | '[' | ']' | ',' | '|' | '<<' | '>>' | '/' | '-'; loc: Loc }
  | { kind: 'dot'; loc: Loc }
  | { kind: 'atom'; value: string; loc: Loc }
  | { kind: 'string'; value: string; loc: Loc }
  | { kind: 'integer'; value: number; loc: Loc }
  | { kind: 'eof'; loc: Loc };

// Reserved words cannot be bare atoms (erl_scan); they must be quoted.
const RESERVED = new Set([
  'after',
  'and',
  'andalso',
  'band',
  'begin',
  'bnot',
  'bor',
  'bsl',
  'bsr',
  'bxor',
  'case',
  'catch',
  'cond',
  'div',
  'else',
  'end',
  'fun',
  'if',
  'let',
  'maybe',
  'not',
  'of',
  'or',
  'orelse',
  'receive',
  'rem',
  'try',
  'when',
  'xor',
]);

class Lexer extends TextCursor {
  protected error(reason: string, line: number, column: number): Error {
    return new ErlangSyntaxError(reason, line, column);
  }

  tokenize(): Token[] {
    const tokens: Token[] = [];
    for (;;) {
      while (this.pos < this.text.length) {
        const ch = this.peek();
        if (this.isSpace(ch)) this.advance();
        else if (ch === '%') while (this.pos < this.text.length && this.peek() !== '\n') this.advance();
        else break;
      }
      const loc = this.loc();
      if (this.pos >= this.text.length) {
        tokens.push({ kind: 'eof', loc });
        return tokens;
      }
      const ch = this.peek();
      if (ch === '.') {
        const after = this.peek(1);
        if (after === '' || this.isSpace(after) || after === '%') {
          this.advance();
          tokens.push({ kind: 'dot', loc });
          continue;
        }
        this.fail('"." must be followed by whitespace to end a term');
      }
      if (ch === '<' && this.peek(1) === '<') {
        this.pos += 2;
        tokens.push({ kind: 'punct', value: '<<', loc });
        continue;
      }
      if (ch === '>' && this.peek(1) === '>') {
        this.pos += 2;
        tokens.push({ kind: 'punct', value: '>>', loc });
        continue;
      }
      if (ch === '{' || ch === '}' || ch === '[' || ch === ']' || ch === ',' || ch === '|' || ch === '/' || ch === '-') {
        if (ch === '|' && this.peek(1) === '|') this.fail('list comprehensions are not supported');
        this.advance();
        tokens.push({ kind: 'punct', value: ch, loc });
        continue;
      }
      if (ch === '#') this.fail(this.peek(1) === '{' ? 'maps are not supported in lock files' : 'records are not supported in lock files');
      if (ch === '"') {
        this.advance();
        tokens.push({ kind: 'string', value: this.quoted('"', loc), loc });
        continue;
      }
      if (ch === "'") {
        this.advance();
        tokens.push({ kind: 'atom', value: this.quoted("'", loc), loc });
        continue;
      }
      if (ch === '$') {
        this.advance();
        if (this.pos >= this.text.length) this.fail('unexpected end of input after "$"', loc);
        const c = this.advance();
        const value = c === '\\' ? this.escape(loc) : c;
        tokens.push({ kind: 'integer', value: value.codePointAt(0)!, loc });
        continue;
      }
      if (/[0-9]/.test(ch)) {
        tokens.push({ kind: 'integer', value: this.integer(loc), loc });
        continue;
      }
      if (/[a-z]/.test(ch)) {
        let name = '';
        while (/[A-Za-z0-9_@]/.test(this.peek())) name += this.advance();
        if (RESERVED.has(name)) this.fail(`"${name}" is a reserved word; quote it ('${name}') to use it as an atom`, loc);
        tokens.push({ kind: 'atom', value: name, loc });
        continue;
      }
      if (/[A-Z_]/.test(ch)) this.fail('variables are not allowed in lock files');
      this.fail(`unexpected character ${JSON.stringify(ch)}`);
    }
  }

  private integer(loc: Loc): number {
    const readDigits = (digit: RegExp): string => {
      let digits = '';
      for (;;) {
        const ch = this.peek();
        if (digit.test(ch)) digits += this.advance();
        else if (ch === '_' && digits !== '' && digit.test(this.peek(1))) this.advance();
        else return digits;
      }
    };
    let value: number;
    const decimal = readDigits(/[0-9]/);
    if (this.peek() === '#') {
      const radix = Number(decimal);
      if (radix < 2 || radix > 36) this.fail(`invalid radix ${decimal}`, loc);
      this.advance();
      const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, radix);
      const digits = readDigits(new RegExp(`^[${alphabet}${alphabet.toUpperCase()}]$`));
      if (digits === '') this.fail(`expected base-${radix} digits`, loc);
      value = Number.parseInt(digits, radix);
    } else {
      if (this.peek() === '.' && /[0-9]/.test(this.peek(1))) this.fail('floats are not supported in lock files', loc);
      value = Number.parseInt(decimal, 10);
    }
    if (/[A-Za-z0-9_]/.test(this.peek())) this.fail(`invalid character ${JSON.stringify(this.peek())} in number`);
    if (!Number.isSafeInteger(value)) this.fail('integer is too large', loc);
    return value;
  }

  private quoted(quote: string, start: Loc): string {
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length) this.fail(`unterminated ${quote === '"' ? 'string' : 'quoted atom'}`, start);
      const ch = this.advance();
      if (ch === quote) return out;
      out += ch === '\\' ? this.escape(this.loc(this.pos - 1)) : ch;
    }
  }

  /** An escape sequence after the backslash (erl_scan). */
  private escape(loc: Loc): string {
    if (this.pos >= this.text.length) this.fail('unterminated escape sequence', loc);
    const e = this.advance();
    switch (e) {
      case 'b':
        return '\b';
      case 'd':
        return '\x7f';
      case 'e':
        return '\x1b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 's':
        return ' ';
      case 't':
        return '\t';
      case 'v':
        return '\v';
      case '^': {
        const c = this.advance();
        if (c === '') this.fail('unterminated escape sequence', loc);
        return String.fromCharCode(c.charCodeAt(0) & 31);
      }
      case 'x': {
        let hex = '';
        if (this.peek() === '{') {
          this.advance();
          while (/[0-9a-fA-F]/.test(this.peek())) hex += this.advance();
          if (this.peek() !== '}' || hex === '') this.fail('invalid \\x{...} escape', loc);
          this.advance();
        } else {
          while (/[0-9a-fA-F]/.test(this.peek()) && hex.length < 2) hex += this.advance();
          if (hex.length !== 2) this.fail('invalid \\x escape: expected 2 hex digits', loc);
        }
        const code = Number.parseInt(hex, 16);
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail('invalid code point in \\x escape', loc);
        return String.fromCodePoint(code);
      }
      default:
        if (/[0-7]/.test(e)) {
          let oct = e;
          while (/[0-7]/.test(this.peek()) && oct.length < 3) oct += this.advance();
          return String.fromCharCode(Number.parseInt(oct, 8));
        }
        return e; // \\ \" \' and any other character stand for themselves
    }
  }
}

class Parser extends TokenCursor<Token> {
  protected error(reason: string, line: number, column: number): Error {
    return new ErlangSyntaxError(reason, line, column);
  }

  parseAll(): ErlangTerm[] {
    const terms: ErlangTerm[] = [];
    while (this.peek().kind !== 'eof') {
      terms.push(this.value());
      const end = this.next();
      if (end.kind !== 'dot') this.fail(`expected "." after a term, found ${describe(end)}`, end);
    }
    return terms;
  }

  private value(): ErlangTerm {
    const token = this.next();
    const loc = token.loc;
    switch (token.kind) {
      case 'atom':
        return { type: 'atom', value: token.value, loc };
      case 'integer':
        return { type: 'integer', value: token.value, loc };
      case 'string': {
        let value = token.value;
        while (this.peek().kind === 'string') value += (this.next() as { value: string }).value;
        return { type: 'string', value, loc };
      }
      case 'dot':
        return this.fail('unexpected "." where a value was expected', token);
      case 'eof':
        return this.fail('unexpected end of input, expected a value', token);
      case 'punct':
        switch (token.value) {
          case '{': {
            const items = this.items('}', 'tuple');
            this.next(); // '}'
            return { type: 'tuple', items, loc };
          }
          case '[':
            return this.list(loc);
          case '<<':
            return this.binary(loc);
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

  /** Comma-separated values up to (not including) `close`, or `|` in a list. */
  private items(close: '}' | ']', what: string): ErlangTerm[] {
    const items: ErlangTerm[] = [];
    if (this.isPunct(close)) return items;
    for (;;) {
      items.push(this.value());
      const sep = this.peek();
      if (this.isPunct(',', sep)) {
        this.next();
        continue;
      }
      if (this.isPunct(close, sep) || (close === ']' && this.isPunct('|', sep))) return items;
      this.fail(`expected "," or "${close}" in ${what}, found ${describe(sep)}`, sep);
    }
  }

  private list(loc: Loc): ErlangTerm {
    const items = this.items(']', 'list');
    if (this.isPunct('|')) {
      this.next();
      const tailToken = this.peek();
      const tail = this.value();
      if (tail.type === 'list') items.push(...tail.items);
      else if (tail.type === 'string') for (const ch of tail.value) items.push({ type: 'integer', value: ch.codePointAt(0)!, loc: tail.loc });
      else this.fail('improper lists are not supported', tailToken);
      if (!this.isPunct(']')) this.fail(`expected "]" after the list tail, found ${describe(this.peek())}`);
    }
    this.next(); // ']'
    return { type: 'list', items, loc };
  }

  private binary(loc: Loc): ErlangTerm {
    const bytes: number[] = [];
    if (this.isPunct('>>')) {
      this.next();
      return { type: 'binary', value: '', loc };
    }
    for (;;) {
      const seg = this.next();
      let utf8 = false;
      const typeSpec = (): void => {
        if (!this.isPunct('/')) return;
        this.next();
        const spec = this.next();
        if (spec.kind !== 'atom' || !['utf8', 'binary', 'integer'].includes(spec.value)) {
          this.fail('only /utf8, /binary and /integer segment types are supported', spec);
        }
        utf8 = spec.value === 'utf8';
      };
      if (seg.kind === 'string') {
        let text = seg.value;
        while (this.peek().kind === 'string') text += (this.next() as { value: string }).value;
        typeSpec();
        if (utf8) {
          bytes.push(...new TextEncoder().encode(text));
        } else {
          for (const ch of text) {
            const code = ch.codePointAt(0)!;
            if (code > 255) this.fail('character above 255 in a binary segment; add /utf8', seg);
            bytes.push(code);
          }
        }
      } else if (seg.kind === 'integer') {
        typeSpec();
        if (utf8) bytes.push(...new TextEncoder().encode(String.fromCodePoint(seg.value)));
        else if (seg.value < 0 || seg.value > 255) this.fail('binary segment out of range 0..255', seg);
        else bytes.push(seg.value);
      } else {
        this.fail(`unsupported binary segment ${describe(seg)}`, seg);
      }
      const sep = this.next();
      if (this.isPunct('>>', sep)) break;
      if (!this.isPunct(',', sep)) this.fail(`expected "," or ">>" in binary, found ${describe(sep)}`, sep);
    }
    return { type: 'binary', value: decodeBytes(Uint8Array.from(bytes)), loc };
  }
}

function decodeBytes(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return String.fromCharCode(...bytes);
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of input';
    case 'dot':
      return '"."';
    case 'punct':
      return `"${token.value}"`;
    case 'atom':
      return `atom '${token.value}'`;
    case 'string':
      return `string ${JSON.stringify(token.value)}`;
    case 'integer':
      return `integer ${token.value}`;
  }
}

/** All dot-terminated terms in `text`, like file:consult/1. Throws ErlangSyntaxError. */
export function parseErlangTerms(text: string): ErlangTerm[] {
  return new Parser(new Lexer(text).tokenize()).parseAll();
}

/** The text of a binary, string or atom term (how rebar.lock spells names), else undefined. */
export function textOf(term: ErlangTerm | undefined): string | undefined {
  if (!term) return undefined;
  if (term.type === 'binary' || term.type === 'string' || term.type === 'atom') return term.value;
  return undefined;
}
