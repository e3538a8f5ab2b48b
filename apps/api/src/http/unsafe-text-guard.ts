import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { VERIFIED_BODY_ROUTE } from '@app/http';
import { type FieldError, RequestValidationException } from './request-validation';

/**
 * UTF-16 surrogates without their pair are no character at all: UTF-8 cannot encode them,
 * and hashing, e-mail and PDF code each do something different with them.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** How deep the walk goes: bodies come from the JSON parser, which allows 32 levels. */
const MAX_WALK_DEPTH = 64;

function problemOf(text: string): string | undefined {
  // NUL: PostgreSQL cannot store it in text, and the query fails.
  if (text.includes('\u0000')) return 'must not contain a NUL character';
  if (LONE_SURROGATE.test(text))
    return 'must be well-formed Unicode (it has an unpaired surrogate)';
  return undefined;
}

function fieldName(parent: string, key: string, inArray: boolean): string {
  if (inArray) return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/** Every unsafe string among the values and property names of `input`, by field path. */
export function unsafeTextIn(input: unknown): FieldError[] {
  const problems: FieldError[] = [];
  const stack: { value: unknown; field: string; depth: number }[] = [
    { value: input, field: '', depth: 0 },
  ];
  while (stack.length > 0) {
    const { value, field, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const problem = problemOf(value);
      const name = field || 'body';
      if (problem) problems.push({ field: name, message: `${name} ${problem}` });
      continue;
    }
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) continue;
    if (depth >= MAX_WALK_DEPTH) continue;
    const inArray = Array.isArray(value);
    for (const [key, child] of Object.entries(value)) {
      const problem = inArray ? undefined : problemOf(key);
      // JSON.stringify escapes the offending character, so the answer stays valid text.
      if (problem) {
        const name = fieldName(field, JSON.stringify(key), false);
        problems.push({ field: name, message: `property name ${problem}` });
      } else stack.push({ value: child, field: fieldName(field, key, inArray), depth: depth + 1 });
    }
  }
  return problems;
}

/**
 * Refuses NUL and unpaired surrogates anywhere in a request's path parameters, query and
 * body (values and property names), once for every route, before guards, pipes or the
 * booking fast path see them: 400 with each offending field listed. A signed body read from
 * its raw bytes (VERIFIED_BODY_ROUTE) is its sender's and is left alone.
 */
export function refuseUnsafeText(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request: FastifyRequest, _reply, done) => {
    const config = request.routeOptions.config as Partial<typeof VERIFIED_BODY_ROUTE> | undefined;
    const verifiedBody = config?.verifiedBody === true;
    const problems = [
      ...unsafeTextIn(request.params),
      ...unsafeTextIn(request.query),
      ...(verifiedBody ? [] : unsafeTextIn(request.body)),
    ];
    // Answered by the exception filter, as every other invalid request.
    if (problems.length > 0) done(new RequestValidationException(problems) as unknown as Error);
    else done();
  });
}
