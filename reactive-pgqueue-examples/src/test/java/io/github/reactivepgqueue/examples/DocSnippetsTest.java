package io.github.reactivepgqueue.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java snippets of the README, docs/getting-started.md and docs/recurring-jobs.md compile as
 * written, and the example commands of the docs do not hide the library's logs with {@code -q}.
 *
 * <p>Each page's snippets are the parts of one class (the pages say so): their imports are
 * gathered at the top, everything else becomes the class's body, and the class is compiled
 * against this module's test class path, which holds the library and its dependencies. The
 * snippets are read from the Markdown files themselves, so they cannot drift from this test.
 */
class DocSnippetsTest {
    private static final Path ROOT = Path.of("..");
    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

    @Test
    void readmeSnippetsCompile(@TempDir Path out) throws IOException {
        assertCompiles("Readme", ROOT.resolve("README.md"), out);
    }

    @Test
    void gettingStartedSnippetsCompile(@TempDir Path out) throws IOException {
        assertCompiles("GettingStarted", ROOT.resolve("docs/getting-started.md"), out);
    }

    @Test
    void recurringJobsSnippetsCompile(@TempDir Path out) throws IOException {
        assertCompiles("RecurringJobs", ROOT.resolve("docs/recurring-jobs.md"), out);
    }

    @Test
    void exampleCommandsShowTheLibrarysLogs() throws IOException {
        List<Path> pages = new ArrayList<>(List.of(ROOT.resolve("README.md")));
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            // performance.md and its history record the benchmark commands as they were run, and -q
            // keeps their JSON lines clean
            docs.filter(p -> p.toString().endsWith(".md") && !p.endsWith("performance.md")
                    && !p.endsWith("performance-history.md")).forEach(pages::add);
        }
        List<String> quiet = new ArrayList<>();
        for (Path page : pages) {
            for (String line : Files.readAllLines(page, StandardCharsets.UTF_8)) {
                if (line.contains("reactive-pgqueue-examples") && line.matches(".*\\bmvn\\b.*\\s-q\\b.*")) {
                    quiet.add(page + ": " + line.strip());
                }
            }
        }
        assertThat(quiet).as("example commands run with -q, which hides the library's logs").isEmpty();
    }

    private static void assertCompiles(String className, Path page, Path out) throws IOException {
        String markdown = Files.readString(page, StandardCharsets.UTF_8);
        Set<String> imports = new LinkedHashSet<>();
        StringBuilder body = new StringBuilder();
        Matcher block = JAVA_BLOCK.matcher(markdown);
        int blocks = 0;
        while (block.find()) {
            blocks++;
            for (String line : block.group(1).split("\n", -1)) {
                if (line.startsWith("import ")) {
                    imports.add(line);
                } else {
                    body.append("    ").append(line).append('\n');
                }
            }
        }
        assertThat(blocks).as("Java snippets in %s", page).isPositive();
        String source = String.join("\n", imports) + "\n\nclass " + className + " {\n" + body + "}\n";

        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        StringWriter output = new StringWriter();
        try (StandardJavaFileManager files = compiler.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            JavaFileObject unit = new SimpleJavaFileObject(URI.create("string:///" + className + ".java"),
                    JavaFileObject.Kind.SOURCE) {
                @Override
                public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                    return source;
                }
            };
            String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            boolean compiled = compiler.getTask(output, files, diagnostics,
                    List.of("-classpath", classPath, "-d", out.toString(), "-proc:none", "-Xlint:none"),
                    null, List.of(unit)).call();
            assertThat(compiled)
                    .as("the Java snippets of %s, put together as class %s, compile:%n%s%n%s%nsource:%n%s", page,
                            className, diagnostics.getDiagnostics(), output, numbered(source))
                    .isTrue();
        }
    }

    private static String numbered(String source) {
        StringBuilder numbered = new StringBuilder();
        String[] lines = source.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            numbered.append(String.format("%4d  %s%n", i + 1, lines[i]));
        }
        return numbered.toString();
    }
}
