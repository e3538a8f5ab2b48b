import {
  Column,
  CreateDateColumn,
  Entity,
  OneToMany,
  PrimaryColumn,
  UpdateDateColumn,
  ManyToOne,
  JoinColumn,
} from 'typeorm';

export type OrderStatus = 'pending' | 'confirmed' | 'failed' | 'expired' | 'cancelled' | 'refunded';
export const ORDER_STATUSES: readonly OrderStatus[] = [
  'pending',
  'confirmed',
  'failed',
  'expired',
  'cancelled',
  'refunded',
];

@Entity('orders')
export class Order {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  @Column({ type: 'text' })
  status!: OrderStatus;

  @Column({ type: 'integer' })
  quantity!: number;

  /** Minor units; bigint in PostgreSQL, read as a number (well within 2^53). */
  @Column({
    name: 'total_amount',
    type: 'bigint',
    transformer: { to: (v: number) => v, from: (v: string) => Number(v) },
  })
  totalAmount!: number;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  /** The payment provider's checkout session, created when the buyer follows the link. */
  @Column({ name: 'checkout_session_id', type: 'text', nullable: true })
  checkoutSessionId!: string | null;

  @Column({ name: 'checkout_session_url', type: 'text', nullable: true })
  checkoutSessionUrl!: string | null;

  /** When the session stopped being payable (completed or expired at the provider). */
  @Column({ name: 'checkout_session_closed_at', type: 'timestamptz', nullable: true })
  checkoutSessionClosedAt!: Date | null;

  /** The provider's payment, known once the session completes; refunds go through it. */
  @Column({ name: 'payment_intent_id', type: 'text', nullable: true })
  paymentIntentId!: string | null;

  /** Set while a payment that could not become tickets still has to be refunded. */
  @Column({ name: 'refund_due_at', type: 'timestamptz', nullable: true })
  refundDueAt!: Date | null;

  @OneToMany(() => OrderItem, (item) => item.order)
  items!: OrderItem[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** A ticket an order held; kept after the hold ends, for history. */
@Entity('order_items')
export class OrderItem {
  @PrimaryColumn({ name: 'order_id', type: 'uuid' })
  orderId!: string;

  @PrimaryColumn({ name: 'ticket_id', type: 'uuid' })
  ticketId!: string;

  @ManyToOne(() => Order, (order) => order.items)
  @JoinColumn({ name: 'order_id' })
  order!: Order;

  @Column({ name: 'ticket_type_id', type: 'uuid' })
  ticketTypeId!: string;

  @Column({ type: 'text' })
  label!: string;

  @Column({ type: 'integer' })
  price!: number;
}
