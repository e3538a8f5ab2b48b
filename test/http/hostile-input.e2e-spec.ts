import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { book, createBuyers, createEvent } from '../support/booking';
import { createUser, startTestApp, type TestApp, type TestUser } from '../support/test-app';

/**
 * Every operation of the live OpenAPI document, sent hostile values in its path, query,
 * headers and body (wrong types, huge numbers, NUL, lone surrogates, deep nesting, long
 * strings, unknown fields), with and without an admin's token: no answer may be a 5xx, and
 * every refusal is problem+json. Generated from the document, so a new route is covered
 * the day it is documented.
 */

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  minimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: Schema;
}

interface HostileRequest {
  operation: string;
  what: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface Answer {
  request: HostileRequest;
  status: number;
  contentType: string;
  text: string;
}

/** 5,000 levels of arrays and of objects: a parser without a limit recurses that deep. */
const DEEP_ARRAY = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
const DEEP_OBJECT = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;

/** Raw path and query values, already in URL form. */
const HOSTILE_URL_VALUES: [string, string][] = [
  ['NUL', '%00'],
  ['NUL inside', 'a%00b'],
  ['a lone surrogate (CESU-8)', '%ED%A0%80'],
  ['a cut UTF-8 sequence', '%F0%9F'],
  ['a malformed escape', '%E0%A4%A'],
  ['an escaped percent', '%25'],
  ['1e21', '1e21'],
  ['-1', '-1'],
  ['0', '0'],
  ['1.5', '1.5'],
  ['NaN', 'NaN'],
  ['Infinity', 'Infinity'],
  ['400 nines', '9'.repeat(400)],
  ['an empty value', ''],
  ['a long value', 'x'.repeat(4_000)],
  ['a far-future date', '%2B275760-09-13T00%3A00%3A00.000Z'],
  ['a far-past date', '-271821-04-20T00%3A00%3A00.000Z'],
  ['year zero', '0000-01-01T00%3A00%3A00Z'],
  ['a nil uuid', '00000000-0000-0000-0000-000000000000'],
  ['a traversal', '..%2F..%2Fetc%2Fpasswd'],
];

/** Values that replace one field of a valid body, whatever its type. */
const HOSTILE_FIELD_VALUES: [string, unknown][] = [
  ['null', null],
  ['true', true],
  ['1e21', 1e21],
  ['-1e21', -1e21],
  ['2^53 + 2', 2 ** 53 + 2],
  ['-1', -1],
  ['1.5', 1.5],
  ['an empty string', ''],
  ['NUL', 'a\u0000b'],
  ['a lone high surrogate', '\ud800'],
  ['a lone low surrogate', 'x\udc00'],
  ['a long string', 'x'.repeat(20_000)],
  ['an array', [1, [2, [3]]]],
  ['an object', { nested: { deeper: ['x'] } }],
];

/**
 * Strings a number or date field may be tricked with. A plain text field takes them as
 * valid text, so they go to number and date fields only (where a valid value would only
 * repeat the baseline request, and on register and login cost a password hash each).
 */
const HOSTILE_NUMBER_OR_DATE_VALUES: [string, unknown][] = [
  ['a numeric string', '1e21'],
  ['a far-future date', '+275760-09-13T00:00:00.000Z'],
  ['a far-past date', '-271821-04-20T00:00:00.000Z'],
  ['year zero', '0000-01-01T00:00:00Z'],
];

/** Whole bodies, raw. */
const HOSTILE_BODIES: [string, string][] = [
  ['JSON nested 5,000 arrays deep', DEEP_ARRAY],
  ['JSON nested 5,000 objects deep', DEEP_OBJECT],
  ['an empty body', ''],
  ['null', 'null'],
  ['an array', '[]'],
  ['a string', '"text"'],
  ['a number out of range', '1e400'],
  ['malformed JSON', '{"a":'],
  ['a NUL key', '{"a\\u0000b": 1}'],
  ['a lone surrogate key', '{"\\ud800": 1}'],
  ['__proto__', '{"__proto__": {"polluted": true}}'],
  ['constructor.prototype', '{"constructor": {"prototype": {"polluted": true}}}'],
];

const PARALLEL = 8;

describe('hostile input: every documented operation', () => {
  let testApp: TestApp;
  let pool: Pool;
  let admin: TestUser;
  let ids: Record<string, string>;
  let operations: Operation[];
  let components: Record<string, Schema>;

  beforeAll(async () => {
    testApp = await startTestApp({ AUTH_RATE_LIMIT: '0' });
    pool = new Pool(testApp.url, { connections: PARALLEL });
    admin = await createUser(testApp, { admin: true });
    const event = await createEvent(testApp, admin, {
      ticketTypes: [{ name: 'General Admission', price: 2500, quantity: 50 }],
    });
    const [buyer] = await createBuyers(testApp, 1);
    const held = await book(testApp, buyer, event.id, {
      ticketTypeId: event.ticketTypes[0].id,
      quantity: 1,
    }).expect(201);
    const [ticket]: { id: string }[] = await testApp.dataSource.query(
      `SELECT id FROM tickets WHERE ticket_type_id = $1 AND status = 'available' LIMIT 1`,
      [event.ticketTypes[0].id],
    );
    ids = {
      event: event.id,
      ticketType: event.ticketTypes[0].id,
      order: held.body.order.id,
      ticket: ticket.id,
    };

    const document = (await testApp.http().get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: unknown }>>;
      components: { schemas: Record<string, Schema> };
    };
    components = document.components.schemas;
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        body: (operation.requestBody as { content?: Record<string, { schema: Schema }> })
          ?.content?.['application/json']?.schema,
      })),
    );
  });
  afterAll(async () => {
    await pool?.close();
    await testApp?.close();
  });

  function resolve(schema: Schema): Schema {
    if (schema.$ref) return resolve(components[schema.$ref.split('/').pop()!]);
    const [first] = schema.allOf ?? schema.oneOf ?? schema.anyOf ?? [];
    return first ? { ...resolve(first), ...schema, allOf: undefined } : schema;
  }

  /** A real id where the name says which, so hostile values reach past the lookups. */
  function idFor(name: string, previousSegment = ''): string {
    if (/^(event)?id$/i.test(name) && /events?$/.test(previousSegment)) return ids.event;
    if (/^eventId$/i.test(name)) return ids.event;
    if (/^(type|ticketType)Id$/i.test(name)) return ids.ticketType;
    if (/^orderId$/i.test(name) || (name === 'id' && previousSegment === 'orders'))
      return ids.order;
    if (/^ticketIds?$/i.test(name)) return ids.ticket;
    return randomUUID();
  }

  /** A value the schema accepts (as far as it says), for the fields not under attack. */
  function valid(schema: Schema, name = ''): unknown {
    const resolved = resolve(schema);
    if (resolved.example !== undefined && resolved.format !== 'uuid') {
      return resolved.format === 'email' || /email/i.test(name)
        ? `hostile-${randomUUID()}@example.com`
        : resolved.example;
    }
    if (resolved.enum) return resolved.enum[0];
    switch (resolved.type) {
      case 'object':
        return Object.fromEntries(
          (resolved.required ?? []).map((key) => [key, valid(resolved.properties![key], key)]),
        );
      case 'array':
        return Array.from({ length: Math.max(1, resolved.minItems ?? 1) }, () =>
          valid(resolved.items ?? { type: 'string' }, name),
        );
      case 'number':
      case 'integer':
        return resolved.minimum ?? 1;
      case 'boolean':
        return false;
      default:
        if (resolved.format === 'uuid') return idFor(name);
        if (resolved.format === 'date-time')
          return new Date(Date.now() + 30 * 24 * 3600_000).toISOString();
        if (/email/i.test(name)) return `hostile-${randomUUID()}@example.com`;
        return 'x'.repeat(Math.min(Math.max(resolved.minLength ?? 1, 1), resolved.maxLength ?? 64));
    }
  }

  interface Field {
    path: (string | number)[];
    numberOrDate: boolean;
  }

  /** Every field of a body schema (objects and array items, a few levels down). */
  function fieldsOf(schema: Schema, prefix: (string | number)[] = []): Field[] {
    const resolved = resolve(schema);
    if (prefix.length > 3) return [];
    if (resolved.type === 'array' && resolved.items)
      return fieldsOf(resolved.items, [...prefix, 0]);
    if (resolved.type !== 'object' || !resolved.properties) return [];
    return Object.entries(resolved.properties).flatMap(([key, property]) => {
      const { type, format } = resolve(property);
      const numberOrDate = type === 'number' || type === 'integer' || format === 'date-time';
      return [{ path: [...prefix, key], numberOrDate }, ...fieldsOf(property, [...prefix, key])];
    });
  }

  function withField(body: unknown, path: (string | number)[], value: unknown): unknown {
    const copy = structuredClone(body) as Record<string | number, unknown>;
    let node = copy;
    for (const [i, key] of path.entries()) {
      if (i === path.length - 1) node[key] = value;
      else {
        node[key] ??= typeof path[i + 1] === 'number' ? [{}] : {};
        node = node[key] as Record<string | number, unknown>;
      }
    }
    return copy;
  }

  /** Every hostile request for one operation. */
  function requestsFor(operation: Operation): HostileRequest[] {
    const name = `${operation.method} ${operation.path}`;
    const segments = operation.path.split('/');
    const pathParams = operation.parameters.filter((p) => p.in === 'path');
    const queryParams = operation.parameters.filter((p) => p.in === 'query');
    const headerParams = operation.parameters.filter(
      (p) => p.in === 'header' && p.name.toLowerCase() !== 'authorization',
    );
    const validPath: Record<string, string> = Object.fromEntries(
      pathParams.map((p) => {
        const before = segments[segments.indexOf(`{${p.name}}`) - 1];
        const value = p.schema?.enum?.[0];
        return [p.name, typeof value === 'string' ? value : idFor(p.name, before)];
      }),
    );
    const validQuery = queryParams
      .filter((p) => p.required)
      .map((p) => `${p.name}=${encodeURIComponent(String(valid(p.schema ?? {}, p.name)))}`);
    const url = (path: Record<string, string>, query: string[]) =>
      operation.path.replace(/\{(\w+)\}/g, (_, key: string) => path[key]) +
      (query.length > 0 ? `?${query.join('&')}` : '');
    const validBody = operation.body ? JSON.stringify(valid(operation.body)) : undefined;
    const json = { 'content-type': 'application/json' };

    const requests: Omit<HostileRequest, 'operation'>[] = [];
    const add = (what: string, path: string, headers: Record<string, string>, body?: string) =>
      requests.push({ what, method: operation.method, path, headers, body });
    const base = (what: string, path: string) =>
      add(what, path, validBody === undefined ? {} : json, validBody);

    base('valid values', url(validPath, validQuery));
    for (const param of pathParams) {
      for (const [what, value] of HOSTILE_URL_VALUES) {
        base(`path ${param.name}: ${what}`, url({ ...validPath, [param.name]: value }, validQuery));
      }
    }
    for (const param of queryParams) {
      const others = validQuery.filter((pair) => !pair.startsWith(`${param.name}=`));
      for (const [what, value] of HOSTILE_URL_VALUES) {
        base(`query ${param.name}: ${what}`, url(validPath, [...others, `${param.name}=${value}`]));
      }
      base(
        `query ${param.name} twice`,
        url(validPath, [...others, `${param.name}=1`, `${param.name}=2`]),
      );
      base(`query ${param.name}[]`, url(validPath, [...others, `${param.name}[]=1`]));
      base(`query ${param.name}[a]`, url(validPath, [...others, `${param.name}[a]=1`]));
    }
    if (queryParams.some((p) => p.name === 'page')) {
      base('a deep page', url(validPath, [...validQuery, 'page=100000', 'pageSize=100']));
    }
    base('an unknown query parameter', url(validPath, [...validQuery, 'unknown=%00']));
    for (const param of headerParams) {
      for (const [what, value] of [
        ['a long value', 'x'.repeat(8_000)],
        ['an escaped NUL', '%00'],
        ['an empty value', ''],
      ]) {
        add(
          `header ${param.name}: ${what}`,
          url(validPath, validQuery),
          {
            ...(validBody === undefined ? {} : json),
            [param.name]: value,
          },
          validBody,
        );
      }
    }
    // Bodies go to every route that takes one, and to those that do not (a body parser
    // runs before the route knows).
    for (const [what, body] of HOSTILE_BODIES) {
      add(`body: ${what}`, url(validPath, validQuery), json, body);
    }
    if (operation.body) {
      const body = valid(operation.body);
      add(
        'body: an unknown field',
        url(validPath, validQuery),
        json,
        JSON.stringify({
          ...(body as object),
          unknownField: 'x',
        }),
      );
      for (const field of fieldsOf(operation.body)) {
        const values = field.numberOrDate
          ? [...HOSTILE_FIELD_VALUES, ...HOSTILE_NUMBER_OR_DATE_VALUES]
          : HOSTILE_FIELD_VALUES;
        for (const [what, value] of values) {
          add(
            `body ${field.path.join('.')}: ${what}`,
            url(validPath, validQuery),
            json,
            JSON.stringify(withField(body, field.path, value)),
          );
        }
      }
    }
    return requests.map((request) => ({ ...request, operation: name }));
  }

  async function send(request: HostileRequest, token?: string): Promise<Answer> {
    const response = await pool.request({
      method: request.method,
      path: request.path,
      headers: { ...request.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: request.body,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    return {
      request,
      status: response.statusCode,
      contentType: String(response.headers['content-type'] ?? ''),
      text: (await response.body.text()).slice(0, 300),
    };
  }

  /** Runs `jobs` with at most PARALLEL in flight. */
  async function runAll(jobs: (() => Promise<Answer>)[]): Promise<Answer[]> {
    const answers: Answer[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < jobs.length) answers.push(await jobs[next++]());
      }),
    );
    return answers;
  }

  it('never answers 5xx, and refuses with problem+json', async () => {
    const requests = operations.flatMap(requestsFor);
    // Without a token every route that needs one answers 401 before it reads its input; the
    // edge (body parser, text checks) runs first, so it still meets every hostile value.
    const answers = await runAll(
      requests.flatMap((request) => [() => send(request), () => send(request, admin.token)]),
    );

    const failures = answers
      .filter(
        (answer) =>
          answer.status >= 500 ||
          (answer.status >= 400 && !answer.contentType.startsWith('application/problem+json')),
      )
      .map(
        ({ request, status, text }) =>
          `${request.operation} [${request.what}] → ${status} ${text.slice(0, 160)}`,
      );
    expect(failures).toEqual([]);
    // Every documented operation was reached, and the document was not empty.
    expect(new Set(answers.map((answer) => answer.request.operation)).size).toBe(operations.length);
    expect(operations.length).toBeGreaterThan(30);
    expect(answers.length).toBeGreaterThan(3_000);
    // About 3,800 requests: 20-40 s on a shared 2-core machine; the margin is for its load.
  }, 120_000);
});
