import { describe, expect, it } from 'vitest';
import { ElixirSyntaxError, keywordToMap, parseElixirTerm, type ElixirTerm } from '../../src-main/prewarm/elixir-terms.js';

/** The term without source locations, as plain JS: atoms as ':name', tuples as { tuple: [...] }. */
function plain(term: ElixirTerm): unknown {
  switch (term.type) {
    case 'atom':
      return `:${term.value}`;
    case 'string':
    case 'integer':
    case 'boolean':
      return term.value;
    case 'nil':
      return null;
    case 'tuple':
      return { tuple: term.items.map(plain) };
    case 'list':
      return term.items.map(plain);
    case 'map':
      return { map: term.entries.map((e) => [plain(e.key), plain(e.value)]) };
  }
}

const parse = (text: string) => plain(parseElixirTerm(text));

function syntaxError(text: string): ElixirSyntaxError {
  try {
    parseElixirTerm(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ElixirSyntaxError);
    return error as ElixirSyntaxError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

describe('parseElixirTerm: scalars', () => {
  it.each([
    [':hex', ':hex'],
    [':rebar3', ':rebar3'],
    [':valid?', ':valid?'],
    [':run!', ':run!'],
    [':node@host', ':node@host'],
    [':Foo', ':Foo'],
    [':"quoted atom"', ':quoted atom'],
    [":'single quoted'", ':single quoted'],
    [':"with \\"escape\\""', ':with "escape"'],
    ['Foo.Bar', ':Elixir.Foo.Bar'],
    ['Jason', ':Elixir.Jason'],
    ['true', true],
    ['false', false],
    ['nil', null],
    [':true', true],
    [':nil', null],
    ['0', 0],
    ['42', 42],
    ['1_000_000', 1000000],
    ['-17', -17],
    ['- 3', -3],
    ['0x1F', 31],
    ['0b101', 5],
    ['0o17', 15],
    ['""', ''],
    ['"hexpm"', 'hexpm'],
  ])('%s', (text, expected) => {
    expect(parse(text)).toEqual(expected);
  });

  it('decodes string escapes', () => {
    expect(parse('"a\\nb\\tc\\rd"')).toBe('a\nb\tc\rd');
    expect(parse('"quote \\" backslash \\\\"')).toBe('quote " backslash \\');
    expect(parse('"\\x41\\x{263A}\\u00e9\\u{1F600}"')).toBe('A\u263Aé\u{1F600}');
    expect(parse('"\\e\\a\\b\\f\\v\\0\\s\\d"')).toBe('\x1b\x07\b\f\v\0 \x7f');
    expect(parse('"\\#{not interpolated}"')).toBe('#{not interpolated}');
    expect(parse('"unknown \\q escape"')).toBe('unknown q escape');
    expect(parse('"line\\\ncontinued"')).toBe('linecontinued');
    expect(parse('"multi\nline"')).toBe('multi\nline');
    expect(parse('"café ☺"')).toBe('café ☺');
  });
});

describe('parseElixirTerm: collections', () => {
  it('parses tuples, lists and nesting', () => {
    expect(parse('{}')).toEqual({ tuple: [] });
    expect(parse('[]')).toEqual([]);
    expect(parse('{:hex, :jason, "1.4.4", [:mix], []}')).toEqual({ tuple: [':hex', ':jason', '1.4.4', [':mix'], []] });
    expect(parse('[{:a, [1, [2, {3}]]}]')).toEqual([{ tuple: [':a', [1, [2, { tuple: [3] }]]] }]);
  });

  it('turns keyword lists into {atom, value} tuples', () => {
    expect(parse('[hex: :jason, repo: "hexpm", optional: false]')).toEqual([
      { tuple: [':hex', ':jason'] },
      { tuple: [':repo', 'hexpm'] },
      { tuple: [':optional', false] },
    ]);
    expect(parse('[1, two: 2]')).toEqual([1, { tuple: [':two', 2] }]);
    expect(parse('["quoted key": 1, valid?: true]')).toEqual([{ tuple: [':quoted key', 1] }, { tuple: [':valid?', true] }]);
  });

  it('groups trailing keyword pairs in a tuple into one list', () => {
    expect(parse('{:jason, "~> 1.0", hex: :jason, optional: true}')).toEqual({
      tuple: [':jason', '~> 1.0', [{ tuple: [':hex', ':jason'] }, { tuple: [':optional', true] }]],
    });
  });

  it('parses maps with "=>" and with keyword keys, as Mix writes mix.lock', () => {
    expect(parse('%{"a" => 1, :b => [2]}')).toEqual({
      map: [
        ['a', 1],
        [':b', [2]],
      ],
    });
    expect(parse('%{"jason": {:hex, :jason}, plug: 2}')).toEqual({
      map: [
        [':jason', { tuple: [':hex', ':jason'] }],
        [':plug', 2],
      ],
    });
    expect(parse('%{"a" => 1, b: 2}')).toEqual({
      map: [
        ['a', 1],
        [':b', 2],
      ],
    });
    expect(parse('%{}')).toEqual({ map: [] });
  });

  it('accepts trailing commas, comments and blank lines', () => {
    const text = `# a comment
%{
  # entries
  "a": [1, 2,],   # trailing comma in a list
  "b": {:x, :y,},
  "c": %{"k" => 1,},

}
# done`;
    expect(parse(text)).toEqual({
      map: [
        [':a', [1, 2]],
        [':b', { tuple: [':x', ':y'] }],
        [':c', { map: [['k', 1]] }],
      ],
    });
  });

  it('records 1-based line:column locations', () => {
    const term = parseElixirTerm('%{\n  "jason": {:hex, :jason}\n}');
    expect(term.loc).toEqual({ line: 1, column: 1 });
    if (term.type !== 'map') throw new Error('not a map');
    const entry = term.entries[0]!;
    expect(entry.key.loc).toEqual({ line: 2, column: 3 });
    expect(entry.value.loc).toEqual({ line: 2, column: 12 });
    if (entry.value.type !== 'tuple') throw new Error('not a tuple');
    expect(entry.value.items[1]!.loc).toEqual({ line: 2, column: 19 });
  });
});

describe('keywordToMap', () => {
  it('maps keys to values, first occurrence wins', () => {
    const map = keywordToMap(parseElixirTerm('[hex: :jason, repo: "hexpm", optional: true, repo: "other"]'))!;
    expect([...map.keys()]).toEqual(['hex', 'repo', 'optional']);
    expect(plain(map.get('repo')!)).toBe('hexpm');
    expect(plain(map.get('optional')!)).toBe(true);
  });

  it('rejects anything that is not a keyword list', () => {
    expect(keywordToMap(parseElixirTerm('[1, 2]'))).toBeUndefined();
    expect(keywordToMap(parseElixirTerm('{:a, 1}'))).toBeUndefined();
    expect(keywordToMap(parseElixirTerm('[{"a", 1}]'))).toBeUndefined();
    expect(keywordToMap(parseElixirTerm('[]'))!.size).toBe(0);
  });
});

describe('parseElixirTerm: errors carry line:column', () => {
  it.each([
    ['unterminated string', '%{\n  "a": "oops\n}', 2, 8, 'unterminated string'],
    ['missing comma', '[1 2]', 1, 4, 'expected "," or "]" in list, found integer 2'],
    ['missing close', '{:a, :b', 1, 8, 'expected "," or "}" in tuple, found end of input'],
    ['variable', '[foo]', 1, 2, 'unexpected identifier "foo"'],
    ['function call', '{Foo.bar()}', 1, 5, 'function calls are not supported'],
    ['interpolation', '"a#{b}"', 1, 3, 'string interpolation is not supported'],
    ['float', '[1.5]', 1, 2, 'floats are not supported'],
    ['charlist', "'abc'", 1, 1, 'charlists are not supported'],
    ['sigil', '~s(abc)', 1, 1, 'sigils are not supported'],
    ['struct', '%Foo{}', 1, 1, 'structs are not supported'],
    ['heredoc', '"""\nx\n"""', 1, 1, 'heredocs are not supported'],
    ['keyword not last in list', '[a: 1, 2]', 1, 8, 'keyword pairs must come last'],
    ['keyword not last in map', '%{a: 1, "b" => 2}', 1, 9, 'keyword entries must come last'],
    ['missing =>', '%{"a" 1}', 1, 7, 'expected "=>" after a map key'],
    ['single =', '%{"a" = 1}', 1, 7, 'did you mean "=>"'],
    ['key without space', '[a:1]', 1, 4, 'must be followed by whitespace'],
    ['trailing content', '%{} %{}', 1, 5, 'after the end of the term'],
    ['empty input', '   ', 1, 4, 'unexpected end of input'],
    ['comment only', '# nothing\n', 2, 1, 'unexpected end of input'],
    ['bad escape', '"\\xZZ"', 1, 2, 'invalid \\x escape'],
    ['bare colon', '[: ]', 1, 2, 'unsupported atom syntax'],
    ['minus without number', '[-:a]', 1, 3, 'expected an integer after "-"'],
    ['stray close', ']', 1, 1, 'unexpected "]"'],
    ['key at top level', 'a: 1', 1, 1, 'unexpected keyword key'],
  ])('%s', (_label, text, line, column, reason) => {
    const error = syntaxError(text);
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
    expect(error.reason).toContain(reason);
    expect(error.message).toBe(`${line}:${column}: ${error.reason}`);
  });

  it('points at the right line deep into a file', () => {
    const lines = ['%{'];
    for (let i = 0; i < 30; i++) lines.push(`  "dep${i}": {:hex, :dep${i}, "1.0.${i}"},`);
    lines.push('  "bad": {:hex, :bad "1.0.0"},', '}');
    const error = syntaxError(lines.join('\n'));
    expect(error.line).toBe(32);
    expect(error.column).toBe(22); // the string after `:bad`
  });
});
