/* Core-to-core latency: the round trip of one cache line between two threads pinned to CPUs 0
 * and 1, which pass a flag back and forth 200 000 times. A training step with two-thread BLAS
 * hands data between the two cores many times per step; when this round trip is slow, so is
 * that step (docs/performance.md, "Training").
 *
 *     gcc -O2 -pthread -o core_to_core benchmarks/core_to_core.c && ./core_to_core
 *
 * Linux only (pthread_setaffinity_np). Prints the mean round trip in nanoseconds.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#define ROUNDS 200000

static _Atomic int flag __attribute__((aligned(64)));

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *pong(void *unused) {
    (void)unused;
    pin(1);
    for (int i = 0; i < ROUNDS; i++) {
        while (atomic_load_explicit(&flag, memory_order_acquire) != 1) {}
        atomic_store_explicit(&flag, 0, memory_order_release);
    }
    return NULL;
}

int main(void) {
    pthread_t other;
    struct timespec t0, t1;
    pin(0);
    pthread_create(&other, NULL, pong, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < ROUNDS; i++) {
        atomic_store_explicit(&flag, 1, memory_order_release);
        while (atomic_load_explicit(&flag, memory_order_acquire) != 0) {}
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(other, NULL);
    printf("round trip %.1f ns\n",
           ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / ROUNDS);
    return 0;
}
