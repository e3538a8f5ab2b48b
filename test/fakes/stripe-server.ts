/**
 * A Stripe-compatible HTTP server for tests: the official `stripe` SDK can be pointed at it with
 * `{ host, port, protocol: 'http' }` (see ./stripe-client.ts).
 *
 * It speaks the v1 wire protocol the SDK uses (form-encoded bodies with bracket keys, JSON
 * answers, `{ error: { type, code?, message, param? } }` errors) for the few endpoints the app
 * needs, keeps its state in plain maps the tests can inspect, and has switches to make it fail,
 * hang or disappear. Only `node:http` is used; nothing leaves 127.0.0.1.
 *
 * Shapes follow Stripe's API, including two details that differ from older habits:
 *  - a Checkout Session's `payment_intent` is `null` until the session is completed (Stripe
 *    creates the PaymentIntent lazily), and its `url` is `null` once it is no longer open;
 *  - `line_items` only appear on a session when requested with `expand: ['line_items']`.
 */
import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';

/** Kinds of failure `failNext` can inject. */
export type FailureKind = 'server_error' | 'card_error' | 'rate_limit';

/** The body of a Stripe error, as found under `error` in the JSON answer. */
export interface StripeErrorBody {
  type: 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
}

/** One API call as the fake received it (only `/v1/...` calls are recorded). */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/checkout/sessions`. */
  path: string;
  /** Query string parsed with `qs` (GET parameters such as `expand`). */
  query: qs.ParsedQs;
  /** Form body parsed with `qs`: `line_items[0][quantity]=2` becomes `{ line_items: [{ quantity: '2' }] }`. */
  body: qs.ParsedQs;
  /** Request headers, lower-cased by Node. */
  headers: IncomingHttpHeaders;
}

export interface FakePrice {
  id: string;
  object: 'price';
  active: boolean;
  currency: string;
  product: string;
  type: 'one_time';
  unit_amount: number;
  unit_amount_decimal: string;
}

export interface FakeLineItem {
  id: string;
  object: 'item';
  amount_discount: number;
  amount_subtotal: number;
  amount_tax: number;
  amount_total: number;
  currency: string;
  description: string;
  price: FakePrice;
  quantity: number;
}

export interface FakeList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

export type CheckoutSessionStatus = 'open' | 'complete' | 'expired';

/**
 * A Checkout Session as stored. API answers have the same shape, except that `line_items` is
 * only included when the caller expands it (as on Stripe).
 */
export interface FakeCheckoutSession {
  id: string;
  object: 'checkout.session';
  amount_subtotal: number;
  amount_total: number;
  cancel_url: string | null;
  client_reference_id: string | null;
  created: number;
  currency: string;
  customer: null;
  customer_email: string | null;
  expires_at: number;
  line_items: FakeList<FakeLineItem>;
  livemode: false;
  metadata: Record<string, string>;
  mode: 'payment';
  payment_intent: string | null;
  payment_method_types: string[];
  payment_status: 'paid' | 'unpaid';
  status: CheckoutSessionStatus;
  success_url: string | null;
  ui_mode: 'hosted_page';
  url: string | null;
}

/** Created when a session is completed (`completeSession`); refunds point at it. */
export interface FakePaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  created: number;
  currency: string;
  latest_charge: string | null;
  livemode: false;
  metadata: Record<string, string>;
  status: 'succeeded' | 'processing';
}

export interface FakeRefund {
  id: string;
  object: 'refund';
  amount: number;
  balance_transaction: null;
  charge: string;
  created: number;
  currency: string;
  metadata: Record<string, string>;
  payment_intent: string;
  reason: RefundReason | null;
  status: 'succeeded';
}

export type RefundReason = 'duplicate' | 'fraudulent' | 'requested_by_customer';

export interface FailNextOptions {
  /** Extra response headers, e.g. `{ 'Stripe-Should-Retry': 'true' }` or `{ 'Retry-After': '1' }`. */
  headers?: Record<string, string>;
}

export interface HangOptions {
  /**
   * Process the request first (state changes, idempotency key recorded) and only hold the
   * answer: "Stripe did it, but the response never arrived". Default false: held requests are
   * processed when released, and never if the client gave up first.
   */
  afterProcessing?: boolean;
}

interface ApiResponse {
  status: number;
  /** Serialized at creation so an idempotent replay returns exactly the first answer. */
  json: string;
  headers: Record<string, string>;
}

interface SavedIdempotentResponse {
  endpoint: string;
  fingerprint: string;
  response: ApiResponse;
}

interface HeldResponse {
  res: ServerResponse;
  release: () => void;
  timer?: NodeJS.Timeout;
}

interface HangMode {
  /** `null`: hold until `hang(false)`, `reset()` or `close()`. */
  ms: number | null;
  afterProcessing: boolean;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
  ) {
    super(body.message);
  }
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;
/** Tolerance on the 30-minute minimum so a client's own `now + 30 min` is not refused. */
const EXPIRES_AT_SLACK_SECONDS = 10;
const REFUND_REASONS: readonly RefundReason[] = [
  'duplicate',
  'fraudulent',
  'requested_by_customer',
];
const QS_OPTIONS = { depth: 10, arrayLimit: 1000, parameterLimit: 10_000 } as const;

export class StripeFake {
  readonly sessions = new Map<string, FakeCheckoutSession>();
  readonly paymentIntents = new Map<string, FakePaymentIntent>();
  readonly refunds = new Map<string, FakeRefund>();
  /** Every `/v1/...` request received, in arrival order (including failed and held ones). */
  readonly requests: RecordedRequest[] = [];

  private readonly idempotency = new Map<string, SavedIdempotentResponse>();
  private readonly failures: { kind: FailureKind; headers: Record<string, string> }[] = [];
  private readonly held = new Set<HeldResponse>();
  private readonly heldWaiters: { count: number; resolve: () => void }[] = [];
  private hangMode: HangMode | null = null;
  private readonly server: Server;
  private port = 0;

  private constructor(private readonly host: string) {
    this.server = createServer((req, res) => this.onRequest(req, res));
    // Outlive the SDK's keep-alive pool between requests of one test; close() ends them anyway.
    this.server.keepAliveTimeout = 60_000;
  }

  static async start(host = '127.0.0.1'): Promise<StripeFake> {
    const fake = new StripeFake(host);
    await fake.listen(0);
    return fake;
  }

  /** Base URL, e.g. `http://127.0.0.1:54321`. Stays the same across `down()` / `up()`. */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** Number of responses currently held by `hang`. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Resolves once at least `count` responses are being held (no polling or sleeping needed). */
  whenHeld(count = 1): Promise<void> {
    if (this.held.size >= count) return Promise.resolve();
    return new Promise((resolve) => this.heldWaiters.push({ count, resolve }));
  }

  /** Make the next `n` API calls fail with `kind`. Queues after failures already pending. */
  failNext(n: number, kind: FailureKind, options: FailNextOptions = {}): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`failNext: n must be a positive integer`);
    for (let i = 0; i < n; i++) this.failures.push({ kind, headers: { ...options.headers } });
  }

  /**
   * Hold the answers of API calls from now on: `true` holds them until released, a number
   * answers after that many ms, `false` stops hanging and releases what is held.
   */
  hang(mode: number | boolean, options: HangOptions = {}): void {
    if (mode === false) {
      this.hangMode = null;
      for (const held of [...this.held]) {
        this.dropHeld(held);
        held.release();
      }
      return;
    }
    if (mode !== true && (!Number.isFinite(mode) || mode < 0)) {
      throw new Error('hang: ms must be a non-negative number');
    }
    this.hangMode = { ms: mode === true ? null : mode, afterProcessing: !!options.afterProcessing };
  }

  /**
   * What Stripe does when the customer finishes Checkout: the session becomes `complete`, a
   * PaymentIntent is attached (succeeded when `paid`, processing otherwise, as for delayed
   * payment methods). Throws for unknown or non-open sessions, like a real payment would fail.
   */
  completeSession(id: string, { paid = true }: { paid?: boolean } = {}): FakeCheckoutSession {
    const session = this.sessions.get(id);
    if (!session) throw new Error(`stripe-fake: no such checkout session '${id}'`);
    if (session.status !== 'open') {
      throw new Error(
        `stripe-fake: cannot complete checkout session ${id}: it is ${session.status}`,
      );
    }
    const paymentIntent: FakePaymentIntent = {
      id: randomId('pi_test_'),
      object: 'payment_intent',
      amount: session.amount_total,
      amount_received: paid ? session.amount_total : 0,
      created: nowSeconds(),
      currency: session.currency,
      latest_charge: paid ? randomId('ch_test_') : null,
      livemode: false,
      metadata: {},
      status: paid ? 'succeeded' : 'processing',
    };
    this.paymentIntents.set(paymentIntent.id, paymentIntent);
    session.status = 'complete';
    session.payment_status = paid ? 'paid' : 'unpaid';
    session.payment_intent = paymentIntent.id;
    session.url = null;
    return session;
  }

  /** Forget all state, pending failures and hang mode; held responses are dropped. */
  reset(): void {
    this.sessions.clear();
    this.paymentIntents.clear();
    this.refunds.clear();
    this.requests.length = 0;
    this.idempotency.clear();
    this.failures.length = 0;
    this.hangMode = null;
    this.destroyHeld();
  }

  /** Stop accepting connections and cut open ones: the SDK sees a connection error. */
  async down(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve, reject) =>
      this.server.close((err) => (err ? reject(err) : resolve())),
    );
    this.destroyHeld();
    this.server.closeAllConnections();
    await closed;
  }

  /** Listen again on the same port after `down()`. */
  async up(): Promise<void> {
    if (!this.server.listening) await this.listen(this.port);
  }

  async close(): Promise<void> {
    this.hangMode = null;
    await this.down();
  }

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', this.url);
      const method = req.method ?? 'GET';
      const rawBody = Buffer.concat(chunks).toString('utf8');
      try {
        if (url.pathname.startsWith('/v1/')) {
          const recorded: RecordedRequest = {
            method,
            path: url.pathname,
            query: qs.parse(url.search.slice(1), QS_OPTIONS),
            body: qs.parse(rawBody, QS_OPTIONS),
            headers: { ...req.headers },
          };
          this.requests.push(recorded);
          this.onApiRequest(recorded, res);
        } else {
          this.onHelperRequest(method, url, rawBody, res);
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        writeResponse(
          res,
          errorResponse(500, { type: 'api_error', message: `stripe-fake: ${message}` }),
        );
      }
    });
  }

  private onApiRequest(request: RecordedRequest, res: ServerResponse): void {
    const authError = authenticate(headerValue(request.headers, 'authorization'));
    if (authError) return this.respond(res, request, errorResponse(401, authError));

    const hang = this.hangMode;
    if (!hang) return this.respond(res, request, this.process(request));
    if (hang.afterProcessing) {
      const response = this.process(request);
      this.hold(res, hang.ms, () => this.respond(res, request, response));
    } else {
      this.hold(res, hang.ms, () => this.respond(res, request, this.process(request)));
    }
  }

  /** Injected failures, then idempotency, then the endpoint itself. */
  private process(request: RecordedRequest): ApiResponse {
    const failure = this.failures.shift();
    if (failure) {
      const response = failureResponse(failure.kind);
      return { ...response, headers: { ...response.headers, ...failure.headers } };
    }

    const key =
      request.method === 'POST' ? headerValue(request.headers, 'idempotency-key') : undefined;
    if (!key) return this.dispatch(request);

    // Keys are scoped to the API key, like Stripe's are scoped to the account.
    const scope = `${headerValue(request.headers, 'authorization')} ${key}`;
    const endpoint = `${request.method} ${request.path}`;
    const fingerprint = canonicalJson(request.body);
    const saved = this.idempotency.get(scope);
    if (saved) {
      if (saved.endpoint !== endpoint) {
        return errorResponse(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.endpoint}' vs '${endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        });
      }
      if (saved.fingerprint !== fingerprint) {
        return errorResponse(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        });
      }
      const { response } = saved;
      return { ...response, headers: { ...response.headers, 'Idempotent-Replayed': 'true' } };
    }

    const response = this.dispatch(request);
    // Like Stripe, validation failures are not saved: a corrected retry may reuse the key.
    if (response.status < 300) this.idempotency.set(scope, { endpoint, fingerprint, response });
    return response;
  }

  private dispatch(request: RecordedRequest): ApiResponse {
    const { method, path } = request;
    const params = method === 'GET' ? request.query : request.body;
    try {
      if (path === '/v1/checkout/sessions' && method === 'POST') {
        return jsonResponse(200, this.createSession(params));
      }
      const sessionMatch = /^\/v1\/checkout\/sessions\/([^/]+)(\/expire)?$/.exec(path);
      if (sessionMatch && method === 'GET' && !sessionMatch[2]) {
        return jsonResponse(200, this.retrieveSession(decodeURIComponent(sessionMatch[1]), params));
      }
      if (sessionMatch && method === 'POST' && sessionMatch[2]) {
        return jsonResponse(200, this.expireSession(decodeURIComponent(sessionMatch[1]), params));
      }
      if (path === '/v1/refunds' && method === 'POST') {
        return jsonResponse(200, this.createRefund(params));
      }
      return errorResponse(404, {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${method}: ${path}). stripe-fake only implements checkout session create/retrieve/expire and refund create.`,
      });
    } catch (err) {
      if (err instanceof ApiError) return errorResponse(err.status, err.body);
      throw err;
    }
  }

  private createSession(params: qs.ParsedQs): Record<string, unknown> {
    const now = nowSeconds();
    const mode = optionalString(params, 'mode');
    if (mode === undefined) {
      throw invalid('Missing required param: mode.', { param: 'mode', code: 'parameter_missing' });
    }
    if (!['payment', 'setup', 'subscription'].includes(mode)) {
      throw invalid('Invalid mode: must be one of payment, setup, or subscription', {
        param: 'mode',
      });
    }
    if (mode !== 'payment') {
      throw invalid(`stripe-fake only implements mode=payment (got ${mode}).`, { param: 'mode' });
    }

    const lineItems = parseLineItems(params);
    if (lineItems.length === 0) {
      throw invalid('`line_items` is required in `payment` mode.', {
        param: 'line_items',
        code: 'parameter_missing',
      });
    }
    if (lineItems.length > 100) {
      throw invalid('A Checkout Session in `payment` mode can have at most 100 line items.', {
        param: 'line_items',
      });
    }
    const currencies = new Set(lineItems.map((item) => item.currency));
    if (currencies.size > 1) {
      throw invalid('All line items must have the same currency.', { param: 'line_items' });
    }

    const expiresAt = optionalInteger(params, 'expires_at') ?? now + 24 * HOUR;
    if (expiresAt < now + 30 * MINUTE - EXPIRES_AT_SLACK_SECONDS) {
      throw invalid(
        'The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.',
        { param: 'expires_at' },
      );
    }
    if (expiresAt > now + 24 * HOUR) {
      throw invalid(
        'The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.',
        { param: 'expires_at' },
      );
    }

    const id = randomId('cs_test_', 40);
    const amount = lineItems.reduce((sum, item) => sum + item.amount_total, 0);
    const session: FakeCheckoutSession = {
      id,
      object: 'checkout.session',
      amount_subtotal: amount,
      amount_total: amount,
      cancel_url: optionalUrl(params, 'cancel_url'),
      client_reference_id: optionalString(params, 'client_reference_id') ?? null,
      created: now,
      currency: lineItems[0].currency,
      customer: null,
      customer_email: optionalString(params, 'customer_email') ?? null,
      expires_at: expiresAt,
      line_items: {
        object: 'list',
        data: lineItems,
        has_more: false,
        url: `/v1/checkout/sessions/${id}/line_items`,
      },
      livemode: false,
      metadata: parseMetadata(params),
      mode,
      payment_intent: null,
      payment_method_types: ['card'],
      payment_status: 'unpaid',
      status: 'open',
      success_url: optionalUrl(params, 'success_url'),
      ui_mode: 'hosted_page',
      url: `${this.url}/pay/${id}`,
    };
    this.sessions.set(id, session);
    return sessionJson(session, parseExpand(params));
  }

  private retrieveSession(id: string, params: qs.ParsedQs): Record<string, unknown> {
    return sessionJson(this.requireSession(id), parseExpand(params));
  }

  private expireSession(id: string, params: qs.ParsedQs): Record<string, unknown> {
    const session = this.requireSession(id);
    if (session.status !== 'open') {
      throw invalid(
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${session.status}\`.`,
      );
    }
    session.status = 'expired';
    session.url = null;
    return sessionJson(session, parseExpand(params));
  }

  private requireSession(id: string): FakeCheckoutSession {
    const session = this.sessions.get(id);
    if (!session) {
      throw new ApiError(404, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        message: `No such checkout.session: '${id}'`,
        param: 'session',
      });
    }
    return session;
  }

  private createRefund(params: qs.ParsedQs): FakeRefund {
    const paymentIntentId = optionalString(params, 'payment_intent');
    const chargeId = optionalString(params, 'charge');
    if (paymentIntentId === undefined && chargeId === undefined) {
      throw invalid(
        'One of the following params should be provided for this request: payment_intent or charge.',
        { code: 'parameter_missing' },
      );
    }
    const paymentIntent =
      paymentIntentId !== undefined
        ? this.paymentIntents.get(paymentIntentId)
        : [...this.paymentIntents.values()].find((pi) => pi.latest_charge === chargeId);
    if (!paymentIntent) {
      throw paymentIntentId !== undefined
        ? invalid(`No such payment_intent: '${paymentIntentId}'`, {
            param: 'payment_intent',
            code: 'resource_missing',
          })
        : invalid(`No such charge: '${chargeId}'`, { param: 'charge', code: 'resource_missing' });
    }
    const charge = paymentIntent.latest_charge;
    if (paymentIntent.status !== 'succeeded' || charge === null) {
      throw invalid(
        `This PaymentIntent (${paymentIntent.id}) does not have a successful charge to refund.`,
        { param: paymentIntentId !== undefined ? 'payment_intent' : 'charge' },
      );
    }

    const refunded = [...this.refunds.values()]
      .filter((refund) => refund.payment_intent === paymentIntent.id)
      .reduce((sum, refund) => sum + refund.amount, 0);
    const remaining = paymentIntent.amount_received - refunded;
    if (remaining <= 0) {
      throw invalid(`Charge ${charge} has already been refunded.`, {
        code: 'charge_already_refunded',
      });
    }
    const amount = optionalInteger(params, 'amount') ?? remaining;
    if (amount < 1) {
      throw invalid('Invalid positive integer', {
        param: 'amount',
        code: 'parameter_invalid_integer',
      });
    }
    if (amount > remaining) {
      const money = (cents: number) =>
        `${(cents / 100).toFixed(2)} ${paymentIntent.currency.toUpperCase()}`;
      throw invalid(
        `Refund amount (${money(amount)}) is greater than unrefunded amount on charge (${money(remaining)})`,
        { param: 'amount', code: 'amount_too_large' },
      );
    }
    const reason = optionalString(params, 'reason');
    if (reason !== undefined && !isRefundReason(reason)) {
      throw invalid(
        'Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer',
        { param: 'reason' },
      );
    }

    const refund: FakeRefund = {
      id: randomId('re_test_'),
      object: 'refund',
      amount,
      balance_transaction: null,
      charge,
      created: nowSeconds(),
      currency: paymentIntent.currency,
      metadata: parseMetadata(params),
      payment_intent: paymentIntent.id,
      reason: reason ?? null,
      status: 'succeeded',
    };
    this.refunds.set(refund.id, refund);
    return refund;
  }

  /** Not part of Stripe's API: the hosted page a session's `url` points at, plus test hooks. */
  private onHelperRequest(method: string, url: URL, rawBody: string, res: ServerResponse): void {
    const payMatch = /^\/pay\/([^/]+)$/.exec(url.pathname);
    if (payMatch && method === 'GET') {
      const session = this.sessions.get(decodeURIComponent(payMatch[1]));
      if (!session || session.status !== 'open') {
        return writeHtml(res, 404, '<h1>This Checkout Session is no longer available.</h1>');
      }
      const total = `${(session.amount_total / 100).toFixed(2)} ${session.currency.toUpperCase()}`;
      return writeHtml(res, 200, `<h1>stripe-fake checkout</h1><p>${session.id}: ${total}</p>`);
    }

    const completeMatch = /^\/__fake\/checkout\/sessions\/([^/]+)\/complete$/.exec(url.pathname);
    if (completeMatch && method === 'POST') {
      const body = qs.parse(rawBody, QS_OPTIONS);
      const paid = optionalString(body, 'paid') ?? url.searchParams.get('paid') ?? 'true';
      try {
        const session = this.completeSession(decodeURIComponent(completeMatch[1]), {
          paid: paid !== 'false',
        });
        return writeResponse(res, jsonResponse(200, session));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return writeResponse(res, errorResponse(400, { type: 'invalid_request_error', message }));
      }
    }

    writeResponse(
      res,
      errorResponse(404, {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${method}: ${url.pathname}).`,
      }),
    );
  }

  private respond(res: ServerResponse, request: RecordedRequest, response: ApiResponse): void {
    const headers: Record<string, string> = { ...response.headers };
    const version = headerValue(request.headers, 'stripe-version');
    if (version) headers['Stripe-Version'] = version;
    const key = headerValue(request.headers, 'idempotency-key');
    if (key && request.method === 'POST') headers['Idempotency-Key'] = key;
    writeResponse(res, { ...response, headers });
  }

  private hold(res: ServerResponse, ms: number | null, release: () => void): void {
    if (res.destroyed) return; // the client already gave up
    const held: HeldResponse = { res, release };
    // A client that gives up (timeout, abort) takes its request with it.
    res.once('close', () => this.dropHeld(held));
    if (ms !== null) {
      held.timer = setTimeout(() => {
        this.dropHeld(held);
        release();
      }, ms);
    }
    this.held.add(held);
    for (const waiter of [...this.heldWaiters]) {
      if (this.held.size >= waiter.count) {
        this.heldWaiters.splice(this.heldWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  private dropHeld(held: HeldResponse): void {
    clearTimeout(held.timer);
    this.held.delete(held);
  }

  private destroyHeld(): void {
    for (const held of [...this.held]) {
      this.dropHeld(held);
      held.res.destroy();
    }
  }
}

/** Start a fake on 127.0.0.1 with a random free port. Call `close()` when done. */
export async function startStripeFake(): Promise<StripeFake> {
  return StripeFake.start();
}

// ---------------------------------------------------------------------------------------------
// Responses

function jsonResponse(status: number, body: unknown): ApiResponse {
  return { status, json: JSON.stringify(body), headers: {} };
}

function errorResponse(status: number, error: StripeErrorBody): ApiResponse {
  return jsonResponse(status, { error });
}

function failureResponse(kind: FailureKind): ApiResponse {
  switch (kind) {
    case 'server_error':
      return errorResponse(500, {
        type: 'api_error',
        message: 'An unknown error occurred (injected by stripe-fake).',
      });
    case 'card_error':
      return errorResponse(402, {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        message: 'Your card was declined.',
      });
    case 'rate_limit':
      // Stripe answers 429 with type invalid_request_error and code rate_limit.
      return errorResponse(429, {
        type: 'invalid_request_error',
        code: 'rate_limit',
        message:
          'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
      });
  }
}

function writeResponse(res: ServerResponse, response: ApiResponse): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(response.status, {
    'Content-Type': 'application/json',
    'Request-Id': randomId('req_', 14),
    ...response.headers,
  });
  res.end(response.json);
}

function writeHtml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html><body>${body}</body></html>`);
}

function sessionJson(session: FakeCheckoutSession, expand: string[]): Record<string, unknown> {
  const json: Record<string, unknown> = { ...session };
  if (!expand.includes('line_items')) delete json.line_items;
  return json;
}

// ---------------------------------------------------------------------------------------------
// Authentication

function authenticate(authorization: string | undefined): StripeErrorBody | null {
  if (!authorization) {
    return {
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    };
  }
  const key = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] ?? '';
  if (!/^(sk|rk)_test_\w+$/.test(key)) {
    const shown =
      key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}` : key;
    return {
      type: 'invalid_request_error',
      message: `Invalid API Key provided: ${shown || '(malformed Authorization header)'}`,
    };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Parameters (all values arrive as strings; Stripe treats an empty string as "unset")

function invalid(message: string, extra: { param?: string; code?: string } = {}): ApiError {
  return new ApiError(400, { type: 'invalid_request_error', message, ...extra });
}

function optionalString(params: qs.ParsedQs, key: string, name = key): string | undefined {
  const value = params[key];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(`Invalid string: ${name}`, { param: name });
  return value;
}

function requiredString(params: qs.ParsedQs, key: string, name: string): string {
  const value = optionalString(params, key, name);
  if (value === undefined) {
    throw invalid(`Missing required param: ${name}.`, { param: name, code: 'parameter_missing' });
  }
  return value;
}

function optionalInteger(params: qs.ParsedQs, key: string, name = key): number | undefined {
  const value = optionalString(params, key, name);
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) {
    throw invalid(`Invalid integer: ${value}`, { param: name, code: 'parameter_invalid_integer' });
  }
  return Number(value);
}

function requiredInteger(params: qs.ParsedQs, key: string, name: string): number {
  const value = optionalInteger(params, key, name);
  if (value === undefined) {
    throw invalid(`Missing required param: ${name}.`, { param: name, code: 'parameter_missing' });
  }
  return value;
}

function optionalObject(params: qs.ParsedQs, key: string, name: string): qs.ParsedQs | undefined {
  const value = params[key];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`Invalid object: ${name}`, { param: name });
  }
  return value;
}

function optionalUrl(params: qs.ParsedQs, key: string): string | null {
  const value = optionalString(params, key);
  if (value === undefined) return null;
  try {
    new URL(value);
  } catch {
    throw invalid('Not a valid URL', { param: key, code: 'url_invalid' });
  }
  return value;
}

function parseMetadata(params: qs.ParsedQs): Record<string, string> {
  const metadata = optionalObject(params, 'metadata', 'metadata') ?? {};
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (value === '' || value === undefined) continue;
    if (typeof value !== 'string') {
      throw invalid(`Invalid string: metadata[${key}]`, { param: `metadata[${key}]` });
    }
    result[key] = value;
  }
  return result;
}

function parseExpand(params: qs.ParsedQs): string[] {
  const expand = params.expand;
  if (expand === undefined) return [];
  const values = Array.isArray(expand) ? expand : [expand];
  return values.filter((value): value is string => typeof value === 'string');
}

function parseLineItems(params: qs.ParsedQs): FakeLineItem[] {
  const raw = params.line_items;
  if (raw === undefined || raw === '') return [];
  if (!Array.isArray(raw)) throw invalid('Invalid array', { param: 'line_items' });
  return raw.map((entry, index) => {
    const name = `line_items[${index}]`;
    if (typeof entry !== 'object') throw invalid(`Invalid object: ${name}`, { param: name });
    const priceId = optionalString(entry, 'price', `${name}[price]`);
    if (priceId !== undefined) {
      throw invalid(`No such price: '${priceId}' (stripe-fake only supports price_data)`, {
        param: `${name}[price]`,
        code: 'resource_missing',
      });
    }
    const quantity = optionalInteger(entry, 'quantity', `${name}[quantity]`);
    if (quantity === undefined) {
      throw invalid(`Quantity is required. Add \`quantity\` to \`${name}\``, {
        param: `${name}[quantity]`,
        code: 'parameter_missing',
      });
    }
    if (quantity < 1) {
      throw invalid('This value must be greater than or equal to 1.', {
        param: `${name}[quantity]`,
      });
    }
    const priceData = optionalObject(entry, 'price_data', `${name}[price_data]`);
    if (!priceData) {
      throw invalid(`You must specify either \`price\` or \`price_data\` in \`${name}\`.`, {
        param: name,
        code: 'parameter_missing',
      });
    }
    const pd = `${name}[price_data]`;
    const currency = requiredString(priceData, 'currency', `${pd}[currency]`).toLowerCase();
    const unitAmount = requiredInteger(priceData, 'unit_amount', `${pd}[unit_amount]`);
    if (unitAmount < 0) {
      throw invalid('This value must be greater than or equal to 0.', {
        param: `${pd}[unit_amount]`,
      });
    }
    const product = optionalString(priceData, 'product', `${pd}[product]`);
    const productData = optionalObject(priceData, 'product_data', `${pd}[product_data]`);
    if (product === undefined && productData === undefined) {
      throw invalid(`You must specify either \`product\` or \`product_data\` in \`${pd}\`.`, {
        param: pd,
        code: 'parameter_missing',
      });
    }
    const productName = productData
      ? requiredString(productData, 'name', `${pd}[product_data][name]`)
      : undefined;
    const amount = unitAmount * quantity;
    return {
      id: randomId('li_'),
      object: 'item',
      amount_discount: 0,
      amount_subtotal: amount,
      amount_tax: 0,
      amount_total: amount,
      currency,
      description: productName ?? product ?? '',
      price: {
        id: randomId('price_'),
        object: 'price',
        active: false,
        currency,
        product: product ?? randomId('prod_', 14),
        type: 'one_time',
        unit_amount: unitAmount,
        unit_amount_decimal: String(unitAmount),
      },
      quantity,
    } satisfies FakeLineItem;
  });
}

function isRefundReason(value: string): value is RefundReason {
  return (REFUND_REASONS as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------------------------
// Small utilities

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function randomId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let id = prefix;
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

/** JSON with sorted keys, so the same parameters compare equal whatever their order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : val,
  );
}
