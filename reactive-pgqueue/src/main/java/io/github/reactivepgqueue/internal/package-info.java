/**
 * The library's implementation. <strong>Not API:</strong> anything here may change in any release;
 * types are public only where another package of the library needs them.
 */
@NullMarked
package io.github.reactivepgqueue.internal;

import org.jspecify.annotations.NullMarked;
