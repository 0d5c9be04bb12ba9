/**
 * A small strict XML parser (no regular expressions): well-formedness + a tree for assertions.
 * Used by the JUnit tests (renderer unit tests and the CLI tests).
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

function isNameStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === ':';
}

function isNameChar(c: string): boolean {
  return isNameStart(c) || (c >= '0' && c <= '9') || c === '-' || c === '.';
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\n' || c === '\t' || c === '\r';
}

export function parseXml(src: string): XmlElement {
  for (let i = 0; i < src.length; ) {
    const cp = src.codePointAt(i)!;
    if (!isXmlChar(cp)) throw new Error(`invalid XML character U+${cp.toString(16)} at ${i}`);
    // a lone high surrogate gives its own code point (invalid above); a pair advances by 2
    i += cp > 0xffff ? 2 : 1;
  }
  let pos = 0;
  const fail = (msg: string): never => {
    throw new Error(`${msg} at offset ${pos}: ${JSON.stringify(src.slice(pos, pos + 40))}`);
  };
  const skipSpace = () => {
    while (isSpace(src[pos])) pos++;
  };
  const readName = (): string => {
    const start = pos;
    if (!isNameStart(src[pos] ?? '')) fail('expected a name');
    while (pos < src.length && isNameChar(src[pos]!)) pos++;
    return src.slice(start, pos);
  };
  const readEntity = (): string => {
    // at '&'
    const end = src.indexOf(';', pos);
    if (end < 0 || end - pos > 10) fail('unterminated entity reference');
    const ent = src.slice(pos + 1, end);
    pos = end + 1;
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (Object.hasOwn(named, ent)) return named[ent]!;
    if (ent.startsWith('#x') && ent.length > 2) {
      const n = Number.parseInt(ent.slice(2), 16);
      if (!Number.isFinite(n) || !isXmlChar(n) || n.toString(16) !== ent.slice(2).toLowerCase().replace(/^0+(?=.)/, ''))
        fail(`bad character reference &${ent};`);
      return String.fromCodePoint(n);
    }
    if (ent.startsWith('#') && ent.length > 1) {
      const n = Number(ent.slice(1));
      if (!Number.isInteger(n) || !isXmlChar(n)) fail(`bad character reference &${ent};`);
      return String.fromCodePoint(n);
    }
    return fail(`unknown entity &${ent};`);
  };
  const readAttrValue = (): string => {
    const quote = src[pos];
    if (quote !== '"' && quote !== "'") fail('expected a quoted attribute value');
    pos++;
    let value = '';
    for (;;) {
      const c = src[pos];
      if (c === undefined) fail('unterminated attribute value');
      if (c === quote) {
        pos++;
        return value;
      }
      if (c === '<') fail("'<' in attribute value");
      if (c === '&') value += readEntity();
      else {
        value += c;
        pos++;
      }
    }
  };
  const readElement = (): XmlElement => {
    if (src[pos] !== '<') fail("expected '<'");
    pos++;
    const name = readName();
    const el: XmlElement = { name, attrs: {}, children: [], text: '' };
    for (;;) {
      const hadSpace = isSpace(src[pos]);
      skipSpace();
      if (src.startsWith('/>', pos)) {
        pos += 2;
        return el;
      }
      if (src[pos] === '>') {
        pos++;
        break;
      }
      if (!hadSpace) fail('expected whitespace before an attribute');
      const attr = readName();
      skipSpace();
      if (src[pos] !== '=') fail("expected '='");
      pos++;
      skipSpace();
      if (Object.hasOwn(el.attrs, attr)) fail(`duplicate attribute ${attr}`);
      el.attrs[attr] = readAttrValue();
    }
    // content
    for (;;) {
      const c = src[pos];
      if (c === undefined) fail(`unclosed element <${name}>`);
      if (src.startsWith('</', pos)) {
        pos += 2;
        const close = readName();
        if (close !== name) fail(`</${close}> closes <${name}>`);
        skipSpace();
        if (src[pos] !== '>') fail("expected '>'");
        pos++;
        return el;
      }
      if (c === '<') {
        el.children.push(readElement());
      } else if (c === '&') {
        el.text += readEntity();
      } else if (c === '>' && src.startsWith(']]>', pos - 2)) {
        fail("']]>' in text");
      } else {
        el.text += c;
        pos++;
      }
    }
  };
  if (src.startsWith('<?xml')) {
    const end = src.indexOf('?>');
    if (end < 0) fail('unterminated XML declaration');
    pos = end + 2;
  }
  skipSpace();
  const root = readElement();
  skipSpace();
  if (pos !== src.length) fail('content after the root element');
  return root;
}

export const childrenNamed = (el: XmlElement, name: string) => el.children.filter((c) => c.name === name);
