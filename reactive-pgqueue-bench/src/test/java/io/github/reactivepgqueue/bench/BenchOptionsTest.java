package io.github.reactivepgqueue.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BenchOptionsTest {

    @Test
    void defaultsRunEveryWorkloadOnceWithTheEnvironmentsDatabase() {
        BenchOptions options = BenchOptions.parse();

        assertThat(options.url()).isNull();
        assertThat(options.workloads()).containsExactly("floor", "drain", "backlog", "latency", "schedule", "steady",
                "inflight");
        assertThat(options.n()).isEqualTo(100_000);
        assertThat(options.runs()).isEqualTo(1);
        assertThat(options.big()).isFalse();
        assertThat(options.smoke()).isFalse();
        assertThat(options.schema("drain")).isEqualTo("bench_drain");
        assertThat(options.out()).isNull();
    }

    @Test
    void workloadsRunInRoundOrderWhateverTheOrderGiven() {
        BenchOptions options = BenchOptions.parse("postgresql://u@h/db", "--workloads", "drain, floor", "--runs", "3",
                "--n", "50_000", "--big", "--out", "x.jsonl");

        assertThat(options.url()).isEqualTo("postgresql://u@h/db");
        assertThat(options.workloads()).containsExactly("floor", "drain");
        assertThat(options.runs()).isEqualTo(3);
        assertThat(options.n()).isEqualTo(50_000);
        assertThat(options.big()).isTrue();
        assertThat(options.out()).isEqualTo("x.jsonl");
    }

    @Test
    void scaleRunsOnlyWhenNamedAndLastInTheRound() {
        assertThat(BenchOptions.parse("--workloads", "all").workloads()).doesNotContain("scale");
        assertThat(BenchOptions.parse("--workloads", "scale").workloads()).containsExactly("scale");
        assertThat(BenchOptions.parse("--workloads", "scale,inflight,floor").workloads())
                .containsExactly("floor", "inflight", "scale");
    }

    @Test
    void smokeShrinksTheDrain() {
        assertThat(BenchOptions.parse("--smoke").n()).isEqualTo(300);
    }

    @Test
    void badCommandLinesAreRefused() {
        assertThatThrownBy(() -> BenchOptions.parse("--workloads", "drian")).hasMessageContaining("Unknown workload");
        assertThatThrownBy(() -> BenchOptions.parse("--fast")).hasMessageContaining("Unknown option");
        assertThatThrownBy(() -> BenchOptions.parse("--runs", "0")).hasMessageContaining("positive");
        assertThatThrownBy(() -> BenchOptions.parse("--n")).hasMessageContaining("needs a value");
        assertThatThrownBy(() -> BenchOptions.parse("a", "b")).hasMessageContaining("one database URL");
        assertThatThrownBy(() -> BenchOptions.parse("--schema-prefix", "Bench")).hasMessageContaining("lower-case");
    }
}
