import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ROOT } from '../support/processes';

/** The README and every page under docs/. */
function documents(): string[] {
  const docs = join(ROOT, 'docs');
  const pages = readdirSync(docs, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(docs, name));
  return [join(ROOT, 'README.md'), ...pages];
}

/** Markdown without fenced code blocks, whose `#` lines and brackets are examples. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** Markdown without any code: inline code spans hold examples too, not links. */
function withoutCode(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, '');
}

/** Targets of inline links and images, `[text](target)`, and of reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = withoutCode(markdown);
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)];
  const references = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)];
  return [...inline, ...references].map((match) => match[1]);
}

/** The anchors GitHub gives a document's headings (lower case, punctuation dropped, -n for repeats). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/[`*]/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** What is wrong with one relative link of `from`, or undefined when it resolves. */
function brokenLink(from: string, target: string): string | undefined {
  const [path, anchor] = target.split('#', 2) as [string, string | undefined];
  const file = path === '' ? from : resolve(dirname(from), decodeURIComponent(path));
  if (relative(ROOT, file).startsWith(`..${sep}`) || relative(ROOT, file) === '..') {
    return 'points outside the repository';
  }
  if (!existsSync(file)) return 'no such file';
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md') || statSync(file).isDirectory())
    return 'an anchor into a non-Markdown file';
  return anchorsOf(readFileSync(file, 'utf8')).has(anchor) ? undefined : 'no such heading';
}

/** The house stays walkable: every relative link of the README and docs/ leads somewhere. */
describe('links in the README and docs/', () => {
  it('finds the documents and their links', () => {
    const pages = documents();
    expect(pages.length).toBeGreaterThan(10);
    const readme = linkTargets(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(readme).toContain('docs/configuration.md');
  });

  it.each(documents().map((file) => [relative(ROOT, file), file]))(
    'every relative link of %s resolves',
    (_, file) => {
      const broken = linkTargets(readFileSync(file, 'utf8'))
        .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
        .map((target) => [target, brokenLink(file, target)])
        .filter(([, problem]) => problem !== undefined)
        .map(([target, problem]) => `${target}: ${problem}`);
      expect(broken).toEqual([]);
    },
  );

  it('tells a heading anchor as GitHub does', () => {
    const anchors = anchorsOf(
      '# Live availability (socket.io)\n## `JWT_SECRET`\n## Notes\n## Notes\n```\n# not a heading\n```\n',
    );
    expect([...anchors]).toEqual(['live-availability-socketio', 'jwt_secret', 'notes', 'notes-1']);
  });
});
