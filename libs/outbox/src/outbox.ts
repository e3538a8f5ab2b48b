import type { EntityManager } from 'typeorm';
import type { OutboxMessage } from './outbox-message';

/** A SQL expression, e.g. a column of the statement's row source or a parameter (`$2::text`). */
export interface SqlExpression {
  readonly sql: string;
}

export function sql(text: string): SqlExpression {
  return { sql: text };
}

/** Rows of outbox messages, as a SELECT (see Outbox.rowsSql). */
export interface OutboxRowsSql {
  readonly rowsSql: string;
}

/** A message's payload with each field either its value or a SQL expression producing it. */
export type PayloadSql<P> = { [K in keyof P]: P[K] | SqlExpression };

/**
 * The one writer of outbox rows: every row is an OutboxMessage (outbox-message.ts). A
 * transition writes its row in the statement or transaction that makes the change.
 */
export const Outbox = {
  /** Inserts one row with known values, in the caller's transaction. */
  async write(manager: EntityManager, message: OutboxMessage): Promise<void> {
    await manager.query(`INSERT INTO outbox (topic, payload) VALUES ($1, $2::jsonb)`, [
      message.topic,
      JSON.stringify(message.payload),
    ]);
  },

  /**
   * The rows of one message shape, one per row of `from` (a FROM clause, with any WHERE /
   * GROUP BY); the payload's fields are typed by the topic's message shape. Give rows to
   * `insertSql`.
   */
  rowsSql<M extends OutboxMessage>(
    topic: M['topic'],
    payload: PayloadSql<M['payload']>,
    from: string,
  ): OutboxRowsSql {
    const fields = Object.entries(payload as Record<string, unknown>)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${literal(key)}, ${expression(value)}`);
    return {
      rowsSql: `SELECT ${literal(topic)}, jsonb_build_object(${fields.join(', ')}) FROM ${from}`,
    };
  },

  /**
   * One `INSERT INTO outbox` of these rows, in this order, for use inside a larger statement
   * (a CTE of a transition), so the rows cost no extra round trip.
   */
  insertSql(...rows: OutboxRowsSql[]): string {
    return `INSERT INTO outbox (topic, payload)
       ${rows.map((row) => row.rowsSql).join('\n       UNION ALL ')}`;
  },
};

function expression(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'sql' in value)
    return (value as SqlExpression).sql;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string') return `${literal(value)}::text`;
  throw new Error(`Outbox payload value not supported in SQL: ${String(value)}`);
}

/** Values here are the code's own constants (topics, field names, types), quoted anyway. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
