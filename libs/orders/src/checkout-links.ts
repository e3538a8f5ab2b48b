import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtSecret } from '@app/auth';
import type { Environment } from '@app/config';

/**
 * The signed link a buyer follows to pay for a hold, usable from a browser without a bearer
 * token. The token is an HMAC over the order id and the hold's end, so it stops working
 * when the hold ends and cannot be made for another order.
 */
@Injectable()
export class CheckoutLinks {
  private readonly key: Buffer;
  private readonly publicUrl: string;

  constructor(secret: JwtSecret, config: ConfigService<Environment, true>) {
    // A key of its own, derived from the server secret, so a link token is never a JWT key.
    this.key = createHmac('sha256', secret.value).update('checkout-link/v1').digest();
    this.publicUrl = config.get('publicUrl', { infer: true });
  }

  urlFor(orderId: string, holdEndsAt: Date): string {
    return `${this.publicUrl}/api/v1/payments/checkout/${orderId}?token=${this.token(orderId, holdEndsAt)}`;
  }

  isValid(orderId: string, holdEndsAt: Date, token: string): boolean {
    const expected = Buffer.from(this.token(orderId, holdEndsAt));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private token(orderId: string, holdEndsAt: Date): string {
    return createHmac('sha256', this.key)
      .update(`${orderId}.${holdEndsAt.getTime()}`)
      .digest('base64url');
  }
}
