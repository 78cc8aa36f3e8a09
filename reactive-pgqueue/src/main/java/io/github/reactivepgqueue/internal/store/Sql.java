package io.github.reactivepgqueue.internal.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The library's SQL statements, read once from the packaged {@code .sql} resources with the
 * schema filled in. This is the only place where SQL text is put together: the schema marker
 * {@code /*schema*}{@code /} is replaced by the validated, quoted schema name, and a fragment
 * marker {@code /*fragment Name*}{@code /} by the text under {@code -- fragment: Name} in the same
 * file (a part several statements share, written once); every value is a bind parameter. Loading
 * fails fast if a statement is missing, duplicated or unknown, or uses a fragment its file lacks.
 */
public final class Sql {
    static final String SCHEMA_MARKER = "/*schema*/";
    private static final String RESOURCE_FOLDER = "/io/github/reactivepgqueue/sql/";
    private static final Pattern HEADER = Pattern.compile("^-- (name|fragment): *(\\w+) *$", Pattern.MULTILINE);
    private static final Pattern FRAGMENT_MARKER = Pattern.compile("/\\*fragment (\\w+)\\*/");

    private final SchemaName schema;
    private final Map<SqlName, String> statements;

    private Sql(SchemaName schema, Map<SqlName, String> statements) {
        this.schema = schema;
        this.statements = statements;
    }

    /** Loads every statement for {@code schema}. Reads class-path resources: call at start-up. */
    public static Sql load(SchemaName schema) {
        Set<String> files = new LinkedHashSet<>();
        for (SqlName name : SqlName.values()) {
            files.add(name.file());
        }
        Map<SqlName, String> statements = new EnumMap<>(SqlName.class);
        for (String file : files) {
            parse(file, read(RESOURCE_FOLDER + file), schema, statements);
        }
        for (SqlName name : SqlName.values()) {
            if (!statements.containsKey(name)) {
                throw new IllegalStateException("SQL statement " + name + " is missing from " + name.file());
            }
        }
        return new Sql(schema, statements);
    }

    static void parse(String file, String text, SchemaName schema, Map<SqlName, String> into) {
        Map<String, String> fragments = new HashMap<>();
        Set<SqlName> parsed = new LinkedHashSet<>();
        Matcher matcher = HEADER.matcher(text);
        String kind = "name";
        String name = null;
        int bodyStart = 0;
        while (true) {
            boolean found = matcher.find();
            if (name != null) {
                String body = text.substring(bodyStart, found ? matcher.start() : text.length());
                if (kind.equals("fragment")) {
                    fragment(file, name, body, schema, fragments);
                } else {
                    parsed.add(put(file, name, body, schema, into));
                }
            }
            if (!found) {
                break;
            }
            kind = matcher.group(1);
            name = matcher.group(2);
            bodyStart = matcher.end();
        }
        for (SqlName statement : parsed) {
            into.put(statement, withFragments(file, statement, Objects.requireNonNull(into.get(statement)), fragments));
        }
    }

    private static void fragment(String file, String name, String body, SchemaName schema,
                                 Map<String, String> into) {
        String sql = withoutTrailingComments(body);
        boolean semicolon = sql.lines().anyMatch(line -> !line.strip().startsWith("--") && line.contains(";"));
        if (sql.isEmpty() || semicolon) {
            throw new IllegalStateException("SQL fragment " + name + " in " + file + " is empty or holds a ';'");
        }
        if (into.put(name, sql.replace(SCHEMA_MARKER, schema.quoted())) != null) {
            throw new IllegalStateException("SQL fragment " + name + " is defined twice in " + file);
        }
    }

    private static String withFragments(String file, SqlName statement, String sql, Map<String, String> fragments) {
        Matcher marker = FRAGMENT_MARKER.matcher(sql);
        StringBuilder expanded = new StringBuilder();
        while (marker.find()) {
            String fragment = fragments.get(marker.group(1));
            if (fragment == null) {
                throw new IllegalStateException("SQL statement " + statement + " uses fragment " + marker.group(1)
                        + ", which " + file + " does not define");
            }
            marker.appendReplacement(expanded, Matcher.quoteReplacement(fragment));
        }
        marker.appendTail(expanded);
        return expanded.toString();
    }

    private static SqlName put(String file, String name, String body, SchemaName schema, Map<SqlName, String> into) {
        SqlName key;
        try {
            key = SqlName.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("Unknown SQL statement name '" + name + "' in " + file, e);
        }
        if (!key.file().equals(file)) {
            throw new IllegalStateException("SQL statement " + name + " belongs in " + key.file() + ", found in " + file);
        }
        String sql = withoutTrailingComments(body);
        if (sql.endsWith(";")) {
            sql = sql.substring(0, sql.length() - 1).strip();
        }
        if (sql.contains(";\n")) {
            throw new IllegalStateException("SQL statement " + name + " in " + file + " holds more than one statement "
                    + "(a comment meant for the next statement belongs below its '-- name:' header)");
        }
        if (sql.isEmpty()) {
            throw new IllegalStateException("SQL statement " + name + " in " + file + " is empty");
        }
        if (into.put(key, sql.replace(SCHEMA_MARKER, schema.quoted())) != null) {
            throw new IllegalStateException("SQL statement " + name + " is defined twice");
        }
        return key;
    }

    /** The body without the comment-only lines at its end (they describe what follows). */
    private static String withoutTrailingComments(String body) {
        String[] lines = body.strip().split("\n", -1);
        int end = lines.length;
        while (end > 0 && (lines[end - 1].isBlank() || lines[end - 1].strip().startsWith("--"))) {
            end--;
        }
        return String.join("\n", java.util.Arrays.copyOf(lines, end)).strip();
    }

    static String read(String resource) {
        try (InputStream in = Sql.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("Missing class-path resource " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read class-path resource " + resource, e);
        }
    }

    /** The statement's SQL text. */
    public String get(SqlName name) {
        return Objects.requireNonNull(statements.get(name), "statement"); // load() checked that every name is there
    }

    /** The schema the statements address. */
    public SchemaName schema() {
        return schema;
    }
}
