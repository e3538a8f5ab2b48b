import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ts from 'typescript';
import { ORDER_TRANSITIONS } from './order-lifecycle';

const ROOT = join(__dirname, '..', '..', '..');

/** The TypeScript sources under libs/ and apps/, tests left out (paths from the root). */
function sourceFiles(dir = join(ROOT, 'libs'), files: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, files);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts'))
      files.push(relative(ROOT, path));
  }
  return files;
}

const FILES = [...sourceFiles(), ...sourceFiles(join(ROOT, 'apps'))].sort();

const parsed = new Map<string, ts.SourceFile>();

function parse(file: string): ts.SourceFile {
  let source = parsed.get(file);
  if (!source) {
    source = ts.createSourceFile(
      file,
      readFileSync(join(ROOT, file), 'utf8'),
      ts.ScriptTarget.Latest,
    );
    parsed.set(file, source);
  }
  return source;
}

/** Every string and template literal of a file; a template's substitutions become `?`. */
function literals(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) found.push(node.text);
    else if (ts.isTemplateExpression(node))
      found.push(
        node.head.text + node.templateSpans.map((span) => `?${span.literal.text}`).join(''),
      );
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The columns an UPDATE's SET list assigns; `text` starts after `SET`. The list ends at a
 * top-level FROM, WHERE or RETURNING, at the `)` that closes a CTE's body, or at the end.
 */
function setColumns(text: string): string[] {
  const columns: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const char = text[i];
    if (char === "'") quoted = !quoted;
    if (quoted) continue;
    const end =
      i === text.length ||
      (depth === 0 && (char === ')' || /^ (FROM|WHERE|RETURNING)\b/i.test(text.slice(i))));
    if (end || (depth === 0 && char === ',')) {
      // `status = …`, or `(a, status) = (…)`; a column may not be qualified, but be lenient.
      const target = text.slice(start, i).split('=')[0].replace(/[()]/g, '');
      columns.push(...target.split(',').map((column) => column.trim().split('.').pop()!));
      if (end) break;
      start = i + 1;
    } else if (char === '(') depth++;
    else if (char === ')') depth--;
  }
  return columns.map((column) => column.toLowerCase());
}

/** The tables among `tables` whose `status` column a SQL text writes (UPDATE … SET, INSERT). */
function statusWrites(text: string, tables = ['orders', 'tickets']): string[] {
  const sql = text.replace(/\s+/g, ' ');
  const names = tables.join('|');
  const written = new Set<string>();
  const updates = new RegExp(
    `\\bUPDATE (?:ONLY )?(${names})\\b(?: (?:AS )?(?!SET\\b)\\w+)? SET `,
    'gi',
  );
  for (const match of sql.matchAll(updates)) {
    if (setColumns(sql.slice(match.index + match[0].length)).includes('status'))
      written.add(match[1].toLowerCase());
  }
  const inserts = new RegExp(`\\bINSERT INTO (${names}) \\(([^)]*)\\)`, 'gi');
  for (const match of sql.matchAll(inserts)) {
    if (match[2].split(',').some((column) => column.trim().toLowerCase() === 'status'))
      written.add(match[1].toLowerCase());
  }
  return [...written].sort();
}

/** The files whose literals match `matches`. */
function filesWhere(matches: (literal: string) => boolean): string[] {
  return FILES.filter((file) => literals(parse(file)).some(matches));
}

/** The file that declares `export class <name>`, with the names of its methods. */
function classDeclaration(name: string): { file: string; methods: string[] } | undefined {
  for (const file of FILES) {
    const source = parse(file);
    for (const statement of source.statements) {
      if (ts.isClassDeclaration(statement) && statement.name?.text === name) {
        const methods = statement.members.flatMap((member) =>
          (ts.isMethodDeclaration(member) || ts.isGetAccessor(member)) &&
          ts.isIdentifier(member.name)
            ? [member.name.text]
            : [],
        );
        return { file, methods };
      }
    }
  }
  return undefined;
}

/** The edges of the first Mermaid block of a Markdown file, `[*]` as null. */
function mermaidEdges(markdown: string): { from: string | null; to: string }[] {
  const block = /```mermaid\n([\s\S]*?)```/.exec(markdown)?.[1] ?? '';
  return [...block.matchAll(/^\s*(\[\*\]|\w+)\s*-->\s*(\w+)/gm)].map(([, from, to]) => ({
    from: from === '[*]' ? null : from,
    to,
  }));
}

function edgeKeys(edges: readonly { from: string | null; to: string }[]): string[] {
  return [...new Set(edges.map(({ from, to }) => `${from ?? '[*]'} --> ${to}`))].sort();
}

describe('docs/order-lifecycle.md', () => {
  it('draws the edges of ORDER_TRANSITIONS, no more and no fewer', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'order-lifecycle.md'), 'utf8');
    const drawn = mermaidEdges(doc);
    expect(drawn.length).toBeGreaterThan(0);
    expect(edgeKeys(drawn)).toEqual(edgeKeys(ORDER_TRANSITIONS));
  });
});

describe('the status parser of this guard', () => {
  it('finds status writes whatever the layout of the SQL', () => {
    expect(statusWrites(`UPDATE orders o\n   SET updated_at = now(),\n       status = $2`)).toEqual(
      ['orders'],
    );
    expect(
      statusWrites(`WITH taken AS (\n  UPDATE tickets t\n  SET status = 'locked' FROM go)`),
    ).toEqual(['tickets']);
    expect(statusWrites(`INSERT INTO orders (id, user_id,\n  status, quantity) SELECT 1`)).toEqual([
      'orders',
    ]);
  });

  it('leaves out writes of other columns, and conditions on the status', () => {
    expect(
      statusWrites(
        `UPDATE orders SET checkout_session_id = $2 WHERE id = $1 AND status = 'pending'`,
      ),
    ).toEqual([]);
    expect(
      statusWrites(`WITH s AS (UPDATE orders SET payment_intent_id = $2 WHERE id = $1)
                    SELECT status FROM orders`),
    ).toEqual([]);
    expect(statusWrites(`INSERT INTO tickets (id, ticket_type_id, serial) SELECT 1`)).toEqual([]);
    expect(statusWrites(`UPDATE waitlist_entries SET status = 'left'`)).toEqual([]);
  });
});

describe('one home for an order life', () => {
  const classes = [...new Set(ORDER_TRANSITIONS.map((row) => row.method.split('.')[0]))];

  it('names in ORDER_TRANSITIONS only methods that exist', () => {
    for (const row of ORDER_TRANSITIONS) {
      const [name, method] = row.method.split('.');
      expect(classDeclaration(name)?.methods).toContain(method);
    }
  });

  it('writes the status of orders and tickets only in the classes ORDER_TRANSITIONS names', () => {
    const homes = classes.map((name) => classDeclaration(name)!.file).sort();
    expect(homes).toEqual([
      'libs/orders/src/hold-batcher.ts',
      'libs/orders/src/order-lifecycle.ts',
    ]);
    expect(filesWhere((literal) => statusWrites(literal).length > 0)).toEqual(homes);
  });

  it('inserts outbox rows only in the outbox writer', () => {
    expect(filesWhere((literal) => /\bINSERT\s+INTO\s+outbox\b/i.test(literal))).toEqual([
      'libs/outbox/src/outbox.ts',
    ]);
  });
});
