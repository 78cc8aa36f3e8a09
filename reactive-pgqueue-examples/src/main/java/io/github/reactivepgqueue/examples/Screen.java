package io.github.reactivepgqueue.examples;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Where the demo prints. A terminal gets the progress table redrawn in place with ANSI escapes;
 * anything else (a pipe, a file, a test) gets each table as plain lines. Writing to a stream may
 * block, so every print runs on a thread where blocking is allowed, never on an event loop; the
 * returned {@code Mono}s complete once the text is out, so prints chained with {@code then} keep
 * their order.
 */
final class Screen {
    private static final String CURSOR_UP_LINES = "\u001b[%dF";
    private static final String CLEAR_TO_END_OF_LINE = "\u001b[K";

    private final PrintStream out;
    private final boolean redraw;
    private final Scheduler printer = Schedulers.boundedElastic();
    /** Lines of the table on screen that the next table overwrites; 0 when none. */
    private final AtomicInteger tableLines = new AtomicInteger();

    private Screen(PrintStream out, boolean redraw) {
        this.out = out;
        this.redraw = redraw;
    }

    /** Standard output; redrawn in place when it is a terminal ({@code System.console() != null}). */
    static Screen standardOutput() {
        return new Screen(System.out, System.console() != null);
    }

    /** One line, {@link String#format} style. */
    Mono<Void> say(String format, Object... args) {
        String line = String.format(Locale.ROOT, format, args);
        return print(() -> {
            tableLines.set(0);
            out.println(line);
        });
    }

    /** Lines as they are. */
    Mono<Void> lines(List<String> lines) {
        return print(() -> {
            tableLines.set(0);
            lines.forEach(out::println);
        });
    }

    /** A table that replaces the previous one on a terminal, or follows it elsewhere. */
    Mono<Void> table(List<String> lines) {
        return print(() -> {
            int previous = tableLines.getAndSet(lines.size());
            if (!redraw) {
                lines.forEach(out::println);
                return;
            }
            StringBuilder text = new StringBuilder();
            if (previous > 0) {
                text.append(String.format(Locale.ROOT, CURSOR_UP_LINES, previous));
            }
            lines.forEach(line -> text.append(line).append(CLEAR_TO_END_OF_LINE).append(System.lineSeparator()));
            out.print(text);
            out.flush();
        });
    }

    private Mono<Void> print(Runnable print) {
        return Mono.fromRunnable(print).subscribeOn(printer).then();
    }
}
