package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.Schedule;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jspecify.annotations.Nullable;

/**
 * The jobs of a small online shop that the demo enqueues, in five queues, drawn from a seeded
 * random source so that every run makes the same mix. Users, images and reports repeat now and
 * then, so some unique keys collide and the queue reports those jobs as duplicates of the live job
 * holding the key. Some jobs are bad on purpose: invoices without a billing country, and webhook
 * deliveries to an endpoint that refuses every connection.
 */
final class ShopJobs {
    static final String EMAILS = "emails";
    static final String WEBHOOKS = "webhooks";
    static final String THUMBNAILS = "thumbnails";
    static final String INVOICES = "invoices";
    static final String REPORTS = "reports";
    /** The demo's queues, in the order the progress table shows them. */
    static final List<String> QUEUES = List.of(EMAILS, WEBHOOKS, THUMBNAILS, INVOICES, REPORTS);
    /** The recurring job, and the queue of its jobs: nobody enqueues these, a schedule does. */
    static final String STOCK_SYNC = "stock-sync";
    /** How often the stock is synced with the warehouse. */
    static final Duration STOCK_SYNC_EVERY = Duration.ofSeconds(1);

    /** The webhook endpoint that refuses every connection: its deliveries use up their attempts. */
    static final String DEFUNCT_HOST = "hooks.defunct.example";
    /** Attempts of a webhook delivery. */
    static final int WEBHOOK_ATTEMPTS = 6;
    /** Reports are scheduled between this long ... */
    static final Duration REPORTS_FROM = Duration.ofSeconds(2);
    /** ... and this long after they are enqueued (off-peak, in a real shop). */
    static final Duration REPORTS_UNTIL = Duration.ofSeconds(6);

    private static final String[] LOCALES = {"en-GB", "en-US", "de-DE", "fr-FR", "nl-NL"};
    private static final String[] WEBHOOK_HOSTS = {"hooks.acme.example", "api.globex.example", "erp.initech.example"};
    private static final String[] WEBHOOK_EVENTS = {"order.created", "order.paid", "invoice.finalized", "refund.issued"};
    private static final int[] THUMBNAIL_WIDTHS = {160, 640, 1280};
    private static final String[] TENANTS = {"acme", "globex", "initech", "umbrella", "hooli", "stark",
        "wayne", "wonka", "tyrell", "cyberdyne", "soylent", "vandelay"};
    private static final String[] REPORT_KINDS = {"daily-sales", "inventory", "churn"};
    private static final String[] COUNTRIES = {"GB", "DE", "FR", "NL", "US"};

    /** An email: {@code template} is welcome, password-reset or newsletter. */
    record Email(String template, String userId, String to, String locale) {
    }

    /** An event to deliver to a customer's webhook endpoint. */
    record WebhookDelivery(String deliveryId, String host, String event, String orderId) {
    }

    /** A thumbnail to render from an uploaded image. */
    record Thumbnail(String imageId, String sourceUrl, int width) {
    }

    /** An invoice to render as PDF; {@code billingCountry} is null on the bad ones. */
    record Invoice(String number, String tenant, long amountCents, String currency,
                   @Nullable String billingCountry) {
    }

    /** A report to build for a tenant. */
    record Report(String tenant, String kind, LocalDate day) {
    }

    /** The stock levels to fetch from a warehouse: the payload of every job of the schedule. */
    record StockSync(String warehouse) {
    }

    private final Random random = new Random(20250601L);
    private final LocalDate today = LocalDate.now(ZoneOffset.UTC);
    private int sequence;

    /** {@code count} jobs spread over all queues. */
    List<NewJob> next(int count) {
        List<NewJob> jobs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            jobs.add(nextJob());
        }
        return jobs;
    }

    private NewJob nextJob() {
        sequence++;
        int dice = random.nextInt(100);
        if (dice < 40) {
            return email();
        } else if (dice < 68) {
            return webhook();
        } else if (dice < 83) {
            return thumbnail();
        } else if (dice < 93) {
            return invoice();
        }
        return report();
    }

    private NewJob email() {
        String userId = "u-" + (1 + random.nextInt(3000));
        String to = userId + "@example.com";
        int kind = random.nextInt(10);
        if (kind < 4) {
            return NewJob.of(EMAILS, new Email("welcome", userId, to, pick(LOCALES))).uniqueKey("welcome:" + userId);
        } else if (kind < 5) {
            return NewJob.of(EMAILS, new Email("password-reset", userId, to, pick(LOCALES)))
                    .priority(-10) // urgent: jumps the queue
                    .maxAttempts(3);
        }
        return NewJob.of(EMAILS, new Email("newsletter", userId, to, pick(LOCALES))).priority(10);
    }

    private NewJob webhook() {
        String host = random.nextInt(25) == 0 ? DEFUNCT_HOST : pick(WEBHOOK_HOSTS);
        return NewJob.of(WEBHOOKS, new WebhookDelivery("dlv-" + sequence, host, pick(WEBHOOK_EVENTS),
                        "ord-" + (500_000 + random.nextInt(100_000))))
                .fingerprint("endpoint:" + host)
                .maxAttempts(WEBHOOK_ATTEMPTS);
    }

    private NewJob thumbnail() {
        String imageId = "img-" + (10_000 + random.nextInt(1500));
        int width = THUMBNAIL_WIDTHS[random.nextInt(THUMBNAIL_WIDTHS.length)];
        return NewJob.of(THUMBNAILS, new Thumbnail(imageId, "s3://uploads/" + imageId + ".jpg", width))
                .uniqueKey("thumbnail:" + imageId + ":" + width)
                .priority(width / 640); // small previews first: 0, 1, 2
    }

    private NewJob invoice() {
        String tenant = pick(TENANTS);
        String country = random.nextInt(12) == 0 ? null : pick(COUNTRIES);
        return NewJob.of(INVOICES, new Invoice("INV-%05d".formatted(sequence), tenant,
                        100 + random.nextInt(500_000), "EUR", country))
                .fingerprint("tenant:" + tenant);
    }

    private NewJob report() {
        String tenant = pick(TENANTS);
        String kind = pick(REPORT_KINDS);
        LocalDate day = today.minusDays(1 + random.nextInt(7));
        long spreadMillis = REPORTS_UNTIL.minus(REPORTS_FROM).toMillis();
        return NewJob.of(REPORTS, new Report(tenant, kind, day))
                .uniqueKey("report:" + tenant + ":" + kind + ":" + day)
                .delay(REPORTS_FROM.plusMillis((long) (random.nextDouble() * spreadMillis)));
    }

    /** The invoice of the duplicate demonstration: enqueued twice with one unique key. */
    static NewJob invoiceWithUniqueKey() {
        return NewJob.of(INVOICES, new Invoice("INV-2026-00042", "acme", 129_900, "EUR", "NL"))
                .uniqueKey("invoice-pdf:INV-2026-00042")
                .priority(-5);
    }

    /**
     * The recurring job: every {@link #STOCK_SYNC_EVERY}, one job on the queue {@value #STOCK_SYNC}
     * (the first slot one interval after {@code start()} writes the schedule), however many nodes
     * declare it. Declared on the builder, so {@code start()} adds it to the database.
     */
    static Schedule stockSync() {
        return Schedule.every(STOCK_SYNC, STOCK_SYNC, STOCK_SYNC_EVERY).payload(new StockSync("central"));
    }

    /** The welcome email of the sign-up whose transaction is rolled back. */
    static NewJob welcomeOfFailedSignUp() {
        return NewJob.of(EMAILS, new Email("welcome", "u-rolled-back", "rolled.back@example.com", "en-GB"))
                .uniqueKey("welcome:u-rolled-back");
    }

    private String pick(String[] values) {
        return values[random.nextInt(values.length)];
    }
}
