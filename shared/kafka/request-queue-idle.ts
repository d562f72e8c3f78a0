// kafkajs 2.2.4 re-checks each connection's request queue with setTimeout(negative) after every
// check, even with nothing pending and no throttle: a 1 ms timer loop per broker connection, for
// ever (tulios/kafkajs#1556, #1704; fix proposed in #1667, unreleased). An idle collector spent ~5 %
// of a core in it. The check is skipped when there is nothing to send and no throttle to wait out;
// a request pushed later schedules its own check.
import { createRequire } from 'node:module';

interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const require = createRequire(import.meta.url);
const { prototype } = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue };
const scheduleCheck = prototype.scheduleCheckPendingRequests;
prototype.scheduleCheckPendingRequests = function (this: RequestQueue) {
  if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
  scheduleCheck.call(this);
};
