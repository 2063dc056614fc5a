export { AsyncQueue } from './queue.js';
export { encodeHello, decodeHello, type Hello } from './control.js';
export {
  StreamProducer, acceptStreams, connectWithBackoff, DEFAULT_MAX_MESSAGE_BYTES,
  type ProducerOptions, type ConsumerOptions, type IncomingStream, type ReconnectOptions,
} from './streams.js';
export {
  Publisher, Topic, Subscription, subscribe, DEFAULT_TOPIC,
  type PublisherOptions, type TopicOptions, type SubscribeOptions, type SubscriberStats, type SlowSubscriberPolicy,
} from './pubsub.js';
