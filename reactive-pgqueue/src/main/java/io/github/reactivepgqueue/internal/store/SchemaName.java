package io.github.reactivepgqueue.internal.store;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * A validated PostgreSQL schema name. Identifiers cannot be bound as parameters, so the schema is
 * the one piece of configuration that reaches SQL text: it must match an allow-list (lower-case
 * ASCII letters, digits and underscores, not starting with a digit or {@code pg_}), fit in
 * PostgreSQL's 63-byte identifier limit, and is always used double-quoted.
 */
public final class SchemaName {
    /** PostgreSQL truncates identifiers longer than NAMEDATALEN - 1 bytes. */
    public static final int MAX_BYTES = 63;

    private static final Pattern ALLOWED = Pattern.compile("[a-z_][a-z0-9_]*");

    private final String name;

    private SchemaName(String name) {
        this.name = name;
    }

    /**
     * Validates {@code name}.
     *
     * @throws IllegalArgumentException naming the rule the name breaks
     */
    public static SchemaName of(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("Schema name must not be empty");
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_BYTES) {
            throw new IllegalArgumentException("Schema name is " + bytes + " bytes long; PostgreSQL allows at most "
                    + MAX_BYTES);
        }
        if (!ALLOWED.matcher(name).matches()) {
            throw new IllegalArgumentException("Schema name '" + printable(name) + "' is not allowed: use lower-case "
                    + "ASCII letters, digits and underscores, not starting with a digit");
        }
        if (name.startsWith("pg_")) {
            throw new IllegalArgumentException("Schema name '" + name + "' is not allowed: names starting with pg_ "
                    + "are reserved by PostgreSQL");
        }
        return new SchemaName(name);
    }

    /** The name as given. */
    public String name() {
        return name;
    }

    /** The name double-quoted, ready for SQL text. */
    public String quoted() {
        // The allow-list admits no double quote, so quoting cannot be escaped out of.
        return '"' + name + '"';
    }

    private static String printable(String name) {
        StringBuilder out = new StringBuilder();
        name.codePoints().limit(80).forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f) {
                out.append(String.format("\\u%04x", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SchemaName other && other.name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name;
    }
}
