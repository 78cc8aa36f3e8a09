package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonTextTest {

    @Test
    void findsOnlyRealNulEscapes() {
        assertThat(JsonText.containsNulEscape("\"a\\u0000b\"")).isTrue();
        assertThat(JsonText.containsNulEscape("\"\\\\\\u0000\"")).isTrue(); // escaped backslash, then NUL
        assertThat(JsonText.containsNulEscape("\"\\\\u0000\"")).isFalse(); // a backslash, then text u0000
        assertThat(JsonText.containsNulEscape("\"u0000\"")).isFalse();
        assertThat(JsonText.containsNulEscape("{}")).isFalse();
    }

    @Test
    void countsUtf8Bytes() {
        for (String s : new String[] {"", "abc", "é", "€", "队列", "😀", "a😀é€"}) {
            assertThat(Utf8.length(s)).as(s).isEqualTo(s.getBytes(StandardCharsets.UTF_8).length);
        }
    }
}
