package io.github.reactivepgqueue.examples.webflux;

import java.util.regex.Pattern;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The {@code shop.*} properties.
 *
 * @param schema the schema of the shop's own tables ({@code shop.schema}): a lower-case SQL
 *               identifier of at most 63 characters, quoted wherever it is used
 */
@ConfigurationProperties("shop")
public record ShopProperties(@DefaultValue("shop") String schema) {
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    /** Checks the schema name. */
    public ShopProperties {
        if (schema == null || !IDENTIFIER.matcher(schema).matches() || schema.startsWith("pg_")) {
            throw new IllegalArgumentException("shop.schema must match [a-z_][a-z0-9_]* (at most 63 characters, "
                    + "not pg_*) but was '" + schema + "'");
        }
    }
}
