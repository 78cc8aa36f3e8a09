/** Small runnable examples, one library feature each. */
@NullMarked
package io.github.reactivepgqueue.examples.features;

import org.jspecify.annotations.NullMarked;
