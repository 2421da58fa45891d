package io.github.affinitypool.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** What a {@link RedisServer.Builder} collected; immutable. */
record ServerSettings(String password, List<AclUser> aclUsers, int databases, List<String> args, Path binary,
                      Duration startupTimeout, RedisServer.Backend backend, String containerImage,
                      SelfSignedCertificate tls, boolean detached) {

    /** What a configured password is replaced with in server output that leaves the harness. */
    static final String MASK = "******";

    ServerSettings {
        aclUsers = List.copyOf(aclUsers);
        args = List.copyOf(args);
    }

    Optional<String> passwordIfSet() {
        return Optional.ofNullable(password);
    }

    /** Authenticates a fresh connection as the {@code default} user, if the server wants a password. */
    RawRedisConnection authenticate(RawRedisConnection connection) {
        try {
            if (password != null) {
                connection.auth(password);
            }
            return connection;
        } catch (RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /**
     * Masks every configured password (the {@code default} user's, the ACL users', and passwords added by
     * {@code >password} rules) in text that came from the server, before it goes into an exception or a report:
     * Redis echoes a config line it cannot parse, both as written in redis.conf (quoted) and unquoted.
     *
     * @param text e.g. the server's log
     * @return the text with each password replaced by {@value #MASK}
     */
    String mask(String text) {
        List<String> forms = new ArrayList<>();
        passwordIfSet().ifPresent(forms::add);
        for (AclUser user : aclUsers) {
            forms.add(user.password());
            user.rules().stream().filter(AclUser::isPasswordRule).map(rule -> rule.substring(1)).forEach(forms::add);
        }
        new ArrayList<>(forms).forEach(secret -> forms.add(ConfigFile.escape(secret)));
        // one pass, longest first: a password that contains another is masked whole, and a mask is never re-masked
        String alternatives = forms.stream().filter(form -> !form.isEmpty()).distinct()
                .sorted(Comparator.comparingInt(String::length).reversed())
                .map(Pattern::quote).collect(Collectors.joining("|"));
        return alternatives.isEmpty() ? text
                : Pattern.compile(alternatives).matcher(text).replaceAll(Matcher.quoteReplacement(MASK));
    }
}
