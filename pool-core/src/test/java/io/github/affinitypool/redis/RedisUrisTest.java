package io.github.affinitypool.redis;

import static org.assertj.core.api.Assertions.assertThat;

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
 * (as the Spring Boot starter does) become immediate, so that messages name the ACL user.
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
    void aProviderOfTheApplicationIsLeftAlone() {
        RedisCredentialsProvider rotating = () -> Mono.fromSupplier(() -> RedisCredentials.just("app", "token"));
        RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(6400).build();
        uri.setCredentialsProvider(rotating);
        RedisUris.withImmediateCredentials(uri);
        assertThat(uri.getCredentialsProvider()).isSameAs(rotating);
    }
}
