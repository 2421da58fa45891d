package io.github.affinitypool.sample.reliability;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import org.slf4j.LoggerFactory;

import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.context.ApplicationListener;

/**
 * Captures every event logged through the root logger (what the application would print), thread-safely, until
 * closed.
 */
final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {

    private final Queue<ILoggingEvent> events = new ConcurrentLinkedQueue<>();

    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

    LogCapture() {
        setName("reliability-log-capture");
        setContext(root.getLoggerContext());
        start();
        root.addAppender(this);
    }

    /**
     * Spring Boot resets Logback while an application starts (removing and stopping this appender); this listener
     * attaches it again right after, so that start-up failures are captured too.
     *
     * @return a listener to register with the application
     */
    ApplicationListener<ApplicationEnvironmentPreparedEvent> reattachAfterLoggingInitialization() {
        return event -> {
            start();
            if (root.getAppender(getName()) == null) {
                root.addAppender(this);
            }
        };
    }

    @Override
    protected void append(ILoggingEvent event) {
        event.prepareForDeferredProcessing();
        events.add(event);
    }

    /** @return the events captured so far that match */
    List<ILoggingEvent> events(Predicate<ILoggingEvent> filter) {
        List<ILoggingEvent> matching = new ArrayList<>();
        for (ILoggingEvent event : events) {
            if (filter.test(event)) {
                matching.add(event);
            }
        }
        return matching;
    }

    /** @return the events at WARN or above */
    List<ILoggingEvent> warningsAndErrors() {
        return events(event -> event.getLevel().isGreaterOrEqual(Level.WARN));
    }

    /** @return an event as one line: level, logger, message, and the exception chain's types and messages */
    static String describe(ILoggingEvent event) {
        StringBuilder text = new StringBuilder().append(event.getLevel()).append(' ').append(event.getLoggerName())
                .append(": ").append(event.getFormattedMessage());
        for (IThrowableProxy cause = event.getThrowableProxy(); cause != null; cause = cause.getCause()) {
            text.append(" | ").append(cause.getClassName()).append(": ").append(cause.getMessage());
        }
        return text.toString();
    }

    /** @return everything captured, as text (messages and exception chains), to search for a secret */
    String allText() {
        StringBuilder text = new StringBuilder();
        for (ILoggingEvent event : events) {
            text.append(describe(event)).append('\n');
        }
        return text.toString();
    }

    @Override
    public void close() {
        root.detachAppender(this);
        stop();
    }
}
