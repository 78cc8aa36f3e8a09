package io.github.reactivepgqueue.examples.support;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Where a PostgreSQL server is, parsed from a URL such as
 * {@code postgresql://user:secret@host:5432/db}. Also accepts the schemes {@code postgres://},
 * {@code jdbc:postgresql://} and {@code r2dbc:postgresql://}, and the query parameters
 * {@code user} and {@code password} (which win over the user info). The port defaults to 5432,
 * the user to {@code postgres} and the database to the user's name, as with libpq.
 *
 * <p>{@link #toString()} never shows the password.
 */
record DatabaseUrl(String host, int port, String database, String user, @Nullable String password) {
    private static final int DEFAULT_PORT = 5432;
    private static final String DEFAULT_USER = "postgres";

    /**
     * Parses {@code url}.
     *
     * @throws IllegalArgumentException when the URL is malformed or not a PostgreSQL URL; the
     *     message leaves the URL out, since it may hold a password
     */
    static DatabaseUrl parse(String url) {
        URI uri = toUri(stripDriverPrefix(url.strip()));
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("postgresql") && !scheme.equals("postgres")) {
            throw new IllegalArgumentException("Not a PostgreSQL URL: expected postgresql://user:password@host:port/database");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new IllegalArgumentException("The database URL names no host");
        }
        @Nullable String user = null;
        @Nullable String password = null;
        if (uri.getRawUserInfo() != null) {
            String[] userInfo = uri.getRawUserInfo().split(":", 2);
            user = decode(userInfo[0]);
            password = userInfo.length > 1 ? decode(userInfo[1]) : null;
        }
        if (uri.getRawQuery() != null) {
            for (String parameter : uri.getRawQuery().split("&")) {
                String[] nameValue = parameter.split("=", 2);
                String value = nameValue.length > 1 ? decode(nameValue[1]) : "";
                switch (decode(nameValue[0])) {
                    case "user" -> user = value;
                    case "password" -> password = value;
                    default -> { } // other driver options do not matter here
                }
            }
        }
        user = user == null || user.isBlank() ? DEFAULT_USER : user;
        String path = uri.getRawPath() == null ? "" : uri.getRawPath().replaceFirst("^/", "");
        String database = path.isEmpty() ? user : decode(path);
        String host = uri.getHost().replaceAll("^\\[|]$", ""); // an IPv6 literal comes in brackets
        return new DatabaseUrl(host, uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort(), database, user,
                isBlank(password) ? null : password);
    }

    private static String stripDriverPrefix(String url) {
        String lower = url.toLowerCase(Locale.ROOT);
        for (String prefix : new String[] {"jdbc:", "r2dbc:"}) {
            if (lower.startsWith(prefix)) {
                return url.substring(prefix.length());
            }
        }
        return url;
    }

    private static URI toUri(String url) {
        try {
            return new URI(url);
        } catch (URISyntaxException e) {
            // e's message quotes the URL, password included: report the position only
            throw new IllegalArgumentException("Malformed database URL (at index " + e.getIndex() + ")");
        }
    }

    /** Percent-decoding; unlike form decoding, a '+' stays a '+'. */
    private static String decode(String text) {
        return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static boolean isBlank(@Nullable String text) {
        return text == null || text.isBlank();
    }

    /** The URL without the password, e.g. {@code postgresql://app@db.internal:5432/jobs}. */
    @Override
    public String toString() {
        String shownHost = host.contains(":") ? "[" + host + "]" : host;
        return "postgresql://" + user + "@" + shownHost + ":" + port + "/" + database
                + (password != null ? " (password given, not shown)" : "");
    }
}
