package io.github.reactivepgqueue.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP proxy between a test and its PostgreSQL server that can break the network on demand:
 * freeze it ({@link Mode#BLACKHOLE}, {@link Mode#PAUSE}), reset every connection
 * ({@link #resetAll()}) or slow it down ({@link #latency(Duration)}).
 *
 * <p>It listens on 127.0.0.1 on a free port and opens one connection to the target per accepted
 * connection. It runs on plain daemon threads named {@code tcp-proxy-<port>-*} with blocking I/O,
 * never on Reactor or Netty threads; call its methods from the test thread.
 *
 * <p>Modes apply at once to existing and new connections:
 * <ul>
 *   <li>{@link Mode#FORWARD}: bytes pass both ways; a close or reset on one side is passed on to
 *       the other.</li>
 *   <li>{@link Mode#BLACKHOLE}: a silent network partition. Connections are still accepted, both
 *       sockets of every connection stay open, and every byte either side sends is dropped; a close
 *       on one side is not passed on either. A connection that lost bytes (or a close) this way can
 *       never be repaired, so it stays black-holed after {@link Mode#FORWARD} comes back, like a TCP
 *       connection that died in a partition: the client's queries hang until it gives up, and the
 *       server's backend stays until {@link #resetAll()} or {@link #close()}. Connections that sent
 *       nothing meanwhile forward again. TCP keepalive cannot notice the partition, because the
 *       proxy's own kernel answers the probes.</li>
 *   <li>{@link Mode#PAUSE}: the network stops but loses nothing. New connections wait in the listen
 *       queue (the client's connect succeeds, nothing more happens), and no byte moves; bytes sent
 *       meanwhile stay buffered and are delivered in order when {@link Mode#FORWARD} comes back, and
 *       waiting connections are then accepted.</li>
 * </ul>
 */
public final class TcpProxy implements AutoCloseable {
    /** What the proxy does with bytes; see the class comment. */
    public enum Mode { FORWARD, BLACKHOLE, PAUSE }

    private static final int CHUNK = 16 * 1024;
    private static final int CONNECT_TIMEOUT_MILLIS = 10_000;

    private final String targetHost;
    private final int targetPort;
    private final DatabaseCoordinates target;
    private final ServerSocket server;
    private final Thread acceptor;
    private final Object modeLock = new Object();
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicInteger ids = new AtomicInteger();
    private volatile Mode mode = Mode.FORWARD;
    private volatile long latencyNanos;
    private volatile boolean closed;

    private TcpProxy(String targetHost, int targetPort, DatabaseCoordinates target) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.target = target;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "tcp-proxy-" + port() + "-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Starts a proxy on 127.0.0.1 (on a free port) to {@code targetHost:targetPort}. */
    public static TcpProxy start(String targetHost, int targetPort) {
        try {
            return new TcpProxy(targetHost, targetPort, null);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot listen on a free port", e);
        }
    }

    /** Starts a proxy to a test database server; {@link #coordinates()} then reaches it through the proxy. */
    public static TcpProxy start(DatabaseCoordinates target) {
        try {
            return new TcpProxy(target.host(), target.port(), target);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot listen on a free port", e);
        }
    }

    /** The port the proxy listens on (on 127.0.0.1). */
    public int port() {
        return server.getLocalPort();
    }

    /**
     * The target database reached through this proxy, for {@link DatabaseCoordinates#connectionFactory(String)}.
     *
     * @throws IllegalStateException if the proxy was started with a host and port only
     */
    public DatabaseCoordinates coordinates() {
        if (target == null) {
            throw new IllegalStateException("Started with host and port; use DatabaseCoordinates.withHostPort");
        }
        return target.withHostPort(InetAddress.getLoopbackAddress().getHostAddress(), port());
    }

    /** The current mode. */
    public Mode mode() {
        return mode;
    }

    /** Switches every existing and new connection to {@code mode}; returns this proxy. */
    public TcpProxy mode(Mode mode) {
        synchronized (modeLock) {
            this.mode = mode;
            modeLock.notifyAll();
        }
        return this;
    }

    /** Bytes pass normally again (see {@link Mode#FORWARD}). */
    public TcpProxy forward() {
        return mode(Mode.FORWARD);
    }

    /** A silent partition that drops every byte (see {@link Mode#BLACKHOLE}). */
    public TcpProxy blackhole() {
        return mode(Mode.BLACKHOLE);
    }

    /** A stop that loses nothing (see {@link Mode#PAUSE}). */
    public TcpProxy pause() {
        return mode(Mode.PAUSE);
    }

    /**
     * Holds every chunk of bytes read from either side for at least {@code latency} before writing
     * it on; {@link Duration#ZERO} switches the delay off. Chunks of one direction stay in order, so
     * a burst of chunks queues behind each other.
     */
    public TcpProxy latency(Duration latency) {
        this.latencyNanos = latency.toNanos();
        return this;
    }

    /**
     * Closes every current connection abruptly on both sides (SO_LINGER 0, so each peer gets a TCP
     * RST), whatever the mode; the proxy goes on accepting new connections.
     *
     * @return how many connections were reset
     */
    public int resetAll() {
        int reset = 0;
        for (Link link : List.copyOf(links)) {
            if (link.closeBoth(true)) {
                reset++;
            }
        }
        wakeWaiters();
        return reset;
    }

    /** Connections the proxy holds at least one socket of now. */
    public int connectionCount() {
        return links.size();
    }

    /** Connections accepted since the start. */
    public long acceptedCount() {
        return accepted.get();
    }

    /** Stops listening and resets every connection. */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        resetAll();
        try {
            acceptor.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "TcpProxy[127.0.0.1:" + (server.isClosed() ? "closed" : port()) + " -> " + targetHost + ":"
                + targetPort + ", " + mode + "]";
    }

    private void acceptLoop() {
        while (!closed) {
            awaitNotPaused(null);
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            accepted.incrementAndGet();
            Link link = new Link(ids.incrementAndGet(), client);
            links.add(link);
            if (closed) {
                link.closeBoth(true);
                return;
            }
            Thread up = new Thread(link::connectAndPumpUp, "tcp-proxy-" + port() + "-" + link.id + "-up");
            up.setDaemon(true);
            up.start();
        }
    }

    /** Waits while the mode is PAUSE; false when the proxy or the link closed meanwhile. */
    private boolean awaitNotPaused(Link link) {
        synchronized (modeLock) {
            while (mode == Mode.PAUSE && !closed && (link == null || !link.isClosed())) {
                try {
                    modeLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return !closed && (link == null || !link.isClosed());
        }
    }

    private void wakeWaiters() {
        synchronized (modeLock) {
            modeLock.notifyAll();
        }
    }

    /** One proxied connection: the accepted client socket and the socket to the target. */
    private final class Link {
        final int id;
        final Socket client;
        // changed under this link's monitor; read without it (awaitNotPaused holds modeLock)
        Socket upstream;
        volatile boolean clientOpen = true;
        volatile boolean upstreamOpen = true;
        volatile boolean poisoned; // lost bytes in BLACKHOLE: never forwards again

        Link(int id, Socket client) {
            this.id = id;
            this.client = client;
        }

        void connectAndPumpUp() {
            if (!awaitNotPaused(this)) {
                return;
            }
            Socket socket = new Socket();
            try {
                socket.setTcpNoDelay(true);
                client.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(targetHost, targetPort), CONNECT_TIMEOUT_MILLIS);
            } catch (IOException e) {
                // the target refused or is gone: the client sees a reset
                closeQuietly(socket, true);
                closeBoth(true);
                return;
            }
            if (!attachUpstream(socket)) {
                return;
            }
            Thread down = new Thread(() -> pump(socket, client, false), "tcp-proxy-" + port() + "-" + id + "-down");
            down.setDaemon(true);
            down.start();
            pump(client, socket, true);
        }

        private synchronized boolean attachUpstream(Socket socket) {
            if (!clientOpen) {
                closeQuietly(socket, true);
                upstreamOpen = false;
                links.remove(this);
                return false;
            }
            upstream = socket;
            return true;
        }

        /** Copies bytes from {@code from} to {@code to} until one side ends or the link closes. */
        private void pump(Socket from, Socket to, boolean fromClient) {
            byte[] buffer = new byte[CHUNK];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                while (true) {
                    if (!awaitNotPaused(this)) {
                        return;
                    }
                    int n;
                    boolean reset = false;
                    try {
                        n = in.read(buffer);
                    } catch (IOException e) {
                        n = -1;
                        reset = true;
                    }
                    long readAt = System.nanoTime();
                    // a chunk read just before a PAUSE is held, not lost
                    if (!awaitNotPaused(this)) {
                        return;
                    }
                    if (mode == Mode.BLACKHOLE || poisoned) {
                        poisoned = true;
                        if (n < 0) {
                            closeSide(fromClient); // the other side never learns
                            return;
                        }
                        continue;
                    }
                    if (n < 0) {
                        closeBoth(reset); // pass a close on as a close, a reset as a reset
                        return;
                    }
                    delayUntil(readAt + latencyNanos);
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // writing failed: the receiving side is gone, or the link was reset
                closeBoth(true);
            }
        }

        boolean isClosed() {
            return !clientOpen && !upstreamOpen;
        }

        /** Closes both sockets; {@code abrupt} sends a RST. False when already closed. */
        boolean closeBoth(boolean abrupt) {
            synchronized (this) {
                if (isClosed()) {
                    return false;
                }
                if (clientOpen) {
                    closeQuietly(client, abrupt);
                    clientOpen = false;
                }
                if (upstreamOpen) {
                    closeQuietly(upstream, abrupt); // null while still connecting
                    upstreamOpen = false;
                }
                links.remove(this);
            }
            wakeWaiters(); // outside the link's monitor: awaitNotPaused takes modeLock first
            return true;
        }

        private synchronized void closeSide(boolean clientSide) {
            if (clientSide && clientOpen) {
                closeQuietly(client, false);
                clientOpen = false;
            } else if (!clientSide && upstreamOpen) {
                closeQuietly(upstream, false);
                upstreamOpen = false;
            }
            if (isClosed()) {
                links.remove(this);
            }
        }
    }

    private static void delayUntil(long deadline) {
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    private static void closeQuietly(Socket socket, boolean abrupt) {
        if (socket == null || socket.isClosed()) {
            return;
        }
        try {
            if (abrupt) {
                socket.setSoLinger(true, 0);
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // already gone
        }
    }
}
