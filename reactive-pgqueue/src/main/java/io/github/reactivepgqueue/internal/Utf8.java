package io.github.reactivepgqueue.internal;

/** UTF-8 facts about a string, found without encoding it. */
final class Utf8 {
    private Utf8() {
    }

    static long length(CharSequence s) {
        long bytes = 0;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /**
     * The index of the first unpaired UTF-16 surrogate, or -1 if there is none. UTF-8 cannot
     * encode one: the driver would send '?' instead, silently changing the text (two unique keys
     * that differ only there would become equal).
     */
    static int unpairedSurrogate(CharSequence s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }
}
