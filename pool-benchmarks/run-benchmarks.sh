#!/usr/bin/env bash
# Rebuilds the benchmarks and reruns them all, then rewrites the generated tables of docs/benchmarks.md and the
# charts in docs/images/ (raw results: pool-benchmarks/results/). About 12–13 minutes on 2 cores.
#
#   pool-benchmarks/run-benchmarks.sh                     # everything: JMH at 1 and 2 threads, then the load benchmark
#   pool-benchmarks/run-benchmarks.sh --only=load         # only the load benchmark (--only=jmh, --only=report)
#   pool-benchmarks/run-benchmarks.sh --driver=builtin    # the Reactor Netty load generator even when wrk is on PATH
#
# Load benchmark options: --rounds=2 --measure=3 --warmup=1 --initial-warmup=1 (seconds, whole ones with wrk)
# --connections=8,64,256 --setups=1,2,3,4,5,6 --small-pool=true. Needs Linux (/proc), a JDK 17+, redis-server on
# PATH (else the one in embedded-redis) and optionally wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl pool-benchmarks -am package -DskipTests
exec java -cp "pool-benchmarks/target/classes:$(cat pool-benchmarks/target/runtime-classpath.txt)" \
    io.github.affinitypool.benchmarks.RunBenchmarks "$@"
