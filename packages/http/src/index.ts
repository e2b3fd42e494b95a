/**
 * @switchyard/http — carry Switchyard commands, events and queries over HTTP: an undici producer
 * (`Pool` + `request`, keep-alive, timeouts, retries of connection failures) and a `node:http`
 * consumer (a mountable request handler plus `listen()`), with bearer-token and HMAC auth.
 *
 * @example
 * import { HttpConsumer, HttpProducer, bearerAuth, bearerHeaders } from '@switchyard/http';
 *
 * // receiving process
 * const consumer = new HttpConsumer({ commandBus, queryBus, auth: bearerAuth(token), port: 8080 });
 * const { url } = await consumer.start();
 *
 * // sending process
 * const producer = new HttpProducer({ url, headers: bearerHeaders(token) });
 * router.route(RegisterUser).to(producer);
 *
 * @module
 */

export type { HttpConsumerAsyncOptions } from './async-accept.ts';
export type { AuthHook, AuthRequest, AuthVerdict } from './auth-hook.ts';
export { bearerAuth, bearerHeaders } from './bearer-auth.ts';
export {
  CALLBACK_HEADER,
  CALLBACK_SIGNATURE_HEADER,
  CallbackSignatureError,
  type CallbackSignatureFailure,
  signCallback,
  type VerifyCallbackOptions,
  verifyCallbackSignature,
} from './callback-signature.ts';
export { constantTimeEqual } from './constant-time-equal.ts';
export type { HeadersFactory, OutgoingRequest } from './headers-factory.ts';
export {
  HMAC_SIGNATURE_HEADER,
  HMAC_TIMESTAMP_HEADER,
  type HmacAuthOptions,
  hmacAuth,
  hmacHeaders,
  hmacSignature,
} from './hmac-auth.ts';
export { REPLY_HEADER } from './http-answer.ts';
export { HttpConsumer, type HttpConsumerAddress, type HttpConsumerOptions } from './http-consumer.ts';
export {
  HttpProducer,
  type HttpProducerAsyncOptions,
  type HttpProducerOptions,
  type RetryOptions,
} from './http-producer.ts';
export { type HttpTransportOptions, httpTransport } from './http-transport.ts';
