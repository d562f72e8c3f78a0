import type { Receiver } from './config.js';
import type { Notification } from './grouping.js';

/** An HTTP request to a receiver, built when it is attempted (signatures carry the attempt's time). */
export interface SinkRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A sink: renders a notification once, when queued, and builds each attempt's request. */
export interface Sink<R extends Receiver = Receiver> {
  /** The stored request body. */
  render(notification: Notification, receiver: R): string;
  request(receiver: R, body: string, now: number): SinkRequest;
}

export const JSON_HEADERS = { 'content-type': 'application/json', 'user-agent': 'fineprint' } as const;

/** Cuts text to `max` characters, marking the cut. */
export const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
