import { applyDecorators } from '@nestjs/common';
import {
  ApiDefaultResponse,
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
} from '@nestjs/swagger';

export class FieldErrorView {
  @ApiProperty({ example: 'email' })
  field!: string;

  @ApiProperty({ example: 'email must be an email' })
  message!: string;
}

/** RFC 9457 problem details: the body of every error answer. */
export class ProblemDetailsView {
  @ApiProperty({ example: 'https://tickets.example/problems/booking.sold_out' })
  type!: string;

  @ApiProperty({ example: 'Conflict' })
  title!: string;

  @ApiProperty({ example: 409 })
  status!: number;

  @ApiProperty({ example: 'Only 3 tickets of this type are left.' })
  detail!: string;

  @ApiPropertyOptional({ type: [FieldErrorView] })
  errors?: FieldErrorView[];
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed or invalid input; every invalid field is listed in `errors`',
  401: 'Missing or invalid credentials',
  403: 'Authenticated but not allowed',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'Body too large',
  429: 'Rate limited; see the Retry-After header',
  502: 'A dependency answered with an error',
  503: 'A dependency is unavailable; see the Retry-After header',
};

/**
 * Documents the problem+json answers a route can give. (No `type:` here: with one,
 * Swagger would document the body as application/json instead.)
 */
const PROBLEM_CONTENT = {
  'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetailsView' } },
};

export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDetailsView),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: PROBLEM_CONTENT,
      }),
    ),
  );
}

/**
 * The `default` answer, for routes whose success is not a 2xx (a redirect): any other
 * status, such as an unexpected 500, comes as problem+json.
 */
export function ApiOtherProblems(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDetailsView),
    ApiDefaultResponse({ description: 'Any other error', content: PROBLEM_CONTENT }),
  );
}
