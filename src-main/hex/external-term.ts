// Erlang's external term format (what term_to_binary writes), for the JSON-like documents of
// hex.pm's API when a client asks for application/vnd.hex+erlang. hex_core decodes those with
// binary_to_term(Body, [safe]), which refuses atoms the node does not know yet, so the only
// atoms written are true, false and nil; strings are binaries and objects maps with binary
// keys, as hexpm renders them. No npm package for this is kept up (erlpack is a native addon
// for Discord's gateway), and the subset needed is small.

export type Term = null | boolean | number | string | Term[] | { [key: string]: Term };

const VERSION = 131;
const SMALL_INTEGER_EXT = 97;
const INTEGER_EXT = 98;
const NEW_FLOAT_EXT = 70;
const SMALL_BIG_EXT = 110;
const NIL_EXT = 106;
const LIST_EXT = 108;
const BINARY_EXT = 109;
const MAP_EXT = 116;
const SMALL_ATOM_UTF8_EXT = 119;

/** Nesting this deep is a bug in the caller, not a document (the API's go four levels down). */
const MAX_DEPTH = 64;

export function encodeTerm(value: Term): Buffer {
  const parts: Buffer[] = [Buffer.from([VERSION])];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const atom = (name: 'true' | 'false' | 'nil') => parts.push(Buffer.from([SMALL_ATOM_UTF8_EXT, name.length]), Buffer.from(name, 'latin1'));
  const binary = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    parts.push(Buffer.from([BINARY_EXT]), u32(bytes.length), bytes);
  };
  const number = (n: number) => {
    if (!Number.isFinite(n)) throw new TypeError(`${n} has no Erlang term`);
    if (Number.isInteger(n) && n >= 0 && n <= 255) parts.push(Buffer.from([SMALL_INTEGER_EXT, n]));
    else if (Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31) {
      const b = Buffer.alloc(5);
      b[0] = INTEGER_EXT;
      b.writeInt32BE(n, 1);
      parts.push(b);
    } else if (Number.isSafeInteger(n)) {
      // Little-endian magnitude bytes after the sign byte.
      const digits: number[] = [];
      for (let rest = BigInt(Math.abs(n)); rest > 0n; rest >>= 8n) digits.push(Number(rest & 0xffn));
      parts.push(Buffer.from([SMALL_BIG_EXT, digits.length, n < 0 ? 1 : 0, ...digits]));
    } else {
      const b = Buffer.alloc(9);
      b[0] = NEW_FLOAT_EXT;
      b.writeDoubleBE(n, 1);
      parts.push(b);
    }
  };
  const walk = (v: Term, depth: number): void => {
    if (depth > MAX_DEPTH) throw new TypeError(`term nested deeper than ${MAX_DEPTH} levels`);
    if (v === null) atom('nil');
    else if (v === true) atom('true');
    else if (v === false) atom('false');
    else if (typeof v === 'string') binary(v);
    else if (typeof v === 'number') number(v);
    else if (Array.isArray(v)) {
      // A proper list: its elements, then the empty list as its tail.
      if (v.length > 0) {
        parts.push(Buffer.from([LIST_EXT]), u32(v.length));
        for (const item of v) walk(item, depth + 1);
      }
      parts.push(Buffer.from([NIL_EXT]));
    } else {
      const entries = Object.entries(v);
      parts.push(Buffer.from([MAP_EXT]), u32(entries.length));
      for (const [key, item] of entries) {
        binary(key);
        walk(item, depth + 1);
      }
    }
  };
  walk(value, 0);
  return Buffer.concat(parts);
}
