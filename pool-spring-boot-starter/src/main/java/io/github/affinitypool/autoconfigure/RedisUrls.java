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
        if (schemeEnd < 0 || at < schemeEnd) {
            return url;
        }
        String userInfo = url.substring(schemeEnd + 3, at);
        int colon = userInfo.indexOf(':');
        String maskedUserInfo = (colon >= 0) ? userInfo.substring(0, colon) + ":" + MASK : MASK;
        return url.substring(0, schemeEnd + 3) + maskedUserInfo + url.substring(at);
    }

    /**
     * @param url a Redis URL
     * @return whether it parses as a URI with a redis, rediss or redis-socket scheme and, for TCP, a host
     */
    static boolean isWellFormed(String url) {
        try {
            URI uri = URI.create(url);
            String scheme = uri.getScheme();
            if ("redis-socket".equals(scheme)) {
                return uri.getPath() != null && !uri.getPath().isEmpty();
            }
            return ("redis".equals(scheme) || "rediss".equals(scheme)) && uri.getHost() != null;
        }
        catch (IllegalArgumentException ex) {
            return false;
        }
    }
}
