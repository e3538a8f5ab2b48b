import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import type { ReturnOutcome } from './payment-pages';

export class CheckoutLinkQuery {
  @ApiProperty({ description: 'The signature from the booking answer’s checkoutUrl' })
  @IsString()
  @Length(1, 128)
  token!: string;
}

export class ReturnPageParams {
  @ApiProperty({ enum: ['success', 'cancel'] })
  @IsIn(['success', 'cancel'])
  outcome!: ReturnOutcome;
}

export class ReturnPageQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  orderId?: string;
}

export class SimulatorSessionParams {
  @ApiProperty({ example: 'sim_cs_3q2Xh0bF1yq8cZl2bW1q0aR5' })
  @IsString()
  @Length(1, 128)
  sessionId!: string;
}

export class WebhookAck {
  @ApiProperty({ example: true }) received!: true;
}
