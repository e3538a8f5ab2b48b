import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In, type Repository } from 'typeorm';
import type { Page } from '@app/http';
import { Outbox } from '@app/outbox';
import {
  TicketInventory,
  TicketLockService,
  TicketTransactions,
  type TicketCounts,
} from '@app/tickets';
import { priceProblem } from './chargeable-price';
import { EventCatalog } from './event-catalog';
import { EventOrders } from './event-orders';
import { Event, TicketType } from './event.entity';
import {
  CurrencyLockedError,
  EventCancelledError,
  EventNotFoundError,
  InvalidTicketTypesError,
  QuantityBelowHeldError,
  TicketTypeNameTakenError,
  TicketTypeNotFoundError,
  UnchargeablePriceError,
} from './events.errors';
import type {
  CreateEventDto,
  EventListQuery,
  EventView,
  TicketListQuery,
  TicketTypeInput,
  TicketView,
  UpdateEventDto,
  UpdateTicketTypeDto,
} from './events.dto';

/** One event holds at most this many tickets (all types together). */
export const MAX_EVENT_TICKETS = 1_000_000;
/** And at most this many ticket types (as CreateEventDto says for a new event). */
export const MAX_TICKET_TYPES = 20;

/** Admin writes and public reads of events, their ticket types and ticket rows. */
@Injectable()
export class EventsService {
  private readonly logger = new Logger(EventsService.name);

  constructor(
    private readonly dataSource: DataSource,
    @InjectRepository(Event) private readonly events: Repository<Event>,
    @InjectRepository(TicketType) private readonly ticketTypes: Repository<TicketType>,
    private readonly inventory: TicketInventory,
    private readonly lock: TicketLockService,
    private readonly tickets: TicketTransactions,
    private readonly catalog: EventCatalog,
    private readonly eventOrders: EventOrders,
  ) {}

  async create(input: CreateEventDto): Promise<EventView> {
    assertTicketTypes(input.ticketTypes);
    assertChargeable(
      input.currency ?? 'usd',
      input.ticketTypes.map((type, index) => ({
        field: `ticketTypes[${index}].price`,
        price: type.price,
      })),
    );
    const eventId = await this.dataSource.transaction(async (manager) => {
      const event = await manager.save(
        manager.create(Event, {
          name: input.name,
          description: input.description ?? null,
          venue: input.venue,
          startsAt: input.startsAt,
          currency: input.currency ?? 'usd',
          maxTicketsPerOrder: input.maxTicketsPerOrder ?? 10,
          status: 'on_sale',
        }),
      );
      const prefixes = new Set<string>();
      for (const [index, type] of input.ticketTypes.entries()) {
        await this.insertTicketType(manager, event.id, index + 1, type, prefixes);
      }
      await inventoryChanged(manager, event.id);
      return event.id;
    });
    return this.warmed(await this.get(eventId));
  }

  /**
   * Warm start: the lock store gets the free ids of an on-sale event's pools it lacks when
   * the event is created, grown or otherwise changed, not on its first booking (a million
   * ids take seconds to load). A failure only means the first booking loads them.
   */
  private async warmed(view: EventView): Promise<EventView> {
    if (view.status !== 'on_sale') return view;
    const startsAt = new Date(view.startsAt);
    for (const type of view.ticketTypes) {
      const pool = { eventId: view.id, ticketTypeId: type.id };
      try {
        if ((await this.lock.inspect(pool)) === null) await this.lock.load(pool, startsAt);
      } catch (error) {
        this.logger.warn(`Lock store not warmed for type ${type.id}: ${String(error)}`);
      }
    }
    return view;
  }

  async get(eventId: string): Promise<EventView> {
    const event = await this.events.findOne({
      where: { id: eventId },
      relations: { ticketTypes: true },
      order: { ticketTypes: { position: 'ASC' } },
    });
    if (!event) throw new EventNotFoundError();
    const counts = await this.inventory.counts(event.ticketTypes.map((type) => type.id));
    return toView(event, counts);
  }

  async list(query: EventListQuery): Promise<Page<EventView>> {
    const builder = this.events
      .createQueryBuilder('e')
      .where('e.starts_at >= :from', { from: query.from ?? new Date() })
      .orderBy('e.starts_at', 'ASC')
      .addOrderBy('e.id', 'ASC')
      .skip(query.offset)
      .take(query.pageSize);
    if (query.to) builder.andWhere('e.starts_at < :to', { to: query.to });
    if (query.q) {
      builder.andWhere('(e.name ILIKE :q OR e.venue ILIKE :q)', {
        q: `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      });
    }
    const [events, total] = await builder.getManyAndCount();
    const types = await this.ticketTypes.find({
      where: { eventId: In(events.map((event) => event.id)) },
      order: { position: 'ASC' },
    });
    const counts = await this.inventory.counts(types.map((type) => type.id));
    const items = events.map((event) =>
      toView({ ...event, ticketTypes: types.filter((type) => type.eventId === event.id) }, counts),
    );
    return { items, page: query.page, pageSize: query.pageSize, total };
  }

  async update(eventId: string, input: UpdateEventDto): Promise<EventView> {
    await this.dataSource.transaction(async (manager) => {
      // Not FOR UPDATE: a payment confirming one of the event's orders checks its foreign
      // key (FOR KEY SHARE) while holding the order the cancellation waits for.
      const event = await manager.findOne(Event, {
        where: { id: eventId },
        lock: { mode: 'for_no_key_update' },
      });
      if (!event) throw new EventNotFoundError();
      if (input.currency && input.currency !== event.currency) {
        const [{ exists }]: { exists: boolean }[] = await manager.query(
          `SELECT EXISTS (SELECT 1 FROM orders WHERE event_id = $1) AS exists`,
          [eventId],
        );
        if (exists) throw new CurrencyLockedError();
        const types = await manager.find(TicketType, { where: { eventId } });
        const unchargeable = types.filter((type) => priceProblem(type.price, input.currency!));
        if (unchargeable.length > 0) {
          const names = unchargeable.map((type) => `"${type.name}" (${type.price})`).join(', ');
          throw new UnchargeablePriceError(input.currency, [
            {
              field: 'currency',
              message: `currency ${input.currency} cannot charge the prices of ${names}: ${priceProblem(unchargeable[0].price, input.currency)}`,
            },
          ]);
        }
      }
      const statusChanged = input.status !== undefined && input.status !== event.status;
      if (statusChanged && event.status === 'cancelled') throw new EventCancelledError();
      const cancelling = statusChanged && input.status === 'cancelled';
      await manager.save(Object.assign(event, input));
      if (statusChanged) await inventoryChanged(manager, eventId);
      // In the same transaction: a crash cannot leave a cancelled event with paid orders
      // that nobody refunds.
      if (cancelling) await this.eventOrders.cancelEventOrders(manager, eventId);
    });
    this.catalog.forget(eventId);
    return this.warmed(await this.get(eventId));
  }

  async addTicketType(eventId: string, input: TicketTypeInput): Promise<EventView> {
    await this.dataSource.transaction(async (manager) => {
      const { currency } = await this.lockForTicketTypeChange(manager, eventId);
      assertChargeable(currency, [{ field: 'price', price: input.price }]);
      const existing = await manager.find(TicketType, { where: { eventId } });
      if (existing.some((type) => type.name === input.name))
        throw new TicketTypeNameTakenError(input.name);
      if (existing.length >= MAX_TICKET_TYPES) {
        throw new InvalidTicketTypesError(
          `An event has at most ${MAX_TICKET_TYPES} ticket types.`,
          [{ field: 'ticketTypes', message: `at most ${MAX_TICKET_TYPES} ticket types per event` }],
        );
      }
      assertEventSize(existing.reduce((sum, type) => sum + type.quantity, input.quantity));
      const position = Math.max(0, ...existing.map((type) => type.position)) + 1;
      const prefixes = new Set(existing.map((type) => type.labelPrefix));
      await this.insertTicketType(manager, eventId, position, input, prefixes);
      await inventoryChanged(manager, eventId);
    });
    this.catalog.forget(eventId);
    return this.warmed(await this.get(eventId));
  }

  /**
   * Renames, reprices or resizes a ticket type. Growing issues new tickets (offered to the
   * waitlist first); shrinking deletes free ones (never below sold + locked). The lock store
   * learns either after the commit.
   */
  async updateTicketType(
    eventId: string,
    ticketTypeId: string,
    input: UpdateTicketTypeDto,
  ): Promise<EventView> {
    await this.tickets.run(async (manager, changes) => {
      // First, as adds do: grows of any type of the event check the cap one after another.
      const { currency } = await this.lockForTicketTypeChange(manager, eventId);
      if (input.price !== undefined)
        assertChargeable(currency, [{ field: 'price', price: input.price }]);
      const type = await manager.findOne(TicketType, {
        where: { id: ticketTypeId, eventId },
        lock: { mode: 'pessimistic_write' },
      });
      if (!type) throw new TicketTypeNotFoundError();
      if (input.name !== undefined && input.name !== type.name) {
        const taken = await manager.exists(TicketType, { where: { eventId, name: input.name } });
        if (taken) throw new TicketTypeNameTakenError(input.name);
      }
      let resized = false;
      if (input.quantity !== undefined && input.quantity !== type.quantity) {
        const delta = input.quantity - type.quantity;
        if (delta > 0) {
          const others = await manager.find(TicketType, { where: { eventId } });
          assertEventSize(others.reduce((sum, other) => sum + other.quantity, delta));
          const [{ max }]: { max: string }[] = await manager.query(
            `SELECT coalesce(max(serial), 0) AS max FROM tickets WHERE ticket_type_id = $1`,
            [ticketTypeId],
          );
          const grownAfterSerial = Number(max);
          await this.inventory.issue(
            manager,
            ticketTypeId,
            grownAfterSerial + 1,
            grownAfterSerial + delta,
          );
          // The waitlist is served before the lock store learns the new tickets.
          const issued: { id: string }[] = await manager.query(
            `SELECT id FROM tickets WHERE ticket_type_id = $1 AND serial > $2 ORDER BY serial`,
            [ticketTypeId, grownAfterSerial],
          );
          await changes.freed([
            { eventId, tickets: issued.map((ticket) => ({ id: ticket.id, ticketTypeId })) },
          ]);
        } else {
          const retired = await this.inventory.retire(manager, ticketTypeId, -delta);
          changes.taken([{ eventId, tickets: retired.map((id) => ({ id, ticketTypeId })) }]);
          if (retired.length < -delta) {
            const counts = (await this.inventory.counts([ticketTypeId], manager)).get(
              ticketTypeId,
            )!;
            throw new QuantityBelowHeldError(counts.locked + counts.sold);
          }
        }
        resized = true;
      }
      await manager.save(
        Object.assign(type, {
          name: input.name ?? type.name,
          price: input.price ?? type.price,
          quantity: input.quantity ?? type.quantity,
        }),
      );
      if (resized) await inventoryChanged(manager, eventId);
    });
    this.catalog.forget(eventId);
    return this.warmed(await this.get(eventId));
  }

  /**
   * A page of an event's tickets in type order, then serial order. The page window is
   * mapped onto the types with the per-type counts, so each query is one index range of
   * one type however large the event.
   */
  async listTickets(eventId: string, query: TicketListQuery): Promise<Page<TicketView>> {
    const event = await this.events.findOne({
      where: { id: eventId },
      relations: { ticketTypes: true },
      order: { ticketTypes: { position: 'ASC' } },
    });
    if (!event) throw new EventNotFoundError();
    const types = event.ticketTypes.filter(
      (type) => !query.ticketTypeId || type.id === query.ticketTypeId,
    );
    if (types.length === 0 && query.ticketTypeId) throw new TicketTypeNotFoundError();
    const counts = await this.inventory.counts(types.map((type) => type.id));
    const sizes = types.map((type) => {
      const count = counts.get(type.id)!;
      return query.status ? count[query.status] : count.available + count.locked + count.sold;
    });
    const items: TicketView[] = [];
    let skip = query.offset;
    for (const [index, type] of types.entries()) {
      if (items.length === query.pageSize) break;
      if (skip >= sizes[index]) {
        skip -= sizes[index];
        continue;
      }
      items.push(
        ...(await this.inventory.page(type.id, query.status, skip, query.pageSize - items.length)),
      );
      skip = 0;
    }
    const total = sizes.reduce((sum, size) => sum + size, 0);
    return { items, page: query.page, pageSize: query.pageSize, total };
  }

  /**
   * Serializes the writes that read the event's ticket types to check its caps, so two of
   * them cannot each pass a check made before the other's tickets were counted. A no-key
   * lock: bookings (whose orders reference the event) go on meanwhile.
   */
  private async lockForTicketTypeChange(
    manager: EntityManager,
    eventId: string,
  ): Promise<Pick<Event, 'id' | 'currency'>> {
    const event = await manager.findOne(Event, {
      select: { id: true, currency: true },
      where: { id: eventId },
      lock: { mode: 'for_no_key_update' },
    });
    if (!event) throw new EventNotFoundError();
    return event;
  }

  private async insertTicketType(
    manager: EntityManager,
    eventId: string,
    position: number,
    input: TicketTypeInput,
    prefixes: Set<string>,
  ): Promise<void> {
    const type = await manager.save(
      manager.create(TicketType, {
        eventId,
        position,
        name: input.name,
        labelPrefix: labelPrefix(input.name, prefixes),
        price: input.price,
        quantity: input.quantity,
      }),
    );
    await this.inventory.issue(manager, type.id, 1, input.quantity);
  }
}

/** Counts of the event moved without an order: a type added, grown or shrunk, or a new status. */
function inventoryChanged(manager: EntityManager, eventId: string): Promise<void> {
  return Outbox.write(manager, {
    topic: 'ticket_availability',
    payload: { type: 'inventory', eventId },
  });
}

function assertTicketTypes(types: TicketTypeInput[]): void {
  const seen = new Set<string>();
  const duplicates = types.flatMap((type, index) => {
    const duplicate = seen.has(type.name);
    seen.add(type.name);
    return duplicate
      ? [{ field: `ticketTypes[${index}].name`, message: 'name must be unique within the event' }]
      : [];
  });
  if (duplicates.length > 0)
    throw new InvalidTicketTypesError('Ticket type names must be unique.', duplicates);
  assertEventSize(types.reduce((sum, type) => sum + type.quantity, 0));
}

/** Every price Stripe could not charge in the currency, listed under its field. */
function assertChargeable(currency: string, prices: { field: string; price: number }[]): void {
  const problems = prices.flatMap(({ field, price }) => {
    const message = priceProblem(price, currency);
    return message ? [{ field, message }] : [];
  });
  if (problems.length > 0) throw new UnchargeablePriceError(currency, problems);
}

function assertEventSize(total: number): void {
  if (total > MAX_EVENT_TICKETS) {
    throw new InvalidTicketTypesError(`An event holds at most ${MAX_EVENT_TICKETS} tickets.`, [
      { field: 'ticketTypes', message: `quantities must add up to at most ${MAX_EVENT_TICKETS}` },
    ]);
  }
}

/** "General Admission" → GA, "VIP" → VIP, "Balcony" → BALC; made unique within the event. */
export function labelPrefix(name: string, taken: Set<string>): string {
  const words = name.toUpperCase().match(/[A-Z0-9]+/g) ?? ['T'];
  const base =
    words.length === 1
      ? words[0].slice(0, 4)
      : words
          .map((word) => word[0])
          .join('')
          .slice(0, 4);
  let prefix = base;
  for (let n = 2; taken.has(prefix); n++) prefix = `${base}${n}`;
  taken.add(prefix);
  return prefix;
}

function toView(event: Event, counts: Map<string, TicketCounts>): EventView {
  return {
    id: event.id,
    name: event.name,
    description: event.description,
    venue: event.venue,
    startsAt: event.startsAt.toISOString(),
    currency: event.currency,
    maxTicketsPerOrder: event.maxTicketsPerOrder,
    status: event.status,
    ticketTypes: event.ticketTypes.map((type) => {
      const count = counts.get(type.id) ?? { available: 0, locked: 0, sold: 0 };
      return { id: type.id, name: type.name, price: type.price, quantity: type.quantity, ...count };
    }),
    createdAt: event.createdAt.toISOString(),
    updatedAt: event.updatedAt.toISOString(),
  };
}
