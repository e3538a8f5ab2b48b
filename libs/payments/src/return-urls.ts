/** Where the provider sends the buyer back after paying or giving up (pages of this server). */
export function returnUrls(
  publicUrl: string,
  orderId: string,
): { successUrl: string; cancelUrl: string } {
  const page = `${publicUrl}/api/v1/payments/return`;
  return {
    successUrl: `${page}/success?orderId=${orderId}`,
    cancelUrl: `${page}/cancel?orderId=${orderId}`,
  };
}
