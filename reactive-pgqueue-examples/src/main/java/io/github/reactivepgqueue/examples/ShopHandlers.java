package io.github.reactivepgqueue.examples;

import static io.github.reactivepgqueue.examples.ShopJobs.DEFUNCT_HOST;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.QueueOptions;
import io.github.reactivepgqueue.ReactiveHandler;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * The shop's handlers, one per queue, each with the options that suit it. They pretend to work
 * with non-blocking delays:
 * <ul>
 *   <li>emails: fast and reliable;</li>
 *   <li>webhooks: flaky, an endpoint answers 503 at random ({@value #WEBHOOK_FAILURE_PERCENT} %)
 *       and the handler asks for {@link Outcome#retry(String)}, after a short exponential backoff;
 *       the defunct endpoint refuses every connection (the handler fails with an error, which is a
 *       failed attempt too), so its deliveries use up their attempts and end {@code failed} in the
 *       dead-letter table;</li>
 *   <li>thumbnails: slow (a few hundred milliseconds each, 32 at a time);</li>
 *   <li>invoices: an invoice without a billing country can never be rendered, so the handler
 *       says {@link Outcome#unprocessable()} and it goes to the dead-letter table at once;</li>
 *   <li>reports: scheduled in the future when enqueued; the handler just builds them;</li>
 *   <li>stock-sync: the jobs of a schedule, one a second; the handler counts its runs.</li>
 * </ul>
 * Each handler tells the {@link DemoTally} about attempts that failed and will be retried.
 */
final class ShopHandlers {
    static final int WEBHOOK_FAILURE_PERCENT = 30;
    /** Short, so that retries happen while the demo runs: 200 ms, 400 ms, 800 ms, then 1 s (give or take 20 %). */
    static final Backoff WEBHOOK_BACKOFF = Backoff.exponential(Duration.ofMillis(200), 2.0, Duration.ofSeconds(1))
            .withJitter(0.2);

    private final DemoTally tally;

    ShopHandlers(DemoTally tally) {
        this.tally = tally;
    }

    /** {@code builder} with the six handlers registered. */
    PgQueueBuilder registerOn(PgQueueBuilder builder) {
        return builder
                .handler(counted(ShopJobs.EMAILS, this::sendEmail), QueueOptions.defaults().concurrency(100))
                .handler(counted(ShopJobs.WEBHOOKS, this::deliverWebhook),
                        QueueOptions.defaults().concurrency(50).backoff(WEBHOOK_BACKOFF).timeout(Duration.ofSeconds(5)))
                .handler(counted(ShopJobs.THUMBNAILS, this::renderThumbnail),
                        QueueOptions.defaults().concurrency(32).timeout(Duration.ofSeconds(5)))
                .handler(counted(ShopJobs.INVOICES, this::renderInvoice), QueueOptions.defaults().concurrency(20))
                .handler(counted(ShopJobs.REPORTS, this::buildReport), QueueOptions.defaults().concurrency(20))
                .handler(ReactiveHandler.of(ShopJobs.STOCK_SYNC, this::syncStock));
    }

    private Mono<Outcome> sendEmail(Job job) {
        job.payload(ShopJobs.Email.class); // a payload that does not fit fails the attempt
        return work(5, 25).thenReturn(Outcome.success());
    }

    private Mono<Outcome> deliverWebhook(Job job) {
        ShopJobs.WebhookDelivery delivery = job.payload(ShopJobs.WebhookDelivery.class);
        if (delivery.host().equals(DEFUNCT_HOST)) {
            return work(2, 10).then(Mono.error(new DeliveryFailed("connection refused by " + DEFUNCT_HOST + ":443")));
        }
        boolean unavailable = ThreadLocalRandom.current().nextInt(100) < WEBHOOK_FAILURE_PERCENT;
        return work(10, 60).thenReturn(unavailable
                ? Outcome.retry("HTTP 503 Service Unavailable from " + delivery.host())
                : Outcome.success());
    }

    private Mono<Outcome> renderThumbnail(Job job) {
        job.payload(ShopJobs.Thumbnail.class);
        return work(150, 400).thenReturn(Outcome.success());
    }

    private Mono<Outcome> renderInvoice(Job job) {
        ShopJobs.Invoice invoice = job.payload(ShopJobs.Invoice.class);
        if (invoice.billingCountry() == null) {
            return Mono.just(Outcome.unprocessable()
                    .withReason("invoice " + invoice.number() + " has no billing country: VAT cannot be computed"));
        }
        return work(20, 60).thenReturn(Outcome.success());
    }

    private Mono<Outcome> buildReport(Job job) {
        job.payload(ShopJobs.Report.class);
        return work(100, 300).thenReturn(Outcome.success());
    }

    private Mono<Outcome> syncStock(Job job) {
        job.payload(ShopJobs.StockSync.class); // job.runAt() is the schedule's slot
        return work(5, 20).doOnNext(done -> tally.stockSynced()).thenReturn(Outcome.success());
    }

    /** The handler of {@code queue}, counting its failed attempts that will be retried. */
    private ReactiveHandler counted(String queue, Function<Job, Mono<Outcome>> handle) {
        return ReactiveHandler.of(queue, job -> Mono.defer(() -> handle.apply(job))
                .doOnNext(outcome -> {
                    if (outcome instanceof Outcome.Retry && !job.isLastAttempt()) {
                        tally.retried(queue);
                    }
                })
                .doOnError(error -> {
                    if (!job.isLastAttempt()) {
                        tally.retried(queue);
                    }
                }));
    }

    /** Pretended work: a non-blocking pause of {@code minMillis} to {@code maxMillis}. */
    private static Mono<Long> work(int minMillis, int maxMillis) {
        return Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(minMillis, maxMillis + 1)));
    }

    /** A webhook delivery that could not connect; without a stack trace, which would say nothing here. */
    static final class DeliveryFailed extends RuntimeException {
        DeliveryFailed(String message) {
            super(message, null, false, false);
        }
    }
}
