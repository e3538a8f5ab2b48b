import type { Server } from 'node:http';
import { BadRequestException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * The deepest JSON body the API reads. Its own bodies nest four levels at most and Stripe's
 * events about ten; class-transformer and class-validator recurse once per level, so a body
 * nested thousands deep would overflow the stack in them (a 500) if the parser let it by.
 */
export const MAX_JSON_DEPTH = 32;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * How deep the brackets of a JSON text nest, outside its strings; stops counting past
 * `limit`. One pass over the bytes (UTF-8 never puts these bytes inside a multi-byte
 * character), before any parser builds a value.
 */
export function jsonDepthExceeds(body: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) depth--;
  }
  return false;
}

/**
 * application/json as Fastify parses it (secure-json-parse: `__proto__` and
 * `constructor.prototype` refused), after the nesting check. Registering a parser also keeps
 * Nest from adding its form (urlencoded) parser: the API reads JSON only. The raw body stays
 * available for the payment webhook's signature (the app's `rawBody` option).
 */
export function useJsonBodyParser(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parse = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<Server>('application/json', { bodyLimit }, (request, body, done) => {
    if (jsonDepthExceeds(body, MAX_JSON_DEPTH)) {
      done(
        new BadRequestException(`The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`),
        undefined,
      );
      return;
    }
    void parse(request, body.toString('utf8'), done);
  });
}
