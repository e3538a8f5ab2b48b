/** Examples for the OpenAPI document (Swagger UI's "Try it out" starts from these). */
const EVENT_ID = '0193a5b2-8d2f-7c4b-8a1f-3e5d7b9c2f40';
const TICKET_TYPE_ID = '0193a5b2-8d30-7d5c-9b2a-4f6e8c0d3a51';
const ORDER_ID = '0193a5b3-1a2b-7c3d-8e4f-5a6b7c8d9e0f';
const CHECKOUT_URL = `http://localhost:3000/api/v1/payments/checkout/${ORDER_ID}?token=eyJvIjoiMDE5M2E1YjMifQ.c2lnbmF0dXJl`;

export const BOOK_BY_QUANTITY_EXAMPLE = { ticketTypeId: TICKET_TYPE_ID, quantity: 2 };

export const BOOK_BY_IDS_EXAMPLE = {
  ticketIds: ['0193a5b2-9e41-7f7e-9d4c-6b8a0e2f5c73', '0193a5b2-9e42-708f-8e5d-7c9b1f3a6d84'],
};

export const ORDER_EXAMPLE = {
  id: ORDER_ID,
  status: 'pending',
  eventId: EVENT_ID,
  userId: '0193a5b2-7c1e-7b3a-9f0e-2d4c6a8b1e3f',
  tickets: [
    {
      id: '0193a5b2-9e41-7f7e-9d4c-6b8a0e2f5c73',
      ticketTypeId: TICKET_TYPE_ID,
      label: 'GA-000001',
    },
    {
      id: '0193a5b2-9e42-708f-8e5d-7c9b1f3a6d84',
      ticketTypeId: TICKET_TYPE_ID,
      label: 'GA-000002',
    },
  ],
  quantity: 2,
  totalAmount: 5000,
  currency: 'usd',
  expiresAt: '2026-12-01T09:50:00.000Z',
  checkoutUrl: CHECKOUT_URL,
  createdAt: '2026-12-01T09:40:00.000Z',
  updatedAt: '2026-12-01T09:40:00.000Z',
};

export const BOOKING_EXAMPLE = { order: ORDER_EXAMPLE, checkoutUrl: CHECKOUT_URL };

export const CONFIRMED_ORDER_EXAMPLE = {
  ...ORDER_EXAMPLE,
  status: 'confirmed',
  checkoutUrl: null,
  updatedAt: '2026-12-01T09:42:10.000Z',
};
