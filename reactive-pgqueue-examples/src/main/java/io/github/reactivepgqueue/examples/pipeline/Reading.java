package io.github.reactivepgqueue.examples.pipeline;

/**
 * The payload of one job: a meter reading to be written to the warehouse.
 *
 * @param meterId the meter
 * @param seq     the reading's number on that meter
 * @param kwh     the value
 */
public record Reading(String meterId, int seq, double kwh) {
}
