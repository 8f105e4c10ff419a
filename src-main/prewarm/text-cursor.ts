// A position in source text with line and column, shared by the Elixir and Erlang term
// lexers (mix.lock and rebar.lock), which differ only in the tokens they read.
export interface Loc {
  line: number;
  column: number;
}

const SPACE = new Set([' ', '\t', '\r', '\n', '\f', '\v', '\uFEFF']);

export abstract class TextCursor {
  protected pos = 0;
  protected line = 1;
  protected lineStart = 0;

  constructor(protected readonly text: string) {}

  /** The syntax error of the language being read. */
  protected abstract error(reason: string, line: number, column: number): Error;

  protected loc(at = this.pos): Loc {
    return { line: this.line, column: at - this.lineStart + 1 };
  }

  protected fail(reason: string, loc: Loc = this.loc()): never {
    throw this.error(reason, loc.line, loc.column);
  }

  protected peek(offset = 0): string {
    return this.text.charAt(this.pos + offset);
  }

  protected advance(): string {
    const ch = this.text.charAt(this.pos++);
    if (ch === '\n') {
      this.line++;
      this.lineStart = this.pos;
    }
    return ch;
  }

  protected isSpace(ch: string): boolean {
    return SPACE.has(ch);
  }
}

/** A position in a token list, shared by the two term parsers. */
export abstract class TokenCursor<T extends { kind: string; loc: Loc; value?: unknown }> {
  private i = 0;

  constructor(private readonly tokens: T[]) {}

  protected abstract error(reason: string, line: number, column: number): Error;

  protected peek(): T {
    return this.tokens[this.i] ?? this.tokens[this.tokens.length - 1]!;
  }

  protected next(): T {
    const token = this.peek();
    if (token.kind !== 'eof') this.i++;
    return token;
  }

  protected fail(reason: string, token: T = this.peek()): never {
    throw this.error(reason, token.loc.line, token.loc.column);
  }

  protected isPunct(value: string, token: T = this.peek()): boolean {
    return token.kind === 'punct' && token.value === value;
  }
}

/** A syntax error at a line and column; each term language names its own subclass. */
export class TermSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${reason}`);
    this.name = new.target.name;
  }
}
