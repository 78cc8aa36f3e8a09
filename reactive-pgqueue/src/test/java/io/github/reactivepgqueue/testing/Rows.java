package io.github.reactivepgqueue.testing;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;

import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Flux;

/** Blocking queries for arranging and asserting on the test thread (never on a reactive one). */
public final class Rows {
    private Rows() {
    }

    /** Runs {@code sql} with {@code $1, $2 ...} bound to {@code params}; every row as a column-to-value map. */
    public static List<Map<String, Object>> query(ConnectionFactory factory, String sql, Object... params) {
        return Flux.usingWhen(factory.create(),
                        conn -> Flux.from(bind(conn.createStatement(sql), params).execute())
                                .flatMap(result -> result.map((row, meta) -> {
                                    Map<String, Object> values = new LinkedHashMap<>();
                                    meta.getColumnMetadatas().forEach(c -> values.put(c.getName(), row.get(c.getName())));
                                    return values;
                                })),
                        conn -> conn.close())
                .collectList().block(TIMEOUT);
    }

    static Statement bind(Statement statement, Object... params) {
        for (int i = 0; i < params.length; i++) {
            statement.bind("$" + (i + 1), params[i]);
        }
        return statement;
    }
}
