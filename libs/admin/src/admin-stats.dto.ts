import { ApiProperty } from '@nestjs/swagger';

export class EventStatsView {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ format: 'date-time' })
  startsAt!: string;

  @ApiProperty({ enum: ['on_sale', 'cancelled'] })
  status!: string;

  @ApiProperty({ description: 'Tickets sold (paid)' })
  sold!: number;

  @ApiProperty({ description: 'Tickets held by pending orders' })
  locked!: number;

  @ApiProperty()
  available!: number;

  @ApiProperty({ description: 'Paid orders, minor units of `currency` (refunds excluded)' })
  revenue!: number;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({ description: 'Waitlist entries waiting' })
  waitlist!: number;

  @ApiProperty({ description: 'Tickets admitted at the door' })
  checkedIn!: number;
}

export class SalesMinuteView {
  @ApiProperty({ format: 'date-time', description: 'Start of the minute' })
  minute!: string;

  @ApiProperty({ description: 'Tickets of orders paid in that minute' })
  tickets!: number;
}

export class JobAttentionView {
  @ApiProperty({ example: 'owed-refund' })
  job!: string;

  @ApiProperty({ description: 'Rows the job gave up on after its retries, left for a human' })
  rows!: number;
}

export class AdminStatsView {
  @ApiProperty({
    type: [EventStatsView],
    description:
      'Events from 24 hours ago on (so the door counts of a running event show), soonest first',
  })
  events!: EventStatsView[];

  @ApiProperty({
    type: [SalesMinuteView],
    description: 'Tickets paid per minute over the last 60 minutes, oldest first',
  })
  salesPerMinute!: SalesMinuteView[];

  @ApiProperty({
    type: [JobAttentionView],
    description: 'Background jobs with rows needing attention (empty when none)',
  })
  jobsNeedingAttention!: JobAttentionView[];

  @ApiProperty({ format: 'date-time' })
  at!: string;
}
