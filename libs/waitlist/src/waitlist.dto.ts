import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsUUID, Max, Min } from 'class-validator';
import { PageQuery, PageView } from '@app/http';

export const WAITLIST_STATUSES = ['waiting', 'offered', 'fulfilled', 'expired', 'left'] as const;
export type WaitlistStatus = (typeof WAITLIST_STATUSES)[number];

export class JoinWaitlistDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  ticketTypeId!: string;

  @ApiProperty({ minimum: 1, maximum: 50 })
  @IsInt()
  @Min(1)
  @Max(50)
  quantity!: number;
}

export class WaitlistListQuery extends PageQuery {}

export class WaitlistOfferView {
  @ApiProperty({ format: 'uuid', description: 'The pending order holding the offered tickets' })
  orderId!: string;
  @ApiProperty({ description: 'Signed link to pay for the offer' }) checkoutUrl!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: Date;
}

export class WaitlistEntryView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) eventId!: string;
  @ApiProperty({ format: 'uuid' }) ticketTypeId!: string;
  @ApiProperty({ minimum: 1, maximum: 50 }) quantity!: number;
  @ApiProperty({ enum: WAITLIST_STATUSES }) status!: WaitlistStatus;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Earlier waiting entries of the ticket type plus one; null unless waiting',
  })
  position!: number | null;
  @ApiProperty({ type: WaitlistOfferView, nullable: true }) offer!: WaitlistOfferView | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: Date;
}

export class WaitlistPage extends PageView(WaitlistEntryView) {}
