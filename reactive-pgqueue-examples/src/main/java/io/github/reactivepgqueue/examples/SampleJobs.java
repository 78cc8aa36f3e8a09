package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.NewJob;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Realistic jobs of a small SaaS shop, drawn from a seeded random source so that every run makes
 * the same mix. Users, images and reports repeat now and then, so some unique keys collide and the
 * queue reports those jobs as duplicates of the live job holding the key.
 */
final class SampleJobs {
    static final String EMAILS = "emails";
    static final String THUMBNAILS = "thumbnails";
    static final String REPORTS = "reports";
    static final String WEBHOOKS = "webhooks";

    private static final String[] LOCALES = {"en-GB", "en-US", "de-DE", "fr-FR", "nl-NL"};
    private static final int[] THUMBNAIL_WIDTHS = {160, 640, 1280};
    private static final String[] TENANTS = {"acme", "globex", "initech", "umbrella", "hooli", "stark",
        "wayne", "wonka", "tyrell", "cyberdyne", "soylent", "vandelay"};
    private static final String[] REPORT_KINDS = {"daily-sales", "inventory", "churn"};
    private static final String[] WEBHOOK_HOSTS = {"hooks.acme.example", "api.globex.example", "erp.initech.example"};
    private static final String[] WEBHOOK_EVENTS = {"order.created", "order.paid", "invoice.finalized", "refund.issued"};
    private static final String CAMPAIGN = "spring-sale";

    /** A welcome email after sign-up; one per user while it is pending. */
    record WelcomeEmail(String userId, String to, String locale) {
    }

    /** A password-reset email: urgent, so it jumps the email queue. */
    record PasswordResetEmail(String userId, String to, String resetToken) {
    }

    /** A newsletter email, sent later in the campaign's time window. */
    record NewsletterEmail(String campaign, String to, String locale) {
    }

    /** A thumbnail to render from an uploaded image. */
    record Thumbnail(String imageId, String sourceUrl, int width, String format) {
    }

    /** A report to build off-peak. */
    record Report(String tenant, String kind, LocalDate day, String format) {
    }

    /** An event to deliver to a customer's webhook endpoint. */
    record WebhookDelivery(String deliveryId, String endpoint, String event, String orderId) {
    }

    /** An invoice to render as PDF; the demo enqueues it twice to show duplicate detection. */
    record InvoicePdf(String invoiceNumber, String tenant, long amountCents, String currency) {
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
        if (dice < 15) {
            return welcomeEmail();
        } else if (dice < 20) {
            return passwordResetEmail();
        } else if (dice < 40) {
            return newsletterEmail();
        } else if (dice < 70) {
            return thumbnail();
        } else if (dice < 80) {
            return report();
        }
        return webhookDelivery();
    }

    private NewJob welcomeEmail() {
        String userId = "u-" + (1 + random.nextInt(2000));
        return NewJob.of(EMAILS, new WelcomeEmail(userId, userId + "@example.com", pick(LOCALES)))
                .uniqueKey("welcome:" + userId);
    }

    private NewJob passwordResetEmail() {
        String userId = "u-" + (1 + random.nextInt(2000));
        return NewJob.of(EMAILS, new PasswordResetEmail(userId, userId + "@example.com", token()))
                .priority(-10)
                .fingerprint("user:" + userId)
                .maxAttempts(3);
    }

    private NewJob newsletterEmail() {
        String to = "reader-" + sequence + "@example.com";
        return NewJob.of(EMAILS, new NewsletterEmail(CAMPAIGN, to, pick(LOCALES)))
                .priority(10)
                .fingerprint("campaign:" + CAMPAIGN)
                .delay(Duration.ofMinutes(15 + random.nextInt(6 * 60)));
    }

    private NewJob thumbnail() {
        String imageId = "img-" + (10_000 + random.nextInt(1500));
        int width = THUMBNAIL_WIDTHS[random.nextInt(THUMBNAIL_WIDTHS.length)];
        return NewJob.of(THUMBNAILS, new Thumbnail(imageId, "s3://uploads/" + imageId + ".jpg", width, "webp"))
                .uniqueKey("thumbnail:" + imageId + ":" + width)
                .fingerprint("image:" + imageId)
                .priority(width / 640); // small previews first: 0, 1, 2
    }

    private NewJob report() {
        String tenant = pick(TENANTS);
        String kind = pick(REPORT_KINDS);
        LocalDate day = today.minusDays(1 + random.nextInt(7));
        return NewJob.of(REPORTS, new Report(tenant, kind, day, "xlsx"))
                .uniqueKey("report:" + tenant + ":" + kind + ":" + day)
                .fingerprint("tenant:" + tenant)
                .priority(5)
                .maxAttempts(3)
                .delay(Duration.ofMinutes(30 + random.nextInt(5 * 60))); // off-peak
    }

    private NewJob webhookDelivery() {
        String host = pick(WEBHOOK_HOSTS);
        NewJob job = NewJob.of(WEBHOOKS, new WebhookDelivery("dlv-" + sequence, "https://" + host + "/webhooks",
                        pick(WEBHOOK_EVENTS), "ord-" + (500_000 + random.nextInt(100_000))))
                .fingerprint("endpoint:" + host)
                .maxAttempts(10);
        // the odd endpoint asked us to back off: deliver those a little later
        return random.nextInt(10) == 0 ? job.delay(Duration.ofSeconds(90)) : job;
    }

    /** The invoice job of the duplicate demonstration. */
    static NewJob invoicePdf() {
        return NewJob.of(REPORTS, new InvoicePdf("INV-2025-00042", "acme", 129_900, "EUR"))
                .uniqueKey("invoice-pdf:INV-2025-00042")
                .fingerprint("tenant:acme")
                .priority(-5);
    }

    /** The welcome email of the rolled-back sign-up. */
    static NewJob welcomeEmailOfFailedSignUp() {
        return NewJob.of(EMAILS, new WelcomeEmail("u-rolled-back", "rolled.back@example.com", "en-GB"))
                .uniqueKey("welcome:u-rolled-back");
    }

    private String pick(String[] values) {
        return values[random.nextInt(values.length)];
    }

    private String token() {
        return Long.toHexString(random.nextLong()) + Long.toHexString(random.nextLong());
    }
}
