package io.github.reactivepgqueue.examples.webflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.HttpStatus;
import org.springframework.test.web.reactive.server.WebTestClient;
import reactor.test.StepVerifier;

/**
 * The shop, started as a whole (web server, Spring Boot's R2DBC pool, the queue and its handlers)
 * on the test database, in a schema of this class's own, and driven over HTTP.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShopApplicationIT {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final ParameterizedTypeReference<List<JobView>> JOB_LIST = new ParameterizedTypeReference<>() { };
    private static final ParameterizedTypeReference<List<JobView.Count>> COUNT_LIST = new ParameterizedTypeReference<>() { };

    private final TestSchema db;
    private ConfigurableApplicationContext context;
    private WebTestClient client;
    private Mailer mailer;

    ShopApplicationIT(TestSchema db) {
        this.db = db;
    }

    @BeforeAll
    void startTheShop() {
        DatabaseCoordinates server = db.coordinates();
        context = new SpringApplicationBuilder(ShopApplication.class).main(ShopApplication.class).run(
                "--spring.r2dbc.url=r2dbc:postgresql://" + server.host() + ":" + server.port() + "/" + server.database(),
                "--spring.r2dbc.username=" + server.user(),
                "--spring.r2dbc.password=" + server.password(),
                "--pgqueue.schema=" + db.name(),
                "--shop.schema=" + db.name(),
                "--server.port=0");
        client = WebTestClient.bindToServer()
                .baseUrl("http://localhost:" + context.getEnvironment().getRequiredProperty("local.server.port"))
                .responseTimeout(WAIT)
                .build();
        mailer = context.getBean(Mailer.class);
    }

    @AfterAll
    void stopTheShop() {
        if (context != null) {
            context.close();
        }
    }

    @Test
    void anEnqueuedEmailIsSentByTheHandlerBean() {
        EmailController.EnqueuedJob job = sendEmail("ann@example.com", "welcome");

        assertThat(job.duplicate()).isFalse();
        await().atMost(WAIT).until(() -> deliveriesOf(job.jobId()) == 1);
        await().atMost(WAIT).until(() -> count("SELECT count(*) FROM {schema}.jobs_archive WHERE id = $1 AND status = 'completed'",
                job.jobId()) == 1);
    }

    @Test
    void anOrderAndItsShippingJobCommitTogether() {
        long booksBefore = count("SELECT available FROM {schema}.stock WHERE sku = 'book'");

        OrderService.PlacedOrder placed = client.post().uri("/orders")
                .bodyValue(new OrderRequest("book", 3, "carl@example.com"))
                .exchange()
                .expectStatus().isCreated()
                .expectBody(OrderService.PlacedOrder.class).returnResult().getResponseBody();

        assertThat(count("SELECT count(*) FROM {schema}.orders WHERE id = $1", placed.orderId())).isOne();
        assertThat(count("SELECT available FROM {schema}.stock WHERE sku = 'book'")).isEqualTo(booksBefore - 3);
        assertThat(jobsWithKey("ship:" + placed.orderId())).isOne();
        // the handler bean ran the job: the order is shipped
        await().atMost(WAIT).untilAsserted(() -> client.get().uri("/orders/{id}", placed.orderId())
                .exchange()
                .expectStatus().isOk()
                .expectBody().jsonPath("$.status").isEqualTo("shipped"));
    }

    @Test
    void anOrderThatFailsAfterTheEnqueueLeavesNeitherTheOrderNorTheJob() {
        db.execute("UPDATE {schema}.stock SET available = 2 WHERE sku = 'lamp'");
        long ordersBefore = db.rows("orders");
        long shippingJobsBefore = shippingJobs();

        // the order row and the job are written, then the stock reservation fails: all is rolled back
        client.post().uri("/orders")
                .bodyValue(new OrderRequest("lamp", 3, "dora@example.com"))
                .exchange()
                .expectStatus().isEqualTo(HttpStatus.CONFLICT)
                .expectBody().jsonPath("$.detail").isEqualTo("Not enough stock of 'lamp' for 3 items");

        assertThat(db.rows("orders")).isEqualTo(ordersBefore);
        assertThat(count("SELECT count(*) FROM {schema}.orders WHERE email = 'dora@example.com'")).isZero();
        assertThat(shippingJobs()).isEqualTo(shippingJobsBefore);
        assertThat(count("SELECT available FROM {schema}.stock WHERE sku = 'lamp'")).isEqualTo(2);
    }

    @Test
    void theTransactionalEnqueueRefusesToRunOutsideATransaction() {
        TransactionalJobs jobs = context.getBean(TransactionalJobs.class);

        StepVerifier.create(jobs.enqueue(NewJob.of(Email.QUEUE, new Email("eve@example.com", "no transaction"))))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("No R2DBC transaction is active"))
                .verify(WAIT);
        assertThat(count("SELECT count(*) FROM {schema}.jobs WHERE payload->>'to' = 'eve@example.com'")).isZero();
    }

    @Test
    void aDeadLetteredJobIsListedAndRequeuedWhileItsQueueIsPaused() {
        EmailController.EnqueuedJob job = sendEmail("nobody@example.invalid", "bounce");

        // the handler finds no mailbox: unprocessable, moved to the dead-letter table by the janitor
        JobView dead = await().atMost(WAIT).until(() -> deadLetter(job.jobId()), found -> found != null);
        assertThat(dead.status()).isEqualTo("unprocessable");
        assertThat(dead.lastError()).isEqualTo("No mailbox nobody@example.invalid");
        assertThat(counts()).contains(new JobView.Count(Email.QUEUE, "unprocessable", "dead", 1));

        client.post().uri("/admin/queues/{queue}/pause", Email.QUEUE).exchange().expectStatus().isNoContent();
        assertThat(paused()).containsExactly(Email.QUEUE);
        client.post().uri("/admin/dead-letters/{id}/requeue", job.jobId()).exchange().expectStatus().isNoContent();

        // pending again, but nobody takes it while the queue is paused
        assertThat(deadLetter(job.jobId())).isNull();
        await().during(Duration.ofMillis(1500)).atMost(WAIT)
                .until(() -> count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 AND status = 'pending'", job.jobId()) == 1);
        assertThat(deliveriesOf(job.jobId())).isOne();

        client.post().uri("/admin/queues/{queue}/resume", Email.QUEUE).exchange().expectStatus().isNoContent();
        assertThat(paused()).isEmpty();
        await().atMost(WAIT).until(() -> deliveriesOf(job.jobId()) == 2);
        await().atMost(WAIT).until(() -> deadLetter(job.jobId()), found -> found != null);

        // a job that is not in the dead-letter table cannot be requeued
        client.post().uri("/admin/dead-letters/{id}/requeue", UUID.randomUUID()).exchange()
                .expectStatus().isEqualTo(HttpStatus.CONFLICT);
    }

    @Test
    void badRequestsAreRefusedWithoutTouchingTheQueue() {
        long jobsBefore = db.rows("jobs");

        client.post().uri("/emails").bodyValue(Map.of("to", "", "subject", "x")).exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.detail").isEqualTo("to must be an email address");
        client.post().uri("/orders").bodyValue(new OrderRequest("book", 0, "fay@example.com")).exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.detail").isEqualTo("quantity must be at least 1");
        client.get().uri("/admin/dead-letters?limit=0").exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.detail").isEqualTo("limit must be between 1 and 1000 but was 0");

        assertThat(db.rows("jobs")).isEqualTo(jobsBefore);
    }

    private EmailController.EnqueuedJob sendEmail(String to, String subject) {
        return client.post().uri("/emails")
                .bodyValue(new Email(to, subject))
                .exchange()
                .expectStatus().isAccepted()
                .expectBody(EmailController.EnqueuedJob.class).returnResult().getResponseBody();
    }

    private long deliveriesOf(UUID jobId) {
        return mailer.deliveries().stream().filter(delivery -> delivery.jobId().equals(jobId)).count();
    }

    private JobView deadLetter(UUID jobId) {
        List<JobView> page = client.get().uri("/admin/dead-letters?queue={queue}&limit=1000", Email.QUEUE)
                .exchange()
                .expectStatus().isOk()
                .expectBody(JOB_LIST).returnResult().getResponseBody();
        return page.stream().filter(job -> job.id().equals(jobId)).findFirst().orElse(null);
    }

    private List<JobView.Count> counts() {
        return client.get().uri("/admin/counts").exchange().expectStatus().isOk()
                .expectBody(COUNT_LIST).returnResult().getResponseBody();
    }

    private List<String> paused() {
        return client.get().uri("/admin/queues/paused").exchange().expectStatus().isOk()
                .expectBody(new ParameterizedTypeReference<List<String>>() { }).returnResult().getResponseBody();
    }

    private long jobsWithKey(String uniqueKey) {
        return count("SELECT (SELECT count(*) FROM {schema}.jobs WHERE unique_key = $1)"
                + " + (SELECT count(*) FROM {schema}.jobs_archive WHERE unique_key = $1)", uniqueKey);
    }

    private long shippingJobs() {
        return count("SELECT (SELECT count(*) FROM {schema}.jobs WHERE queue = $1)"
                + " + (SELECT count(*) FROM {schema}.jobs_archive WHERE queue = $1)"
                + " + (SELECT count(*) FROM {schema}.jobs_dead WHERE queue = $1)", ShipOrder.QUEUE);
    }

    private long count(String sql, Object... params) {
        return db.count(sql, params);
    }
}
