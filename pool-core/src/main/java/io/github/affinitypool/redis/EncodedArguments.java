package io.github.affinitypool.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.lettuce.core.protocol.CommandArgs;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ByteProcessor;

/**
 * The arguments of a command as Redis will receive them, for the few decisions that depend on an argument (a CLIENT
 * sub-command, the timeout of a blocking command).
 * <p>
 * Why not {@link CommandArgs#toCommandString()}: it is meant for logs, and shows an argument added with
 * {@code addKey}/{@code addValue} as {@code key<…>}/{@code value<…>}, so {@code CLIENT value<REPLY> OFF} would not be
 * recognised as the {@code CLIENT REPLY OFF} that Redis receives. Encoding the arguments gives exactly the bytes sent.
 */
final class EncodedArguments {

    private EncodedArguments() {
    }

    /**
     * @param args a command's arguments
     * @return each argument as text (UTF-8), in order
     */
    static List<String> of(CommandArgs<?, ?> args) {
        ByteBuf buffer = Unpooled.buffer();
        try {
            args.encode(buffer);
            List<String> arguments = new ArrayList<>(args.count());
            // Each argument is a RESP bulk string: $<length>\r\n<bytes>\r\n
            while (buffer.isReadable()) {
                int lineEnd = buffer.forEachByte(ByteProcessor.FIND_CR);
                int start = buffer.readerIndex() + 1;
                int length = Integer.parseInt(buffer.toString(start, lineEnd - start, StandardCharsets.US_ASCII));
                buffer.readerIndex(lineEnd + 2);
                arguments.add(buffer.readCharSequence(length, StandardCharsets.UTF_8).toString());
                buffer.skipBytes(2);
            }
            return arguments;
        }
        finally {
            buffer.release();
        }
    }

    /** @return the first argument, or {@code null} when there are none */
    static String first(CommandArgs<?, ?> args) {
        if (args == null || args.count() == 0) {
            return null;
        }
        return of(args).get(0);
    }

    /** @return the last argument, or {@code null} when there are none */
    static String last(CommandArgs<?, ?> args) {
        if (args == null || args.count() == 0) {
            return null;
        }
        List<String> arguments = of(args);
        return arguments.get(arguments.size() - 1);
    }
}
