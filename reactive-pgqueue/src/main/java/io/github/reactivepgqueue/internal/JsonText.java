package io.github.reactivepgqueue.internal;

/** Checks on serialized JSON text. */
final class JsonText {
    private JsonText() {
    }

    /**
     * Whether the JSON text holds the escape {@code \u0000} (a NUL character in a string), which
     * jsonb rejects. An escaped backslash followed by {@code u0000} is plain text and does not count.
     */
    static boolean containsNulEscape(String json) {
        int from = 0;
        while (true) {
            int at = json.indexOf("u0000", from);
            if (at < 0) {
                return false;
            }
            int backslashes = 0;
            for (int i = at - 1; i >= 0 && json.charAt(i) == '\\'; i--) {
                backslashes++;
            }
            if (backslashes % 2 == 1) {
                return true;
            }
            from = at + 1;
        }
    }
}
