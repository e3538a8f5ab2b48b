import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { PageQuery, PageView } from '@app/http';

export class IssuedTicketView {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'GA-17' })
  label!: string;

  @ApiProperty({ format: 'uuid' })
  ticketTypeId!: string;

  @ApiProperty({ example: 'General Admission' })
  ticketTypeName!: string;

  @ApiProperty({
    description: 'What the QR code carries: a signed, base64url admission code (156 characters)',
  })
  code!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  checkedInAt!: Date | null;
}

export class CheckInDto {
  @ApiProperty({ description: 'The scanned code, as the QR code carries it' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  code!: string;
}

export class CheckedInBy {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'Door 3' })
  name!: string;
}

export class CheckInView {
  @ApiProperty({ format: 'uuid' })
  ticketId!: string;

  @ApiProperty({ example: 'GA-17' })
  label!: string;

  @ApiProperty({ example: 'General Admission' })
  ticketTypeName!: string;

  @ApiProperty({ format: 'uuid' })
  orderId!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  checkedInAt!: Date;

  @ApiProperty({ type: CheckedInBy, description: 'The staff member or admin who scanned it' })
  by!: CheckedInBy;
}

export class CheckInListQuery extends PageQuery {}

export class CheckInPage extends PageView(CheckInView) {}

export class SigningKeyView {
  @ApiProperty({ example: 'q1w2eA', description: 'The key id codes carry' })
  id!: string;

  @ApiProperty({ enum: ['Ed25519'] })
  algorithm!: 'Ed25519';

  @ApiProperty({ description: 'base64url of the raw 32-byte Ed25519 public key' })
  publicKey!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: Date;
}

export class SigningKeysView {
  @ApiProperty({ type: [SigningKeyView] })
  keys!: SigningKeyView[];
}

export class RevokedCodesView {
  @ApiProperty({
    type: [String],
    description: 'Codes of tickets whose confirmed order was later refunded or cancelled',
  })
  codes!: string[];
}
