package io.github.affinitypool.autoconfigure;

import java.net.URI;

import io.github.affinitypool.redis.RedisUris;

/**
 * Masks the credentials of a Redis URL so that it can appear in logs, failure reports and actuator output.
 * <p>
 * Public only for the starter's actuator support, which masks Redis URLs in {@code /actuator/env} and
 * {@code /actuator/configprops}; the rest stays internal.
 */
public final class RedisUrls {

    static final String MASK = "******";

    private RedisUrls() {
    }

    /**
     * The user info is the one {@link RedisUris#userInfo} finds (up to the last {@code @}), so that what the starter
     * masks and what the pool masks and checks cannot drift apart: a mask that stopped at a {@code /}, {@code ?} or
     * {@code #} would show the rest of a password holding one.
     *
     * @param url a Redis URL, possibly malformed
     * @return the URL with any password (and the whole user-info when it cannot be parsed) replaced by a mask
     */
    public static String mask(String url) {
        String userInfo = (url != null) ? RedisUris.userInfo(url) : null;
        if (userInfo == null) {
            return url;
        }
        int at = url.lastIndexOf('@');
        int start = at - userInfo.length();
        if (start == 0) {
            // No scheme ("user:secret@host", "redis:/:secret@host"): where the password starts cannot be told.
            return MASK + url.substring(at);
        }
        int colon = userInfo.indexOf(':');
        String maskedUserInfo = (colon >= 0) ? userInfo.substring(0, colon) + ":" + MASK : MASK;
        return url.substring(0, start) + maskedUserInfo + url.substring(at);
    }

    /**
     * @param url a Redis URL
     * @return whether it parses as a URI with a redis or rediss scheme and a host (the pool's connections are TCP
     *         channels on the event loops, so a redis-socket:// URL is not one)
     */
    static boolean isWellFormed(String url) {
        try {
            URI uri = URI.create(url);
            String scheme = uri.getScheme();
            return ("redis".equals(scheme) || "rediss".equals(scheme)) && uri.getHost() != null;
        }
        catch (IllegalArgumentException ex) {
            return false;
        }
    }

    /**
     * Docker and Compose service names often hold one, but {@link URI}, with which Lettuce and Spring read a Redis URL,
     * takes no {@code _} in a host name: it finds no host, and Lettuce then reads {@code redis_cache:6379} whole as the
     * host name.
     *
     * @param url a Redis URL
     * @return whether its host name holds an {@code _}
     */
    static boolean hostHasUnderscore(String url) {
        try {
            String authority = URI.create(url).getRawAuthority();
            return authority != null && authority.substring(authority.lastIndexOf('@') + 1).indexOf('_') >= 0;
        }
        catch (IllegalArgumentException ex) {
            return false;
        }
    }

    /** @return whether the URL asks for TLS ({@code rediss://}), as Spring Data Redis reads it */
    static boolean usesTls(String url) {
        return url != null && url.regionMatches(true, 0, "rediss://", 0, "rediss://".length());
    }
}
