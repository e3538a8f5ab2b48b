import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { Environment } from '@app/config';

/**
 * The tags in the order Swagger UI lists them, each with a line about it. A module that
 * adds a tag adds it here (a tag with no description fails the OpenAPI lint test).
 */
const TAGS: [name: string, description: string][] = [
  ['auth', 'Accounts and bearer tokens'],
  ['events', 'Events and their ticket types: anyone reads, admins write'],
  ['booking and orders', 'Hold tickets, then pay, cancel or let the hold expire'],
  ['payments', 'Checkout links, the payment provider webhook and the local simulator'],
  ['operations', 'Health checks for load balancers and orchestrators'],
  ['waitlist', 'Queue for sold-out ticket types: released tickets are offered in order'],
];

/**
 * The OpenAPI document the server publishes at /docs-json (Swagger UI at /docs). Every
 * operation needs the bearer token, as the global guard does, unless it says
 * `security: []` (@Public() does).
 */
export function createOpenApiDocument(
  app: INestApplication,
  environment: Environment,
): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Ticketing API')
    .setDescription(
      'Ticket booking for on-sales that must never oversell. Money is in minor units of the ' +
        "event's currency; errors are RFC 9457 problem+json with a stable `type`.",
    )
    .setVersion('1')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    // Unset PUBLIC_URL: relative, i.e. the server that served this document.
    .addServer(environment.PUBLIC_URL ? environment.publicUrl : '/', 'This server')
    .addBearerAuth()
    .addSecurityRequirements('bearer');
  for (const [name, description] of TAGS) builder.addTag(name, description);
  return SwaggerModule.createDocument(app, builder.build());
}
