package io.github.affinitypool.core;

/** Which idle resource a pool hands out first. */
public enum IdleOrder {

    /** Most recently used first: a few resources stay warm and the rest expire by idle time. */
    LIFO,

    /** Least recently used first: load is spread over every idle resource. */
    FIFO
}
