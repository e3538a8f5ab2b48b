import type { DataSource } from 'typeorm';
import { TicketLockService, type TicketPool } from '@app/tickets';
import { findViolations } from './invariants';
import type { TestApp, TestUser } from './test-app';

/** The parts of a Supertest response the checks read. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface BookedOrder {
  id: string;
  status: string;
  tickets: { id: string; ticketTypeId: string; label: string }[];
}

export function orderOf(answer: Answer): BookedOrder {
  return (answer.body as { order: BookedOrder }).order;
}

/**
 * The booking promise for a race between `buyers` (one booking each, `answers[i]` is buyer
 * i's): every 201 holds exactly the tickets it lists, locked for its pending order in
 * PostgreSQL; a buyer whose booking failed holds nothing; no ticket is in two answers.
 * Returns the 201 orders.
 */
export async function expectAnswersHoldExactly(
  dataSource: DataSource,
  eventId: string,
  buyers: TestUser[],
  answers: Answer[],
): Promise<BookedOrder[]> {
  const booked = answers.filter((answer) => answer.status === 201).map(orderOf);
  const listed = booked.flatMap((order) => order.tickets.map((ticket) => ticket.id));
  expect(new Set(listed).size).toBe(listed.length);

  const orders: { id: string; user_id: string; status: string }[] = await dataSource.query(
    `SELECT id, user_id, status FROM orders WHERE event_id = $1 AND user_id = ANY($2::uuid[])`,
    [eventId, buyers.map((buyer) => buyer.id)],
  );
  expect(orders.map((order) => order.id).sort()).toEqual(booked.map((order) => order.id).sort());
  const winners = new Set(
    answers.flatMap((answer, i) => (answer.status === 201 ? [buyers[i].id] : [])),
  );
  expect(new Set(orders.map((order) => order.user_id))).toEqual(winners);

  for (const order of booked) expect(order.status).toBe('pending');
  expect(orders.filter((order) => order.status !== 'pending')).toEqual([]);
  // Pending, its items the tickets it listed: the invariants then say those tickets, and no
  // others, are locked for it.
  const created = booked.map((order) => ({
    orderId: order.id,
    ticketIds: order.tickets.map((ticket) => ticket.id),
  }));
  expect(await findViolations(dataSource, { eventIds: [eventId], created })).toEqual([]);
  return booked;
}

/** How many free ids the app's lock store holds for a ticket type (null: not loaded). */
export async function freeInLockStore(testApp: TestApp, pool: TicketPool): Promise<number | null> {
  const state = await testApp.app.get(TicketLockService).inspect(pool);
  return state?.size ?? null;
}

/** PostgreSQL's counts of a ticket type, read from the rows themselves. */
export async function ticketCounts(
  dataSource: DataSource,
  ticketTypeId: string,
): Promise<{ available: number; locked: number; sold: number }> {
  const [row]: { available: string; locked: string; sold: string }[] = await dataSource.query(
    `SELECT count(*) FILTER (WHERE status = 'available') AS available,
            count(*) FILTER (WHERE status = 'locked') AS locked,
            count(*) FILTER (WHERE status = 'sold') AS sold
     FROM tickets WHERE ticket_type_id = $1`,
    [ticketTypeId],
  );
  return { available: Number(row.available), locked: Number(row.locked), sold: Number(row.sold) };
}
