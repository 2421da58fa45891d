package io.github.affinitypool.testing;

import java.util.ArrayList;
import java.util.List;

/**
 * Writes the redis.conf a server starts from. A file rather than {@code --option value} arguments because an
 * empty value ({@code save ""}) and quoting survive it on every Redis version, while older binaries (such as the
 * 6.2 one inside embedded-redis) join command-line arguments without quoting them.
 */
final class ConfigFile {

    private ConfigFile() {
    }

    /**
     * @param bind      address(es) to listen on
     * @param port      TCP port
     * @param dir       working directory of the server, as the server sees it
     * @param container whether the server runs in a container (reached through a port mapping, so protected
     *                  mode must be off)
     * @param major     the server's major version: directives newer than the server would stop it
     */
    static String render(ServerSettings settings, String bind, int port, String dir, boolean container, int major) {
        List<String> lines = new ArrayList<>();
        lines.add("# written by pool-test-support for one test server; deleted when the server is closed");
        lines.add("bind " + bind);
        lines.add("port " + port);
        lines.add("protected-mode " + (container ? "no" : "yes"));
        lines.add("daemonize no");
        // no persistence at all: a restart starts empty and nothing is written to the temp dir but the log
        lines.add("save \"\"");
        lines.add("appendonly no");
        lines.add("dir " + quote(dir));
        // log to stdout, which the process backend captures into the temp dir and the container keeps
        lines.add("logfile \"\"");
        lines.add("loglevel notice");
        lines.add("databases " + settings.databases());
        if (major >= 7) {
            // Redis 7 refuses DEBUG by default; fault tests use DEBUG SLEEP. A container is reached from the
            // docker network, not from loopback, so "local" would not do there.
            lines.add("enable-debug-command " + (container ? "yes" : "local"));
        }
        settings.passwordIfSet().ifPresent(password -> lines.add("requirepass " + quote(password)));
        settings.aclUsers().forEach(user -> lines.add(user.configLine()));
        return String.join("\n", lines) + "\n";
    }

    /** Quotes a value the way Redis' config parser (sdssplitargs) reads it back. */
    static String quote(String value) {
        return '"' + escape(value) + '"';
    }

    /** The inside of {@link #quote}: how a value appears in redis.conf, and in Redis' echo of a bad line. */
    static String escape(String value) {
        StringBuilder escaped = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            if (c == '"' || c == '\\') {
                escaped.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                escaped.append(String.format("\\x%02x", (int) c));
            } else {
                escaped.append(c);
            }
        }
        return escaped.toString();
    }
}
