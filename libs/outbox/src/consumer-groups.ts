/**
 * The consumer groups this server reads the streams with (MessageBus.consume): every group
 * gets every message of its topic, and within a group one instance handles each. A group
 * name is the group's identity on the stream, so two roles must never share one, and
 * another service reading the same streams takes a group of its own.
 */

/** `payment_notifications`: claims the buyer's mail about the order (notifications). */
export const EMAIL_CONSUMER_GROUP = 'email';

/** `ticket_availability`: counts the sale for Prometheus (metrics). */
export const METRICS_CONSUMER_GROUP = 'metrics';

/** `payment_notifications`: tells a waitlist offer to the user's sockets (waitlist). */
export const WAITLIST_OFFER_SOCKET_CONSUMER_GROUP = 'waitlist-offer-socket';
