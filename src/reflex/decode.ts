/**
 * Decoding of encoded segments, so that "aWdub3JlIGFsbCBwcmV2aW91cyBpbnN0cnVjdGlvbnM=" is scanned as
 * what it says. Only segments that decode to plausible text are returned: most long tokens in real
 * traffic are hashes, ids and keys, and decode to noise.
 */

export type SegmentEncoding = "base64" | "hex" | "url_encoding" | "unicode_tags";

export interface DecodedSegment {
  encoding: SegmentEncoding;
  start: number;
  end: number;
  text: string;
}

function isB64(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2b || c === 0x2f || c === 0x2d || c === 0x5f;
}

/** Mostly printable ASCII with some spaces: text, not bytes. */
export function plausibleText(s: string): boolean {
  if (s.length < 8) return false;
  let printable = 0;
  let spaces = 0;
  let letters = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20) spaces++;
    if ((c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x0d || c === 0x09 || c >= 0xa0) printable++;
    if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) letters++;
  }
  return printable >= s.length * 0.95 && spaces >= 1 && letters >= s.length * 0.5;
}

/** The base64 segment around [start, end) (a long alphanumeric token), decoded if it is text. */
export function decodeBase64At(text: string, start: number, end: number, maxLength: number): DecodedSegment | null {
  let a = start;
  let b = end;
  while (a > 0 && start - a < maxLength && isB64(text.charCodeAt(a - 1))) a--;
  while (b < text.length && b - a < maxLength * 2 && isB64(text.charCodeAt(b))) b++;
  const body = b;
  while (b < text.length && text.charCodeAt(b) === 0x3d && b - body < 2) b++; // '=' padding
  const seg = text.slice(a, body);
  if (seg.length < 16 || seg.length % 4 === 1) return null;
  if (!/[A-Z]/.test(seg) || !/[a-z]/.test(seg)) return null;
  const decoded = Buffer.from(seg.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8");
  return plausibleText(decoded) ? { encoding: "base64", start: a, end: b, text: decoded.slice(0, maxLength) } : null;
}

export function decodeHexAt(text: string, start: number, end: number, maxLength: number): DecodedSegment | null {
  const seg = text.slice(start, end);
  if (seg.length < 16 || seg.length % 2 !== 0 || seg.length > maxLength * 2 || !/^[0-9a-fA-F]+$/.test(seg)) return null;
  const decoded = Buffer.from(seg, "hex").toString("utf8");
  return plausibleText(decoded) ? { encoding: "hex", start, end, text: decoded } : null;
}

/** A run of %XX escapes inside a whitespace-delimited segment. */
export function decodeUrlAt(text: string, start: number, end: number, maxLength: number): DecodedSegment | null {
  let a = start;
  let b = end;
  while (a > 0 && start - a < maxLength && !/\s/.test(text[a - 1])) a--;
  while (b < text.length && b - a < maxLength * 3 && !/\s/.test(text[b])) b++;
  const seg = text.slice(a, b).replace(/\+/g, " ");
  let decoded: string;
  try {
    decoded = decodeURIComponent(seg);
  } catch {
    decoded = seg.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  return decoded !== seg && plausibleText(decoded) ? { encoding: "url_encoding", start: a, end: b, text: decoded } : null;
}

/**
 * Unicode tag characters (U+E0020–U+E007E) spell ASCII invisibly. Returns the hidden text and where it
 * was, or null when there is none worth reading (emoji flag sequences use a few tags legitimately).
 */
export function decodeUnicodeTags(text: string): DecodedSegment | null {
  let hidden = "";
  let first = -1;
  let last = -1;
  for (let i = text.indexOf("\udb40"); i >= 0 && i < text.length - 1; i = text.indexOf("\udb40", i + 2)) {
    const lo = text.charCodeAt(i + 1);
    if (lo >= 0xdc20 && lo <= 0xdc7e) {
      hidden += String.fromCharCode(lo - 0xdc00);
      if (first < 0) first = i;
      last = i + 2;
    }
  }
  return hidden.length >= 6 && /[a-z]{3}/i.test(hidden) ? { encoding: "unicode_tags", start: first, end: last, text: hidden } : null;
}
