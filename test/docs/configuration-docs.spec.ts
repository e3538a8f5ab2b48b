import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Environment } from '@app/config';
import { generatedFiles, readSchema, ROOT, SCHEMA } from '../../scripts/config-docs';

/** The first line where two texts part, for a failure message a person can act on. */
function firstDifference(committed: string, generated: string): string {
  const [a, b] = [committed.split('\n'), generated.split('\n')];
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}:\n  committed: ${a[at] ?? '(end of file)'}\n  generated: ${b[at] ?? '(end of file)'}`;
}

/** docs/configuration.md and .env.example are generated from the config schema, never edited. */
describe('configuration docs', () => {
  it.each(Object.entries(generatedFiles()))(
    '%s is what the config schema generates',
    (file, generated) => {
      const committed = readFileSync(join(ROOT, file), 'utf8');
      const verdict =
        committed === generated
          ? 'up to date'
          : `${file} differs from what ${SCHEMA} generates: run \`npm run docs:config\` and commit the result (${firstDifference(committed, generated)})`;
      expect(verdict).toBe('up to date');
    },
  );

  it('describes every variable the server reads, in both files', () => {
    const { variables } = readSchema();
    expect(variables.map((v) => v.name).sort()).toEqual(Object.keys(new Environment()).sort());
    const docs = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    for (const { name } of variables) {
      expect(docs).toContain(`### \`${name}\``);
      expect(example).toMatch(new RegExp(`^# ${name}=`, 'm'));
    }
  });

  /** The schema with the JSDoc of `PORT` cut down to what `keep` leaves of it. */
  function withPortDoc(keep: (doc: string) => string): string {
    const source = readFileSync(join(ROOT, SCHEMA), 'utf8');
    const declaration = source.indexOf('\n  PORT = ');
    const start = source.lastIndexOf('/**', declaration);
    const end = source.indexOf('*/', start) + 2;
    return source.slice(0, start) + keep(source.slice(start, end)) + source.slice(end);
  }

  it('refuses to generate while a variable has no description or no category', () => {
    expect(() => readSchema(withPortDoc(() => ''))).toThrow(
      `Every configuration variable needs a JSDoc comment saying what it does, in ${SCHEMA}; missing for PORT`,
    );
    expect(() => readSchema(withPortDoc((doc) => doc.replace(/@category .*/, '')))).toThrow(
      /needs a `@category` in its JSDoc in libs\/config\/src\/environment\.ts \(Server, Database, .*\); missing for PORT$/,
    );
  });
});
