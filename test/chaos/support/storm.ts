import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { CreatedBooking } from '../../support/invariants';
import { HANG_MS } from './profile';
import type { ChaosLine } from './report';
import type { Buyer, ChaosEvent } from './world';

/** How a storm's booking was answered. Status 0: no HTTP answer (connection refused, cut). */
export interface Outcome {
  status: number;
  startedAt: number;
  endedAt: number;
  retryAfter?: string;
  contentType?: string;
  /** For a 201: the order, the ticket ids the answer lists and its checkout link. */
  order?: BookedOrder;
  error?: string;
}

export interface BookedOrder {
  id: string;
  tickets: string[];
  checkoutUrl: string;
}

/** Longer than this with no answer is a hang: the client gives up (the app must never). */
const CLIENT_TIMEOUT_MS = 10_000;
/** While the app is down, workers pace their retries instead of spinning on refusals. */
const REFUSED_PAUSE_MS = 50;

/**
 * A booking storm: `concurrency` requests in flight at once until stopped or out of buyers,
 * each from a buyer who has not booked yet, for 1..maxQuantity tickets of a random type.
 * Bounded in count (the buyers) and time (the caller stops it); only against 127.0.0.1.
 */
export class Storm {
  readonly outcomes: Outcome[] = [];
  private next = 0;
  /** Buyers whose request got no answer (app down): they try again, as people would. */
  private readonly retrying: number[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly agent: Agent;

  constructor(
    private readonly options: {
      /** One base URL, or several (requests alternate between instances). */
      urls: string[];
      event: ChaosEvent;
      buyers: Buyer[];
      concurrency: number;
      maxQuantity?: number;
      /** Called with every 201 (to pay some of them while the storm goes on). */
      onCreated?: (order: BookedOrder) => void;
    },
  ) {
    if (options.urls.some((url) => !new URL(url).hostname.startsWith('127.'))) {
      throw new Error('Storms only run against 127.0.0.1');
    }
    this.agent = new Agent({
      connections: options.concurrency,
      headersTimeout: CLIENT_TIMEOUT_MS,
      bodyTimeout: CLIENT_TIMEOUT_MS,
      connect: { timeout: CLIENT_TIMEOUT_MS },
    });
  }

  start(): this {
    this.running = true;
    this.workers = Array.from({ length: this.options.concurrency }, () => this.work());
    return this;
  }

  /** Stops firing and waits for the requests in flight. */
  async stop(): Promise<Outcome[]> {
    this.running = false;
    await Promise.all(this.workers);
    await this.agent.close();
    return this.outcomes;
  }

  /** Runs for `ms` (or until the buyers run out). */
  async runFor(ms: number): Promise<void> {
    const until = Date.now() + ms;
    const hasBuyers = () => this.retrying.length > 0 || this.next < this.options.buyers.length;
    while (this.running && Date.now() < until && hasBuyers()) {
      await delay(Math.min(100, until - Date.now()));
    }
  }

  get created(): CreatedBooking[] {
    return this.outcomes.flatMap((outcome) =>
      outcome.order ? [{ orderId: outcome.order.id, ticketIds: outcome.order.tickets }] : [],
    );
  }

  private async work(): Promise<void> {
    const { urls, event, buyers, maxQuantity = 3 } = this.options;
    while (this.running && (this.retrying.length > 0 || this.next < buyers.length)) {
      const index = this.retrying.pop() ?? this.next++;
      const buyer = buyers[index];
      const type = event.ticketTypes[index % event.ticketTypes.length];
      const quantity = 1 + (index % maxQuantity);
      const outcome = await this.book(urls[index % urls.length], buyer, event.id, {
        ticketTypeId: type.id,
        quantity,
      });
      this.outcomes.push(outcome);
      // No answer, or 503 (nothing held, Retry-After): the same buyer tries again after a
      // pause, as a real client would, instead of a fresh buyer at full speed.
      if (outcome.status === 0 || outcome.status === 503) {
        this.retrying.push(index);
        await delay(REFUSED_PAUSE_MS);
      }
    }
  }

  private async book(url: string, buyer: Buyer, eventId: string, body: object): Promise<Outcome> {
    const startedAt = Date.now();
    try {
      const answer = await request(`${url}/api/v1/events/${eventId}/bookings`, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { authorization: `Bearer ${buyer.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await answer.body.text();
      const outcome: Outcome = {
        status: answer.statusCode,
        startedAt,
        endedAt: Date.now(),
        retryAfter: header(answer.headers['retry-after']),
        contentType: header(answer.headers['content-type']),
      };
      if (answer.statusCode === 201) {
        const { order, checkoutUrl } = JSON.parse(text) as {
          order: { id: string; tickets: { id: string }[] };
          checkoutUrl: string;
        };
        outcome.order = {
          id: order.id,
          tickets: order.tickets.map((ticket) => ticket.id),
          checkoutUrl,
        };
        this.options.onCreated?.(outcome.order);
      }
      return outcome;
    } catch (error) {
      return { status: 0, startedAt, endedAt: Date.now(), error: String(error) };
    }
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The storm's own worst ordinary answer time: p99 of the answers that did not wait on the
 * fault (201 and 409). On a shared, loaded machine that alone can exceed a second.
 */
export function ordinaryP99Ms(outcomes: Outcome[]): number {
  const times = outcomes
    .filter((outcome) => outcome.status === 201 || outcome.status === 409)
    .map((outcome) => outcome.endedAt - outcome.startedAt)
    .sort((a, b) => a - b);
  return times.length > 0 ? times[Math.floor(times.length * 0.99)] : 0;
}

/**
 * What the answers themselves break of the contract: anything but 201/409/503 (no answer at
 * all only while `allowNoAnswer`), a 503 without Retry-After or that waited on the fault
 * more than HANG_MS longer than the storm's slowest ordinary answers (the machine is shared
 * and loaded: its own latency is not the fault's), an error that is not problem+json, a
 * request the server left hanging.
 */
export function answerViolations(
  outcomes: Outcome[],
  { allowNoAnswer = false }: { allowNoAnswer?: boolean } = {},
): string[] {
  const violations: string[] = [];
  const limitMs = HANG_MS + ordinaryP99Ms(outcomes);
  for (const outcome of outcomes) {
    const ms = outcome.endedAt - outcome.startedAt;
    if (outcome.status === 0) {
      if (!allowNoAnswer || ms >= CLIENT_TIMEOUT_MS) {
        violations.push(`no answer after ${ms} ms: ${outcome.error}`);
      }
      continue;
    }
    if (![201, 409, 503].includes(outcome.status)) {
      violations.push(`answered ${outcome.status}`);
    }
    if (outcome.status !== 201 && !/^application\/problem\+json/.test(outcome.contentType ?? '')) {
      violations.push(`${outcome.status} is not problem+json (${outcome.contentType})`);
    }
    if (outcome.status === 503) {
      if (!(Number(outcome.retryAfter) > 0)) violations.push('503 without Retry-After');
      if (ms > limitMs) violations.push(`503 after ${ms} ms (more than ${limitMs} ms)`);
    }
  }
  return violations;
}

/** The table line of a storm around a fault cleared at `clearedAt`. */
export function summarize(
  fault: string,
  outcomes: Outcome[],
  violations: string[],
  clearedAt: number | null,
): ChaosLine {
  const count = (status: number) => outcomes.filter((outcome) => outcome.status === status).length;
  const answeredAfter =
    clearedAt === null
      ? []
      : outcomes
          .filter((o) => (o.status === 201 || o.status === 409) && o.endedAt >= clearedAt)
          .map((o) => o.endedAt - clearedAt);
  return {
    fault,
    requests: outcomes.length,
    created: count(201),
    conflicts: count(409),
    unavailable: count(503),
    other: outcomes.length - count(201) - count(409) - count(503),
    violations: violations.length,
    recoveryMs: answeredAfter.length > 0 ? Math.min(...answeredAfter) : null,
    maxMs: Math.max(0, ...outcomes.map((outcome) => outcome.endedAt - outcome.startedAt)),
    slowest503Ms: Math.max(
      0,
      ...outcomes.filter((o) => o.status === 503).map((o) => o.endedAt - o.startedAt),
    ),
  };
}
