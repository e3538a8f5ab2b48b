import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsUUID,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { PageQuery, PageView } from '@app/http';
import { ORDER_STATUSES, type OrderStatus } from './order.entity';

/** The most tickets one booking may ask for (an event's own maximum may be lower). */
export const MAX_TICKETS_PER_BOOKING = 50;

/** Either a quantity of one ticket type, or explicit ticket ids (all or nothing). */
export class BookingDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'With quantity' })
  @ValidateIf((body: BookingDto) => body.ticketIds === undefined)
  @IsUUID(undefined, { message: 'ticketTypeId must be a UUID (or send ticketIds instead)' })
  ticketTypeId?: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_TICKETS_PER_BOOKING,
    description: 'With ticketTypeId',
  })
  @ValidateIf((body: BookingDto) => body.ticketIds === undefined)
  @IsInt()
  @Min(1)
  @Max(MAX_TICKETS_PER_BOOKING)
  quantity?: number;

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    description: 'Instead of ticketTypeId and quantity',
  })
  @ValidateIf((body: BookingDto) => body.ticketIds !== undefined || body.ticketTypeId === undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_TICKETS_PER_BOOKING)
  @ArrayUnique()
  @IsUUID(undefined, { each: true })
  @ValidateBy({
    name: 'notWithTicketType',
    validator: {
      validate: (_value, args) => {
        const body = args?.object as BookingDto;
        return body.ticketTypeId === undefined && body.quantity === undefined;
      },
      defaultMessage: () => 'ticketIds cannot be combined with ticketTypeId or quantity',
    },
  })
  ticketIds?: string[];
}

export class OrderListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;
}

export class OrderTicketView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) ticketTypeId!: string;
  @ApiProperty({ example: 'GA-000123' }) label!: string;
}

export class OrderView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ORDER_STATUSES }) status!: OrderStatus;
  @ApiProperty({ format: 'uuid' }) eventId!: string;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ type: [OrderTicketView] }) tickets!: OrderTicketView[];
  @ApiProperty() quantity!: number;
  @ApiProperty({ description: 'Minor units' }) totalAmount!: number;
  @ApiProperty({ example: 'usd' }) currency!: string;
  @ApiProperty({ format: 'date-time', description: 'When the hold ends' }) expiresAt!: string;
  @ApiProperty({ type: String, nullable: true, description: 'Signed payment link while pending' })
  checkoutUrl!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class BookingView {
  @ApiProperty({ type: OrderView }) order!: OrderView;
  @ApiProperty({ description: 'Open in a browser to pay' }) checkoutUrl!: string;
}

export class OrderPage extends PageView(OrderView) {}
