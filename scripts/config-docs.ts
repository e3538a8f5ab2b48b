/**
 * Writes docs/configuration.md and .env.example from the config schema
 * (libs/config/src/environment.ts), so the variables are described in one place: each one's
 * JSDoc (its text, `@example`, `@category`), its default and its validators.
 *
 *   npm run docs:config
 *
 * test/docs/configuration-docs.spec.ts fails while the committed files and this output differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, type ValidationArguments } from 'class-validator';
import * as ts from 'typescript';
import { Environment } from '../libs/config/src/environment';

export const ROOT = join(__dirname, '..');
export const SCHEMA = 'libs/config/src/environment.ts';
const COMMAND = 'npm run docs:config';

export interface Variable {
  name: string;
  category: string;
  description: string;
  example?: string;
  /** What `new Environment()` holds: undefined when unset by default. */
  defaultValue: string | number | boolean | undefined;
  /** What a valid value looks like, as "must …" clauses. */
  rules: string[];
  requiredInProduction: boolean;
}

type ValidationMetadata = ReturnType<
  ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']
>[number];

export interface Schema {
  /** The class's own JSDoc: what the settings are for. */
  description: string;
  /** In class order. */
  variables: Variable[];
}

/** The schema's variables; throws when one has no description or no category. */
export function readSchema(source = readFileSync(join(ROOT, SCHEMA), 'utf8')): Schema {
  const file = ts.createSourceFile(SCHEMA, source, ts.ScriptTarget.ES2022, true);
  const schema = file.statements.find(
    (node): node is ts.ClassDeclaration =>
      ts.isClassDeclaration(node) && node.name?.text === Environment.name,
  );
  if (!schema) throw new Error(`${SCHEMA} has no class ${Environment.name}`);

  const defaults = new Environment() as unknown as Record<string, Variable['defaultValue']>;
  const requiredInProduction = new Set(
    validateSync(plainToInstance(Environment, { NODE_ENV: 'production' })).map((e) => e.property),
  );
  const metadata = getMetadataStorage().getTargetValidationMetadatas(Environment, '', true, false);

  const variables = schema.members.filter(ts.isPropertyDeclaration).map((property) => {
    const name = property.name.getText(file);
    const docs = ts.getJSDocCommentsAndTags(property).filter(ts.isJSDoc);
    const tag = (tagName: string) =>
      docs
        .flatMap((doc) => doc.tags ?? [])
        .find((t) => t.tagName.text === tagName)
        ?.comment?.toString()
        .trim();
    return {
      name,
      category: tag('category') ?? '',
      description: docs
        .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '')
        .join('\n\n')
        .trim(),
      example: tag('example'),
      defaultValue: defaults[name],
      rules: rulesOf(metadata.filter((m) => m.propertyName === name)),
      requiredInProduction: requiredInProduction.has(name),
    };
  });

  const declared = variables.map((v) => v.name).sort();
  const read = Object.keys(defaults).sort();
  if (declared.join() !== read.join()) {
    throw new Error(`${SCHEMA}: the class declares ${declared.join()} but holds ${read.join()}`);
  }
  const undescribed = variables.filter((v) => !v.description).map((v) => v.name);
  if (undescribed.length > 0) {
    throw new Error(
      `Every configuration variable needs a JSDoc comment saying what it does, in ${SCHEMA}; ` +
        `missing for ${undescribed.join(', ')}`,
    );
  }
  const uncategorised = variables.filter((v) => !v.category).map((v) => v.name);
  if (uncategorised.length > 0) {
    const categories = [...new Set(variables.map((v) => v.category).filter(Boolean))];
    throw new Error(
      `Every configuration variable needs a \`@category\` in its JSDoc in ${SCHEMA} ` +
        `(${categories.join(', ')}, or a new one); missing for ${uncategorised.join(', ')}`,
    );
  }
  const description = ts
    .getJSDocCommentsAndTags(schema)
    .filter(ts.isJSDoc)
    .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '')
    .join(' ');
  return { description, variables };
}

/** A variable's validators as "must …" clauses (the presence checks of production aside). */
function rulesOf(validators: ValidationMetadata[]): string[] {
  const byName = new Map(validators.map((v) => [v.name, v]));
  const bound = (name: string) => byName.get(name)?.constraints[0] as number | undefined;
  const rules: string[] = [];
  for (const validator of validators) {
    const { name, constraints, message } = validator;
    if (name === 'isInt') {
      const [min, max] = [bound('min'), bound('max')];
      rules.push(
        min !== undefined && max !== undefined
          ? `must be an integer from ${min} to ${max}`
          : `must be an integer${min !== undefined ? ` of at least ${min}` : ''}`,
      );
    } else if (name === 'min' || name === 'max' || name === 'isOptional' || !name) {
      // Part of the integer's range, or not a rule on the value (a condition on validating it).
    } else if (name === 'isString') {
      // Any text; "required in production" is listed on its own.
    } else if (name === 'isIn') {
      const values = constraints[0] as unknown[];
      const shown = values.map((value) => `\`${String(value)}\``);
      rules.push(
        `must be ${shown.length === 2 ? shown.join(' or ') : `one of ${shown.join(', ')}`}`,
      );
    } else if (name === 'isUrl') {
      const { protocols } = constraints[0] as { protocols: string[] };
      rules.push(`must be a URL (${protocols.map((p) => `\`${p}://\``).join(' or ')})`);
    } else if (name === 'minLength') {
      const length = Number(constraints[0]);
      rules.push(length === 1 ? 'must not be empty' : `must be at least ${length} characters`);
    } else if (typeof message === 'string') {
      rules.push(message.replace(/"([^"]+)"/g, '`$1`'));
    } else {
      rules.push(defaultMessageOf(validator));
    }
  }
  return rules;
}

/** The message class-validator would give, without the variable's name in front. */
function defaultMessageOf({ constraintCls, constraints, propertyName }: ValidationMetadata) {
  const constraint = new (
    constraintCls as new () => {
      defaultMessage?: (args: ValidationArguments) => string;
    }
  )();
  const message =
    constraint.defaultMessage?.({
      value: undefined,
      constraints,
      targetName: Environment.name,
      object: {},
      property: propertyName,
    }) ?? 'must be valid';
  return message.replace(/^\$property /, '').replace(/\$constraint(\d)/g, (_, n: string) => {
    return String(constraints[Number(n) - 1]);
  });
}

/** Both generated files, by their path from the repository root. */
export function generatedFiles(schema = readSchema()): Record<string, string> {
  return {
    'docs/configuration.md': renderMarkdown(schema),
    '.env.example': renderEnvExample(schema.variables),
  };
}

const categoriesOf = (variables: Variable[]) => [...new Set(variables.map((v) => v.category))];
const anchor = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
const listed = (items: string[]) =>
  items.length > 1
    ? `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
    : items.join('');
const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;

/** Markdown of JSDoc text: variable names link to their section, URLs and `<` stay literal. */
function markdownOf(text: string, names: string[], self?: string): string {
  const name = new RegExp(`\\b(${names.join('|')})\\b`, 'g');
  return text
    .replace(/\s*\n\s*/g, ' ')
    .split(/(`[^`]*`)/)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part
            .replace(/&/g, '&amp;')
            .replace(/</g, '&lt;')
            .replace(/\b[a-z]+:\/\/(?:[^\s,)]*[^\s,).;:])?/g, (url) => `\`${url}\``)
            .replace(name, (found: string) =>
              found === self ? `\`${found}\`` : `[\`${found}\`](#${anchor(found)})`,
            ),
    )
    .join('');
}

function shownValue(value: Variable['defaultValue']): string {
  if (value === undefined) return 'unset';
  if (value === '') return 'empty';
  return `\`${String(value)}\``;
}

function renderMarkdown({ description, variables }: Schema): string {
  const names = variables.map((v) => v.name);
  const link = (name: string) => `[\`${name}\`](#${anchor(name)})`;
  const production = variables.filter((v) => v.requiredInProduction).map((v) => link(v.name));
  const lines = [
    '# Configuration',
    '',
    `<!-- Generated from ${SCHEMA} by \`${COMMAND}\`: edit the JSDoc there and run it again. -->`,
    '',
    markdownOf(description, names),
    '',
    'Set them as environment variables, or in a `.env` file in the working directory ' +
      '([`.env.example`](../.env.example) lists every one, commented out); a variable of the ' +
      'environment wins over the same one in the file. The server and the command-line tool ' +
      'read the same settings and validate every value once at start: an invalid one stops ' +
      'the process (exit status 1) with `Invalid configuration` and one line per problem on ' +
      "stderr. A line never shows a secret's value (a name with `SECRET`, `PASSWORD` or " +
      '`TOKEN` in it, or ending in `_KEY`): it says what is wrong with it instead, such as its ' +
      'length or a stray line break. A URL is shown with its password masked.',
    '',
    `In production (\`NODE_ENV=production\`) the server does not start without ${listed(production)} ` +
      '(see the [production checklist](operations.md#production-checklist)).',
    '',
    categoriesOf(variables)
      .map((category) => `[${category}](#${anchor(category)})`)
      .join(' · '),
  ];
  for (const category of categoriesOf(variables)) {
    lines.push('', `## ${category}`);
    for (const variable of variables.filter((v) => v.category === category)) {
      const facts = [
        `Default: ${shownValue(variable.defaultValue)}.`,
        ...variable.rules.map((rule) => sentence(markdownOf(rule, names, variable.name))),
        ...(variable.example ? [`Example: \`${variable.example}\`.`] : []),
        ...(variable.requiredInProduction ? ['Required in production.'] : []),
      ];
      lines.push(
        '',
        `### \`${variable.name}\``,
        '',
        markdownOf(variable.description, names, variable.name),
        '',
        facts.join(' '),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `# ` lines of at most 100 characters. */
function comment(text: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length > 1 && line.length + 1 + word.length > 100) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

function renderEnvExample(variables: Variable[]): string {
  const production = variables.filter((v) => v.requiredInProduction).map((v) => v.name);
  const lines = [
    ...comment(
      `Generated from ${SCHEMA} by \`${COMMAND}\`; docs/configuration.md says more. ` +
        'Copy to .env and set what you need: every line is commented out, and the server runs ' +
        'with none of them (embedded PostgreSQL under .data/, in-process ticket locks, the ' +
        `payment simulator). Production (NODE_ENV=production) needs ${listed(production)}.`,
    ),
  ];
  for (const category of categoriesOf(variables)) {
    lines.push('', `# --- ${category} ---`);
    for (const variable of variables.filter((v) => v.category === category)) {
      const { defaultValue, example } = variable;
      const value = defaultValue === undefined || defaultValue === '' ? example : defaultValue;
      lines.push('', ...comment(variable.description), `# ${variable.name}=${String(value ?? '')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

if (require.main === module) {
  for (const [path, text] of Object.entries(generatedFiles())) {
    writeFileSync(join(ROOT, path), text);
    console.log(`wrote ${path}`);
  }
}
