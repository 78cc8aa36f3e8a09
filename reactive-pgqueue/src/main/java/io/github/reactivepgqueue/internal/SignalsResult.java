package io.github.reactivepgqueue.internal;

/** What one send of posted signals did: the notification payloads sent (0 when nothing was posted). */
record SignalsResult(int payloads) {
}
