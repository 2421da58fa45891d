package io.github.affinitypool.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisCredentials;
import io.lettuce.core.RedisCredentialsProvider;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * The two {@link RedisUris} rules the reliability suite (pool-sample-app, {@code sample.reliability}) found missing:
 * Lettuce's connection-state errors count as a lost connection, and constant credentials given as a {@link RedisURI}
 * (as the Spring Boot starter does) become immediate, so that messages name the ACL user. And the one a review found
 * missing: a URI string in a message is masked up to its last {@code @}, and a password with an unencoded {@code /},
 * {@code ?}, {@code #} or {@code @} is refused before the parser reads its rest as host, database or fragment.
 */
class RedisUrisTest {

    @Test
    void lettucesConnectionStateErrorsAndIoErrorsAreConnectionLosses() {
        for (String message : new String[] { "Connection disconnected", "Connection closed", "Connection is closed",
                "Currently not connected. Commands are rejected." }) {
            assertThat(RedisUris.isConnectionLoss(new RedisException(message))).as(message).isTrue();
        }
        assertThat(RedisUris.isConnectionLoss(new IOException("Connection reset by peer"))).isTrue();
        assertThat(RedisUris.isConnectionLoss(new ClosedChannelException())).isTrue();
    }

    @Test
    void errorRepliesTimeoutsAndOtherRedisExceptionsAreNot() {
        assertThat(RedisUris.isConnectionLoss(new RedisCommandExecutionException("WRONGTYPE Operation against a key")))
                .isFalse();
        assertThat(RedisUris.isConnectionLoss(new RedisCommandTimeoutException("Command timed out after 1 second(s)")))
                .isFalse();
        assertThat(RedisUris.isConnectionLoss(new RedisException("Connection disconnected, and something else")))
                .isFalse();
        assertThat(RedisUris.isConnectionLoss(new IllegalStateException("Connection closed"))).isFalse();
    }

    @Test
    void aRedisUriWithUserInfoGetsImmediateCredentialsAndItsDescriptionNamesTheUser() {
        RedisURI fromString = RedisURI.create("redis://app:app-secret@127.0.0.1:6400/1");
        RedisURI fromBuilder = RedisURI.builder().withHost("127.0.0.1").withPort(6400).withDatabase(1)
                .withAuthentication("app", "app-secret").build();
        for (RedisURI uri : new RedisURI[] { fromString, fromBuilder, RedisURI.builder(fromString).build() }) {
            RedisUris.withImmediateCredentials(uri);
            assertThat(uri.getCredentialsProvider())
                    .isInstanceOf(RedisCredentialsProvider.ImmediateRedisCredentialsProvider.class);
            assertThat(RedisUris.describe(uri)).isEqualTo("redis://app@127.0.0.1:6400/1");
            RedisCredentials credentials = ((RedisCredentialsProvider.ImmediateRedisCredentialsProvider) uri
                    .getCredentialsProvider()).resolveCredentialsNow();
            assertThat(credentials.getUsername()).isEqualTo("app");
            assertThat(new String(credentials.getPassword())).isEqualTo("app-secret");
        }
    }

    @Test
    void aDescriptionForDisplayShowsWhetherAPasswordIsSetButNeverThePassword() {
        RedisURI both = RedisURI.builder().withHost("127.0.0.1").withPort(6400).withDatabase(1)
                .withAuthentication("app", "app-secret").build();
        RedisURI passwordOnly = RedisURI.create("redis://:app-secret@127.0.0.1:6400");
        RedisURI none = RedisURI.create("rediss://127.0.0.1");
        assertThat(RedisUris.describe(both, "******")).isEqualTo("redis://app:******@127.0.0.1:6400/1");
        assertThat(RedisUris.describe(passwordOnly, "******")).isEqualTo("redis://:******@127.0.0.1:6400");
        assertThat(RedisUris.describe(none, "******")).isEqualTo("rediss://127.0.0.1:6379");
    }

    @Test
    void aProviderOfTheApplicationIsLeftAlone() {
        RedisCredentialsProvider rotating = () -> Mono.fromSupplier(() -> RedisCredentials.just("app", "token"));
        RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(6400).build();
        uri.setCredentialsProvider(rotating);
        RedisUris.withImmediateCredentials(uri);
        assertThat(uri.getCredentialsProvider()).isSameAs(rotating);
    }

    @Test
    void aUriInAMessageIsMaskedUpToItsLastAt() {
        assertThat(RedisUris.mask("redis://:s3cr/etPass@localhost:6400")).isEqualTo("redis://****@localhost:6400");
        assertThat(RedisUris.mask("redis://:s3cr#etPass@localhost:6400")).isEqualTo("redis://****@localhost:6400");
        assertThat(RedisUris.mask("rediss://app:s3cr?et@Pass@localhost:6400/2"))
                .isEqualTo("rediss://****@localhost:6400/2");
        // Without a scheme the user info may start anywhere: all before the last '@' is masked.
        assertThat(RedisUris.mask("default:s3cretPass@localhost:6400")).isEqualTo("****@localhost:6400");
        assertThat(RedisUris.mask("redis:/:s3cr/etPass@localhost:6400")).isEqualTo("****@localhost:6400");
        assertThat(RedisUris.mask(":s3cr://etPass@localhost:6400")).isEqualTo("****@localhost:6400");
        assertThat(RedisUris.mask("redis://localhost:6400/2")).isEqualTo("redis://localhost:6400/2");
    }

    @Test
    void anUnencodedSlashQuestionMarkHashOrAtInTheUserInfoIsRefusedWithTheFixAndWithoutTheSecret() {
        for (String userInfo : new String[] { ":s3cr/etPass", ":s3cr#etPass", ":s3cr?etPass", ":s3cr@etPass",
                "app:s3cr/etPass", "app/s3cr:etPass" }) {
            String uri = "redis://" + userInfo + "@localhost:6400/2";
            assertThatThrownBy(() -> RedisAffinityPool.builder(uri)).as(uri)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Malformed Redis URI 'redis://****@localhost:6400/2': the user info (up to the last "
                            + "'@') contains '/', '?', '#' or '@'; percent-encode them (%2F, %3F, %23, %40)")
                    .hasNoCause()
                    .satisfies(error -> assertThat(error.getMessage()).doesNotContain("s3cr").doesNotContain("etPass"));
        }
        // The fix the message gives works: Lettuce percent-decodes the user name and the password.
        RedisURI encoded = RedisUris.parse("redis://ap%2Fp:s3cr%2Fet%3FPa%23ss%40x@127.0.0.1:6400/2");
        RedisCredentials credentials = ((RedisCredentialsProvider.ImmediateRedisCredentialsProvider) encoded
                .getCredentialsProvider()).resolveCredentialsNow();
        assertThat(credentials.getUsername()).isEqualTo("ap/p");
        assertThat(new String(credentials.getPassword())).isEqualTo("s3cr/et?Pa#ss@x");
        assertThat(RedisUris.describe(encoded)).isEqualTo("redis://ap/p@127.0.0.1:6400/2");
    }

    @Test
    void theParsersMessageIsShownOnlyWithoutAnyPieceOfThePassword() {
        // No scheme: the whole string was quoted unmasked, as the old mask needed a "://" before the user info.
        assertThatThrownBy(() -> RedisUris.parse("default:s3cretPass@localhost:6400"))
                .hasMessage("Malformed Redis URI '****@localhost:6400': Scheme default not supported");
        assertThatThrownBy(() -> RedisUris.parse("redis:/:s3cr/etPass@localhost:6400"))
                .hasMessage("Malformed Redis URI '****@localhost:6400': Invalid URI, cannot get host or socket part");
        // java.net.URI quotes the whole string: masked with it.
        assertThatThrownBy(() -> RedisUris.parse("redis://:s3cret%zzPass@localhost:6400"))
                .hasMessage("Malformed Redis URI 'redis://****@localhost:6400': Malformed escape pair at index 15: "
                        + "redis://****@localhost:6400")
                .hasNoCause();
        // Lettuce's Integer.parseInt of what it took for the database quoted a piece of the password (the review's
        // case, which the check for '/' now refuses before the parser): such a message is not shown.
        assertThat(RedisUris.parserReason("redis://:s3cr/etPass@localhost:6400",
                new NumberFormatException("For input string: \"etPass@localhost:6400\"")))
                .isEqualTo("not a valid Redis URI (NumberFormatException, whose message is not shown as it may "
                        + "contain the password)");
        assertThat(RedisUris.parserReason("redis://:s3cretPass@localhost:6400/x",
                new NumberFormatException("For input string: \"x\""))).isEqualTo("For input string: \"x\"");
    }

    @Test
    void sentinelAndSocketUrisAreRefusedNamingWhatTheyAreRatherThanAHostTheyHaveNot() {
        // Before, both read "… not redis://null:6379": Lettuce gives such URIs no host.
        assertThatThrownBy(() -> RedisAffinityPool.builder("redis-sentinel://:s3cret@cache:26379/0#orders").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Only redis:// and rediss:// host URIs are supported, not Redis Sentinel "
                        + "(master 'orders')");
        assertThatThrownBy(() -> RedisAffinityPool.builder("redis-socket:///tmp/redis.sock").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Only redis:// and rediss:// host URIs are supported, not a Unix domain socket "
                        + "(/tmp/redis.sock)");
        // The same from a RedisURI, which Lettuce's copy would turn into "Cannot build a RedisURI. One of the
        // following must be provided Host, Socket or Sentinel".
        assertThatThrownBy(() -> RedisAffinityPool.builder(RedisURI.Builder.sentinel("s1", "orders").build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Only redis:// and rediss:// host URIs are supported, not Redis Sentinel "
                        + "(master 'orders')");
        assertThatThrownBy(() -> RedisAffinityPool.builder(RedisURI.Builder.socket("/tmp/redis.sock").build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Only redis:// and rediss:// host URIs are supported, not a Unix domain socket "
                        + "(/tmp/redis.sock)");
    }
}
