package io.github.reactivepgqueue.testing;

import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Where a test PostgreSQL server listens and how to log in.
 *
 * @param source a human description of where the server came from
 */
public record DatabaseCoordinates(String host, int port, String database, String user, String password,
                                  String source) {

    /**
     * Parses {@code postgresql://user:password@host:port/database}; the prefixes {@code postgres://},
     * {@code jdbc:postgresql://} and {@code r2dbc:postgresql://} and the query parameters
     * {@code user} and {@code password} are accepted too.
     */
    public static DatabaseCoordinates parseUrl(String url, String source) {
        String rest = url.strip().replaceFirst("^(jdbc:|r2dbc:)", "").replaceFirst("^postgres(ql)?://", "postgresql://");
        if (!rest.startsWith("postgresql://")) {
            throw new IllegalArgumentException("Not a PostgreSQL URL (postgresql://user:password@host:port/db): "
                    + redact(url));
        }
        URI uri = URI.create(rest);
        Map<String, String> query = new HashMap<>();
        if (uri.getRawQuery() != null) {
            for (String pair : uri.getRawQuery().split("&")) {
                String[] kv = pair.split("=", 2);
                query.put(decode(kv[0]), kv.length > 1 ? decode(kv[1]) : "");
            }
        }
        String user = "postgres";
        String password = "";
        if (uri.getRawUserInfo() != null) {
            String[] parts = uri.getRawUserInfo().split(":", 2);
            user = decode(parts[0]);
            password = parts.length > 1 ? decode(parts[1]) : "";
        }
        user = query.getOrDefault("user", user);
        password = query.getOrDefault("password", password);
        String path = uri.getPath() == null || uri.getPath().length() <= 1 ? "postgres" : uri.getPath().substring(1);
        return new DatabaseCoordinates(uri.getHost() == null ? "localhost" : uri.getHost(),
                uri.getPort() < 0 ? 5432 : uri.getPort(), path, user, password, source);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static String redact(String url) {
        return url.replaceAll("://([^:/@]*):[^@]*@", "://$1:***@");
    }

    /** A JDBC URL, for tools such as Flyway. */
    public String jdbcUrl() {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    /**
     * The same database, user and password reached at another address, e.g. through a
     * {@link TcpProxy}.
     */
    public DatabaseCoordinates withHostPort(String host, int port) {
        return new DatabaseCoordinates(host, port, database, user, password, source + " via " + host + ":" + port);
    }

    /** An unpooled R2DBC connection factory. */
    public PostgresqlConnectionFactory connectionFactory(String applicationName) {
        return new PostgresqlConnectionFactory(PostgresqlConnectionConfiguration.builder()
                .host(host).port(port).database(database).username(user).password(password)
                .applicationName(applicationName).tcpKeepAlive(true).build());
    }

    @Override
    public String toString() {
        return source + " (" + user + "@" + host + ":" + port + "/" + database + ")";
    }
}
