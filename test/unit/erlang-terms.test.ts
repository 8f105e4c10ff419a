import { describe, expect, it } from 'vitest';
import { ErlangSyntaxError, parseErlangTerms, textOf, type ErlangTerm } from '../../src-main/prewarm/erlang-terms.js';

/** Terms without locations: atoms as 'name', binaries as { bin }, strings as { str }. */
function plain(term: ErlangTerm): unknown {
  switch (term.type) {
    case 'atom':
      return term.value;
    case 'string':
      return { str: term.value };
    case 'binary':
      return { bin: term.value };
    case 'integer':
      return term.value;
    case 'tuple':
      return { tuple: term.items.map(plain) };
    case 'list':
      return term.items.map(plain);
  }
}

const parse = (text: string) => parseErlangTerms(text).map(plain);
const one = (text: string) => {
  const terms = parse(text);
  expect(terms).toHaveLength(1);
  return terms[0];
};

function syntaxError(text: string): ErlangSyntaxError {
  try {
    parseErlangTerms(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ErlangSyntaxError);
    return error as ErlangSyntaxError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

describe('parseErlangTerms', () => {
  it('returns every dot-terminated term, like file:consult', () => {
    expect(parse('{"1.2.0", []}.\n[{pkg_hash, []}].\n')).toEqual([{ tuple: [{ str: '1.2.0' }, []] }, [{ tuple: ['pkg_hash', []] }]]);
    expect(parse('a. b.\nc.')).toEqual(['a', 'b', 'c']);
    expect(parse('')).toEqual([]);
    expect(parse('% only a comment\n')).toEqual([]);
    expect(parse('ok.% comment right after the dot')).toEqual(['ok']);
  });

  it.each([
    ['atom', 'pkg.', 'pkg'],
    ['atom with @ and digits', 'node_1@host.', 'node_1@host'],
    ['quoted atom', "'Quoted Atom'.", 'Quoted Atom'],
    ['quoted reserved word', "'end'.", 'end'],
    ['quoted atom with escapes', "'it\\'s'.", "it's"],
    ['integer', '42.', 42],
    ['negative', '-7.', -7],
    ['underscores', '1_000.', 1000],
    ['radix', '16#FF.', 255],
    ['radix lowercase', '16#ff.', 255],
    ['binary radix', '2#1010.', 10],
    ['base 36', '36#Z.', 35],
    ['char', '$a.', 97],
    ['char escape', '$\\n.', 10],
    ['empty tuple', '{}.', { tuple: [] }],
    ['empty list', '[].', []],
    ['empty binary', '<<>>.', { bin: '' }],
    ['binary', '<<"cowboy">>.', { bin: 'cowboy' }],
    ['binary of bytes', '<<104,105>>.', { bin: 'hi' }],
    ['binary mixed', '<<"caf",195,169>>.', { bin: 'café' }],
    ['binary utf8', '<<"café"/utf8>>.', { bin: 'café' }],
    ['binary utf8 integer', '<<9786/utf8>>.', { bin: '☺' }],
    ['binary latin1 bytes', '<<233>>.', { bin: 'é' }],
    ['string', '"https://github.com/x/y.git".', { str: 'https://github.com/x/y.git' }],
    ['adjacent strings', '"abc" "def".', { str: 'abcdef' }],
    ['cons list', '[a, b | [c]].', ['a', 'b', 'c']],
    ['cons onto string', '[$a | "bc"].', [97, 98, 99]],
  ])('%s', (_label, text, expected) => {
    expect(one(text)).toEqual(expected);
  });

  it('decodes string escapes', () => {
    expect(one('"a\\nb\\tc\\\\d\\"e".')).toEqual({ str: 'a\nb\tc\\d"e' });
    expect(one('"\\x41\\x{263A}\\101\\7\\^a\\s\\e\\d".')).toEqual({ str: 'A\u263AA\x07\x01 \x1b\x7f' });
  });

  it('parses the rebar.lock shape', () => {
    const text = `{"1.2.0",
[{<<"cowboy">>,{pkg,<<"cowboy">>,<<"2.12.0">>},0},
 {<<"jsx">>,
  {git,"https://github.com/talentdeficit/jsx.git",
       {ref,"3074d4865b3385a050badf7828ad31490d860df5"}},
  0}]}.
[
{pkg_hash,[
 {<<"cowboy">>, <<"8A7ABE6D183372CEB21CAA2709BEC928AB2B72E18A3911AA1771639BEF82651E">>}]},
{pkg_hash_ext,[
 {<<"cowboy">>, <<"04FD8C6A39EDC6AAA9C26123009200FC61F92A3A94F3178C527B70B767C6E605">>}]}
].
`;
    const [head, attrs] = parse(text);
    expect(head).toEqual({
      tuple: [
        { str: '1.2.0' },
        [
          { tuple: [{ bin: 'cowboy' }, { tuple: ['pkg', { bin: 'cowboy' }, { bin: '2.12.0' }] }, 0] },
          {
            tuple: [
              { bin: 'jsx' },
              { tuple: ['git', { str: 'https://github.com/talentdeficit/jsx.git' }, { tuple: ['ref', { str: '3074d4865b3385a050badf7828ad31490d860df5' }] }] },
              0,
            ],
          },
        ],
      ],
    });
    expect(attrs).toEqual([
      { tuple: ['pkg_hash', [{ tuple: [{ bin: 'cowboy' }, { bin: '8A7ABE6D183372CEB21CAA2709BEC928AB2B72E18A3911AA1771639BEF82651E' }] }]] },
      { tuple: ['pkg_hash_ext', [{ tuple: [{ bin: 'cowboy' }, { bin: '04FD8C6A39EDC6AAA9C26123009200FC61F92A3A94F3178C527B70B767C6E605' }] }]] },
    ]);
  });

  it('records line:column locations', () => {
    const [term] = parseErlangTerms('%% header\n{a,\n  <<"b">>}.');
    expect(term!.loc).toEqual({ line: 2, column: 1 });
    if (term!.type !== 'tuple') throw new Error('not a tuple');
    expect(term!.items[1]!.loc).toEqual({ line: 3, column: 3 });
  });

  it('textOf reads binaries, strings and atoms', () => {
    const [term] = parseErlangTerms('{<<"a">>, "b", c, 1}.');
    if (term!.type !== 'tuple') throw new Error('not a tuple');
    expect(term!.items.map(textOf)).toEqual(['a', 'b', 'c', undefined]);
    expect(textOf(undefined)).toBeUndefined();
  });
});

describe('parseErlangTerms: errors carry line:column', () => {
  it.each([
    ['missing dot', '{a, b}', 1, 7, 'expected "." after a term, found end of input'],
    ['missing dot between terms', '{a}\n{b}.', 2, 1, 'expected "." after a term'],
    ['missing comma', '[a b].', 1, 4, 'expected "," or "]" in list'],
    ['unclosed tuple', '{a, b.', 1, 6, 'expected "," or "}" in tuple, found "."'],
    ['float', '[1.5].', 1, 2, 'floats are not supported'],
    ['variable', '{Foo}.', 1, 2, 'variables are not allowed'],
    ['underscore variable', '[_].', 1, 2, 'variables are not allowed'],
    ['map', '#{a => 1}.', 1, 1, 'maps are not supported'],
    ['record', '#rec{}.', 1, 1, 'records are not supported'],
    ['reserved word', '{end}.', 1, 2, 'reserved word'],
    ['unterminated string', '{"abc}.\n', 1, 2, 'unterminated string'],
    ['unterminated atom', "{'abc}.", 1, 2, 'unterminated quoted atom'],
    ['dot without space', '{a}.b.', 1, 4, '"." must be followed by whitespace'],
    ['binary segment out of range', '<<256>>.', 1, 3, 'out of range'],
    ['wide char in latin1 segment', '<<"☺">>.', 1, 3, 'add /utf8'],
    ['improper list', '[a | b].', 1, 6, 'improper lists are not supported'],
    ['bad radix', '99#1.', 1, 1, 'invalid radix'],
    ['bad char', '{a} ; b.', 1, 5, 'unexpected character ";"'],
    ['stray dot', '.', 1, 1, 'unexpected "."'],
    ['unknown binary type', '<<"a"/float>>.', 1, 7, 'segment types'],
  ])('%s', (_label, text, line, column, reason) => {
    const error = syntaxError(text);
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
    expect(error.reason).toContain(reason);
    expect(error.message).toBe(`${line}:${column}: ${error.reason}`);
  });
});
