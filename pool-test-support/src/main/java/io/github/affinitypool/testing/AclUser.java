package io.github.affinitypool.testing;

import java.util.List;

/**
 * An ACL user a {@link RedisServer} creates at start-up: {@code user <name> on ><password> <rules...>}.
 *
 * @param name     user name (no spaces)
 * @param password its password (no spaces)
 * @param rules    ACL rules in Redis syntax, e.g. {@code "~*"}, {@code "+@all"}, {@code "-flushall"},
 *                 {@code "&*"}; with no rules the user may run nothing
 */
public record AclUser(String name, String password, List<String> rules) {

    /**
     * Validates and copies the rules.
     *
     * @param name     user name (no spaces; not {@code default})
     * @param password its password (no spaces)
     * @param rules    ACL rules in Redis syntax
     */
    public AclUser {
        requireToken(name, "ACL user name", name);
        // a rejected password is still a password: the message names the user, never the value
        requireToken(password, "the password of ACL user '" + name + "'", null);
        rules = List.copyOf(rules);
        rules.forEach(rule -> requireToken(rule, "ACL rule", isPasswordRule(rule) ? null : rule));
        if ("default".equals(name)) {
            throw new IllegalArgumentException("the default user is configured with password(..), not as an ACL user");
        }
    }

    /** @return the config line that creates this user */
    String configLine() {
        StringBuilder line = new StringBuilder("user ").append(ConfigFile.quote(name)).append(" on ")
                .append(ConfigFile.quote(">" + password));
        rules.forEach(rule -> line.append(' ').append(ConfigFile.quote(rule)));
        return line.toString();
    }

    /** Keeps the password out of test reports and logs. */
    @Override
    public String toString() {
        return "AclUser[name=" + name + ", rules=" + rules + "]";
    }

    /** @return whether an ACL rule adds or removes a password ({@code >password}, {@code <password}) */
    static boolean isPasswordRule(String rule) {
        return rule != null && (rule.startsWith(">") || rule.startsWith("<"));
    }

    /** @param shown the value as the message may show it; {@code null} for a password, which it must not */
    private static void requireToken(String value, String what, String shown) {
        if (value == null || value.isEmpty() || value.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException(what + " must be non-empty and without whitespace"
                    + (shown == null ? "" : ": '" + shown + "'"));
        }
    }
}
