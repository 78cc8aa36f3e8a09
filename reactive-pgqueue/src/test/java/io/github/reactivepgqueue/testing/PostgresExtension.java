package io.github.reactivepgqueue.testing;

import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives a test class a PostgreSQL schema of its own ({@link TestSchema}, injectable into
 * constructors, lifecycle and test methods) on the JVM's {@link TestDatabase}, and drops it after
 * the class, so test classes never see each other's jobs.
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PostgresExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        schema(context);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        TestSchema schema = context.getStore(NAMESPACE).remove(TestSchema.class, TestSchema.class);
        if (schema != null) {
            schema.close();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == TestSchema.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return schema(context);
    }

    private static TestSchema schema(ExtensionContext context) {
        ExtensionContext classContext = context;
        while (classContext.getTestMethod().isPresent() && classContext.getParent().isPresent()) {
            classContext = classContext.getParent().get();
        }
        String className = classContext.getRequiredTestClass().getSimpleName();
        return classContext.getStore(NAMESPACE).getOrComputeIfAbsent(TestSchema.class,
                key -> new TestSchema(TestDatabase.get(), schemaNameFor(className)), TestSchema.class);
    }

    /** {@code t_<class name in snake case>_<random>}, at most 63 bytes. */
    static String schemaNameFor(String className) {
        String snake = className.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT)
                .replaceAll("[^a-z0-9_]", "_");
        String suffix = "_" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xFFFFFF));
        int room = 63 - 2 - suffix.length();
        return "t_" + (snake.length() > room ? snake.substring(0, room) : snake) + suffix;
    }
}
