/**
 * Route config (`@RouteConfig(VERIFIED_BODY_ROUTE)`) of a route whose body is signed by its
 * sender and read from the raw bytes (the payment webhook): the edge's text check leaves
 * that body alone. A NUL or a lone surrogate in a field the route ignores (a buyer's name
 * in a Stripe event) must not refuse an event the provider would then retry for days,
 * with a paid order waiting on it.
 */
export const VERIFIED_BODY_ROUTE = { verifiedBody: true } as const;
