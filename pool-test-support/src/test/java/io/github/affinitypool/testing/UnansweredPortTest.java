package io.github.affinitypool.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;

import org.junit.jupiter.api.Test;

/** A connect to the port hangs until the client's timeout, and is refused once the port is closed. */
class UnansweredPortTest {

    @Test
    void connectsTimeOutInsteadOfBeingRefused() throws Exception {
        String uri;
        try (UnansweredPort port = UnansweredPort.open(); Socket socket = new Socket()) {
            uri = port.uri();
            assertThat(uri).isEqualTo("redis://127.0.0.1:" + port.port());

            assertThatThrownBy(() -> socket.connect(port.address(), 300)).isInstanceOf(SocketTimeoutException.class);
        }
        int closedPort = Integer.parseInt(uri.substring(uri.lastIndexOf(':') + 1));
        try (Socket socket = new Socket()) {
            assertThatThrownBy(() -> socket.connect(new InetSocketAddress("127.0.0.1", closedPort), 300))
                    .isInstanceOf(ConnectException.class);
        }
    }
}
