package io.github.reactivepgqueue.examples.support;

import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The PostgreSQL server the examples and the benchmark talk to: the one named by the first program
 * argument or by the environment variable {@value #URL_VARIABLE}, else an embedded server started
 * here and stopped by {@link #close()}. Not thread-safe; open it once in {@code main}.
 */
public final class ExampleDatabase implements AutoCloseable {
    /** The environment variable that may hold the database URL. */
    public static final String URL_VARIABLE = "PGQUEUE_DATABASE_URL";
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final DatabaseUrl url;
    private final String origin;
    private final @Nullable EmbeddedPostgres embedded;

    private ExampleDatabase(DatabaseUrl url, String origin, @Nullable EmbeddedPostgres embedded) {
        this.url = url;
        this.origin = origin;
        this.embedded = embedded;
    }

    /** Picks the server from {@code args} or the environment, starting an embedded one if neither names one. */
    public static ExampleDatabase open(String[] args) throws IOException {
        if (args.length > 0 && !args[0].isBlank()) {
            return new ExampleDatabase(DatabaseUrl.parse(args[0]), "the program argument", null);
        }
        String fromEnvironment = System.getenv(URL_VARIABLE);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return new ExampleDatabase(DatabaseUrl.parse(fromEnvironment), "environment variable " + URL_VARIABLE, null);
        }
        return startEmbedded();
    }

    private static ExampleDatabase startEmbedded() throws IOException {
        System.out.println("no database URL given (argument or " + URL_VARIABLE + "): starting an embedded PostgreSQL");
        EmbeddedPostgres server = EmbeddedPostgres.builder().start();
        DatabaseUrl url = new DatabaseUrl("localhost", server.getPort(), "postgres", "postgres", null);
        return new ExampleDatabase(url, "an embedded server, stopped at the end", server);
    }

    /** Which server is used and where its URL came from; never the password. */
    public String description() {
        return url + ", from " + origin;
    }

    /** A connection factory for this server; connections report {@code applicationName} to PostgreSQL. */
    public PostgresqlConnectionFactory connectionFactory(String applicationName) {
        PostgresqlConnectionConfiguration.Builder configuration = PostgresqlConnectionConfiguration.builder()
                .host(url.host())
                .port(url.port())
                .database(url.database())
                .username(url.user())
                .applicationName(applicationName)
                .connectTimeout(CONNECT_TIMEOUT);
        if (url.password() != null) {
            configuration.password(url.password());
        }
        return new PostgresqlConnectionFactory(configuration.build());
    }

    /**
     * The server and database as an R2DBC URL without credentials, e.g.
     * {@code r2dbc:postgresql://localhost:5432/postgres} (for frameworks configured by URL, such as
     * Spring Boot's {@code spring.r2dbc.url}); the user and password come from {@link #user()} and
     * {@link #password()}.
     */
    public String r2dbcUrl() {
        String shownHost = url.host().contains(":") ? "[" + url.host() + "]" : url.host();
        String database = URLEncoder.encode(url.database(), StandardCharsets.UTF_8).replace("+", "%20");
        return "r2dbc:postgresql://" + shownHost + ":" + url.port() + "/" + database;
    }

    /** The user to log in as. */
    public String user() {
        return url.user();
    }

    /** The password, if one was given. */
    public Optional<String> password() {
        return Optional.ofNullable(url.password());
    }

    /** Stops the embedded server, if one was started here. */
    @Override
    public void close() throws IOException {
        if (embedded != null) {
            embedded.close();
            System.out.println("embedded PostgreSQL stopped");
        }
    }
}
