import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDate,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  MaxDate,
  MaxLength,
  Min,
  MinDate,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { PageQuery, PageView } from '@app/http';
import type { TicketStatus } from '@app/tickets';
import { EVENT_CURRENCIES, MAX_PRICE } from './chargeable-price';
import type { EventStatus } from './event.entity';

export const MAX_TYPE_QUANTITY = 1_000_000;

const trim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;
const mustBeFuture = { message: 'startsAt must be in the future' };
/** The dates a list may ask about: JavaScript's reach far exceeds PostgreSQL's timestamps. */
const EARLIEST_LISTED = new Date('1970-01-01T00:00:00Z');
const LATEST_LISTED = new Date('9999-12-31T23:59:59.999Z');
const chargeableCurrency = {
  message: `currency must be one Stripe publishes a minimum charge for: ${EVENT_CURRENCIES.join(', ')}`,
};
/**
 * For PATCH fields that cannot be empty: skipped when absent, but null is validated (and
 * refused) like any other value. IsOptional would let null through to the update.
 */
const IsOmittable = () => ValidateIf((_object: unknown, value: unknown) => value !== undefined);

export class TicketTypeInput {
  @ApiProperty({ example: 'General Admission', minLength: 1, maxLength: 100 })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name!: string;

  @ApiProperty({
    description:
      'Minor units of the event currency: 0 (free), or from the smallest amount Stripe charges in it (50 for usd and eur) up to 99,999,999',
    example: 2500,
    minimum: 0,
    maximum: MAX_PRICE,
  })
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE)
  price!: number;

  @ApiProperty({ example: 500, minimum: 1, maximum: MAX_TYPE_QUANTITY })
  @IsInt()
  @Min(1)
  @Max(MAX_TYPE_QUANTITY)
  quantity!: number;
}

export class CreateEventDto {
  @ApiProperty({ example: 'Spring Tour — Berlin', minLength: 1, maxLength: 200 })
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ maxLength: 5000 })
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string;

  @ApiProperty({ example: 'Mercedes-Benz Arena', minLength: 1, maxLength: 200 })
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  venue!: string;

  @ApiProperty({ format: 'date-time', description: 'In the future' })
  @Type(() => Date)
  @IsDate()
  @MinDate(() => new Date(), mustBeFuture)
  startsAt!: Date;

  @ApiPropertyOptional({
    example: 'usd',
    default: 'usd',
    enum: EVENT_CURRENCIES,
    description: 'Lower-case ISO 4217, one Stripe publishes a minimum charge for',
  })
  @IsOptional()
  @IsIn(EVENT_CURRENCIES, chargeableCurrency)
  currency?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 50, default: 10 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(50)
  maxTicketsPerOrder?: number;

  @ApiProperty({ type: [TicketTypeInput], minItems: 1, maxItems: 20 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => TicketTypeInput)
  ticketTypes!: TicketTypeInput[];
}

export class UpdateEventDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @IsOmittable()
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ maxLength: 5000 })
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @IsOmittable()
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  venue?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOmittable()
  @Type(() => Date)
  @IsDate()
  @MinDate(() => new Date(), mustBeFuture)
  startsAt?: Date;

  @ApiPropertyOptional({
    example: 'eur',
    enum: EVENT_CURRENCIES,
    description: 'Only before the first order; every price must be chargeable in it',
  })
  @IsOmittable()
  @IsIn(EVENT_CURRENCIES, chargeableCurrency)
  currency?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 50 })
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(50)
  maxTicketsPerOrder?: number;

  @ApiPropertyOptional({ enum: ['on_sale', 'cancelled'], description: 'Cancelling stops sales' })
  @IsOmittable()
  @IsIn(['on_sale', 'cancelled'])
  status?: EventStatus;
}

export class UpdateTicketTypeDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100 })
  @IsOmittable()
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name?: string;

  @ApiPropertyOptional({
    description: '0, or from the smallest amount Stripe charges in the event currency',
    minimum: 0,
    maximum: MAX_PRICE,
  })
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE)
  price?: number;

  @ApiPropertyOptional({ description: 'May grow, or shrink down to sold + locked', minimum: 0 })
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(MAX_TYPE_QUANTITY)
  quantity?: number;
}

export class EventListQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Matches the name or the venue', maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  q?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Starting at or after (default: now)' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @MinDate(EARLIEST_LISTED)
  @MaxDate(LATEST_LISTED)
  from?: Date;

  @ApiPropertyOptional({ format: 'date-time', description: 'Starting before' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @MinDate(EARLIEST_LISTED)
  @MaxDate(LATEST_LISTED)
  to?: Date;
}

export class TicketListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['available', 'locked', 'sold'] })
  @IsOptional()
  @IsIn(['available', 'locked', 'sold'])
  status?: TicketStatus;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  ticketTypeId?: string;
}

export class TicketTypeView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'Minor units' }) price!: number;
  @ApiProperty() quantity!: number;
  @ApiProperty() available!: number;
  @ApiProperty() locked!: number;
  @ApiProperty() sold!: number;
}

export class EventView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty() venue!: string;
  @ApiProperty({ format: 'date-time' }) startsAt!: string;
  @ApiProperty({ example: 'usd' }) currency!: string;
  @ApiProperty() maxTicketsPerOrder!: number;
  @ApiProperty({ enum: ['on_sale', 'cancelled'] }) status!: EventStatus;
  @ApiProperty({ type: [TicketTypeView] }) ticketTypes!: TicketTypeView[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class EventPage extends PageView(EventView) {}

export class TicketView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) ticketTypeId!: string;
  @ApiProperty({ example: 'GA-000123' }) label!: string;
  @ApiProperty({ enum: ['available', 'locked', 'sold'] }) status!: TicketStatus;
}

export class TicketPage extends PageView(TicketView) {}
