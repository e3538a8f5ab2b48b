/** One MIME entity: its headers (names lower-cased, unfolded, encoded words decoded) and body. */
export interface MimePart {
  headers: Record<string, string>;
  contentType: string;
  body: Buffer;
  parts: MimePart[];
}

export interface ParsedMail {
  headers: Record<string, string>;
  subject: string;
  /** Every leaf part, depth first (text, html, attachments, inline images). */
  leaves: MimePart[];
  text: string;
  html: string;
}

/** Enough of RFC 2045/2047 to read what nodemailer writes; the tests check it byte for byte. */
export function parseMail(raw: Buffer): ParsedMail {
  const root = parseEntity(raw.toString('latin1'));
  const leaves: MimePart[] = [];
  const walk = (part: MimePart) =>
    part.parts.length === 0 ? leaves.push(part) : part.parts.forEach(walk);
  walk(root);
  const bodyOf = (type: string) =>
    leaves
      .find((leaf) => leaf.contentType === type && !leaf.headers['content-disposition'])
      ?.body.toString('utf8') ?? '';
  return {
    headers: root.headers,
    subject: root.headers.subject ?? '',
    leaves,
    text: bodyOf('text/plain'),
    html: bodyOf('text/html'),
  };
}

function parseEntity(entity: string): MimePart {
  const split = entity.indexOf('\r\n\r\n');
  const head = split < 0 ? entity : entity.slice(0, split);
  const body = split < 0 ? '' : entity.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = decodeWords(
        line.slice(colon + 1).trim(),
      );
  }
  const contentType = (headers['content-type'] ?? 'text/plain').split(';')[0].trim().toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  if (contentType.startsWith('multipart/') && boundary) {
    const sections = body.split(`--${boundary}`);
    const parts = sections
      .slice(1)
      .filter((section) => !section.startsWith('--'))
      .map((section) => parseEntity(section.replace(/^\r\n/, '').replace(/\r\n$/, '')));
    return { headers, contentType, body: Buffer.alloc(0), parts };
  }
  return { headers, contentType, body: decodeBody(body, headers), parts: [] };
}

function decodeBody(body: string, headers: Record<string, string>): Buffer {
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return Buffer.from(body, 'latin1');
}

function decodeQuotedPrintable(text: string): Buffer {
  const bytes: number[] = [];
  const soft = text.replace(/=\r\n/g, '');
  for (let i = 0; i < soft.length; i += 1) {
    if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(soft.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

/** RFC 2047 encoded words (=?UTF-8?B?...?= and =?UTF-8?Q?...?=). */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_match, _charset, kind: string, data: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')).toString('utf8'),
    );
}
