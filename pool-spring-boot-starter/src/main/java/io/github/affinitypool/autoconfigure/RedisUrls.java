package io.github.affinitypool.autoconfigure;

import java.net.URI;

/**
 * Masks the credentials of a Redis URL so that it can appear in logs, failure reports and actuator output.
 */
final class RedisUrls {

    static final String MASK = "******";

    private RedisUrls() {
    }

    /**
     * @param url a Redis URL, possibly malformed
     * @return the URL with any password (and the whole user-info when it cannot be parsed) replaced by a mask
     */
    static String mask(String url) {
        if (url == null) {
            return null;
        }
        int schemeEnd = url.indexOf("://");
        int at = url.lastIndexOf('@');
        if (at < 0) {
            return url;
        }
        if (schemeEnd < 0 || at < schemeEnd) {
            // Malformed ("user:secret@host", "redis:/:secret@host"): where the password starts cannot be told.
            return MASK + url.substring(at);
        }
        String userInfo = url.substring(schemeEnd + 3, at);
        int colon = userInfo.indexOf(':');
        String maskedUserInfo = (colon >= 0) ? userInfo.substring(0, colon) + ":" + MASK : MASK;
        return url.substring(0, schemeEnd + 3) + maskedUserInfo + url.substring(at);
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

    /** @return whether the URL asks for TLS ({@code rediss://}), as Spring Data Redis reads it */
    static boolean usesTls(String url) {
        return url != null && url.regionMatches(true, 0, "rediss://", 0, "rediss://".length());
    }
}
