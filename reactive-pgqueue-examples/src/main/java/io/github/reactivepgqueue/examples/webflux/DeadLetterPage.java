package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.JobLocation;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.QueueAdmin;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One page of the dead-letter table, in id order, from {@link QueueAdmin#list}: that lists by
 * status across all tables, so this asks once per dead status, keeps the jobs the janitor has
 * moved to the dead-letter table (those {@link QueueAdmin#requeue} takes), and cuts the page where
 * a status's answer was full, so the next page (after the last id) misses nothing.
 */
final class DeadLetterPage {
    private static final List<JobStatus> DEAD_STATUSES = Arrays.stream(JobStatus.values()).filter(JobStatus::isDead).toList();
    /** The order of PostgreSQL's {@code uuid} type (bytewise, unsigned), in which the admin API pages. */
    static final Comparator<UUID> DATABASE_ORDER = Comparator.comparing(UUID::getMostSignificantBits, Long::compareUnsigned)
            .thenComparing(UUID::getLeastSignificantBits, Long::compareUnsigned);

    private DeadLetterPage() {
    }

    /** Dead-lettered jobs of {@code queue} (null: all) after {@code after} (null: from the first), at most {@code limit}. */
    static Mono<List<JobInfo>> load(QueueAdmin admin, String queue, UUID after, int limit) {
        return Flux.fromIterable(DEAD_STATUSES)
                .concatMap(status -> admin.list(queue, status, after, limit).collectList())
                .collectList()
                .map(answers -> page(answers, limit));
    }

    /** The page from the answers for each status, each in id order and at most {@code limit} long. */
    static List<JobInfo> page(List<List<JobInfo>> answers, int limit) {
        Optional<UUID> complete = answers.stream()
                .filter(answer -> answer.size() >= limit)
                .map(answer -> answer.get(answer.size() - 1).id())
                .min(DATABASE_ORDER);
        return answers.stream()
                .flatMap(List::stream)
                .filter(job -> job.location() == JobLocation.DEAD)
                .filter(job -> complete.isEmpty() || DATABASE_ORDER.compare(job.id(), complete.get()) <= 0)
                .sorted(Comparator.comparing(JobInfo::id, DATABASE_ORDER))
                .limit(limit)
                .toList();
    }
}
