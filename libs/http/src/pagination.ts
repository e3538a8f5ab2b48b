import type { Type as Class } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';

/**
 * How far into a list pages reach (page × pageSize): an offset costs the rows it skips, so
 * a deep page of a million tickets would read them all. Beyond it: 400; narrow the list
 * with its filters instead.
 */
export const MAX_PAGE_REACH = 10_000;

export class PageQuery {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_PAGE_REACH,
    default: 1,
    description: `page × pageSize is at most ${MAX_PAGE_REACH}`,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @ValidateBy({
    name: 'withinPageReach',
    validator: {
      validate: (page: unknown, args) => {
        const { pageSize } = args?.object as PageQuery;
        // An invalid pageSize is reported on its own; the page alone must be within reach.
        const size = Number.isInteger(pageSize) && pageSize >= 1 ? pageSize : 1;
        return typeof page === 'number' && page * size <= MAX_PAGE_REACH;
      },
      defaultMessage: () =>
        `page × pageSize must be at most ${MAX_PAGE_REACH}; narrow the list with its filters`,
    },
  })
  page: number = 1;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  pageSize: number = 20;

  get offset(): number {
    return (this.page - 1) * this.pageSize;
  }
}

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

/**
 * The answer of a paged list of `item`, for the OpenAPI document:
 * `export class EventPage extends PageView(EventView) {}` (a class per item type, so each
 * page schema has its own name).
 */
export function PageView<T>(item: Class<T>): Class<Page<T>> {
  class PageOfItems implements Page<T> {
    @ApiProperty({ type: [item] }) items!: T[];
    @ApiProperty() page!: number;
    @ApiProperty() pageSize!: number;
    @ApiProperty() total!: number;
  }
  return PageOfItems;
}
