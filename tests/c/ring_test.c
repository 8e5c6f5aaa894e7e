/* The ring from C: a worker thread renders chunks into it while an "audio
 * callback" thread reads 512-frame blocks at real-time pace, with no lock
 * between them. Every frame must arrive once and in order: the consumer's
 * samples equal a second engine's chunks, rendered straight. Also checks
 * the ring's errors, its tiers and its counters. Built with
 * -fsanitize=thread by auralis-ffi/tests/c_abi.rs (and the Rust library
 * built with the same sanitizer, so its atomics are seen).
 * Usage: ring_test [SECONDS]. */
#define _POSIX_C_SOURCE 199309L /* nanosleep */
#include <auralis.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RATE 44100
#define CHUNK (2 * RATE / 10) /* samples in 100 ms of stereo */
#define CAPACITY (4 * CHUNK)  /* the ring: 400 ms */
#define BLOCK (2 * 512)       /* what the callback asks for */

static _Alignas(64) unsigned char memory[sizeof(int16_t) * CAPACITY + 4096];
static AuralisRing *ring;
static int16_t *received;
static size_t total; /* samples to pass */
static int bad;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
            bad = 1;                                                  \
        }                                                             \
    } while (0)

static void sleep_ns(long ns) {
    struct timespec t = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&t, NULL);
}

static void *producer(void *engine) {
    static int16_t chunk[AURALIS_CHUNK_MAX_SAMPLES];
    for (size_t done = 0; done < total; done += CHUNK) {
        AuralisStatus s;
        while ((s = auralis_ring_wait_for_space(ring, 1000)) == AURALIS_STATUS_RING_FULL) {
        }
        CHECK(s == AURALIS_STATUS_OK);
        AuralisChunkInfo info;
        CHECK(auralis_engine_next_chunk(engine, chunk, AURALIS_CHUNK_MAX_SAMPLES, &info) ==
              AURALIS_STATUS_OK);
        CHECK(info.frames * 2 == CHUNK);
        CHECK(auralis_ring_write(ring, chunk, CHUNK) == AURALIS_STATUS_OK);
    }
    return NULL;
}

static void *consumer(void *unused) {
    (void)unused;
    int16_t block[BLOCK];
    /* Start once the ring holds a chunk, as an audio device would. */
    AuralisRingStats st;
    do {
        sleep_ns(1000000);
        CHECK(auralis_ring_stats(ring, &st) == AURALIS_STATUS_OK);
    } while (st.depth < CHUNK && !bad);
    size_t got = 0;
    long period = 1000000000L / RATE * (BLOCK / 2);
    while (got < total && !bad) {
        size_t read = 0;
        CHECK(auralis_ring_fill(ring, block, BLOCK, &read) == AURALIS_STATUS_OK);
        if (read > total - got) read = total - got;
        memcpy(received + got, block, read * sizeof(int16_t));
        got += read;
        sleep_ns(period);
    }
    return NULL;
}

/* Errors, tiers and counters on a small ring. */
static void small_ring(void) {
    static _Alignas(64) unsigned char small[256];
    AuralisRing *r = NULL;
    CHECK(auralis_ring_size(0) == 0 && auralis_ring_size(7) == 0);
    CHECK(auralis_ring_size(20) >= 40);
    CHECK(auralis_ring_init(small, sizeof small, 7, 2, &r) == AURALIS_STATUS_INVALID_ARGUMENT);
    CHECK(auralis_ring_init(small, sizeof small, 20, 0, &r) == AURALIS_STATUS_INVALID_ARGUMENT);
    CHECK(auralis_ring_init(small, 8, 20, 4, &r) == AURALIS_STATUS_BUFFER_TOO_SMALL);
    CHECK(auralis_ring_init(small + 1, sizeof small - 1, 20, 4, &r) == AURALIS_STATUS_MISALIGNED);
    CHECK(auralis_ring_init(NULL, sizeof small, 20, 4, &r) == AURALIS_STATUS_NULL_POINTER);
    CHECK(r == NULL);
    /* Five chunks of four samples. */
    CHECK(auralis_ring_init(small, sizeof small, 20, 4, &r) == AURALIS_STATUS_OK);
    AuralisRingStats st;
    CHECK(auralis_ring_stats(r, &st) == AURALIS_STATUS_OK);
    CHECK(st.depth == 0 && st.capacity == 20 && st.chunk == 4);
    CHECK(st.health == AURALIS_HEALTH_EMERGENCY);
    int16_t four[4] = {1, 2, 3, 4};
    int16_t health[6];
    for (int i = 0; i < 5; i++) {
        CHECK(auralis_ring_write(r, four, 4) == AURALIS_STATUS_OK);
        CHECK(auralis_ring_stats(r, &st) == AURALIS_STATUS_OK);
        health[i + 1] = (int16_t)st.health;
    }
    CHECK(health[1] == AURALIS_HEALTH_LOW && health[2] == AURALIS_HEALTH_LOW);
    CHECK(health[3] == AURALIS_HEALTH_HEALTHY && health[4] == AURALIS_HEALTH_HEALTHY);
    CHECK(health[5] == AURALIS_HEALTH_FULL);
    CHECK(auralis_ring_write(r, four, 4) == AURALIS_STATUS_RING_FULL);
    CHECK(auralis_ring_write(r, four, 3) == AURALIS_STATUS_BUFFER_TOO_SMALL);
    CHECK(auralis_ring_wait_for_space(r, 5) == AURALIS_STATUS_RING_FULL);
    int16_t out[24];
    size_t read = 0;
    CHECK(auralis_ring_read(r, out, 6, &read) == AURALIS_STATUS_OK && read == 6);
    CHECK(out[0] == 1 && out[3] == 4 && out[4] == 1);
    CHECK(auralis_ring_wait_for_space(r, 5) == AURALIS_STATUS_OK);
    CHECK(auralis_ring_fill(r, out, 24, &read) == AURALIS_STATUS_OK && read == 14);
    CHECK(out[14] == 0 && out[23] == 0);
    CHECK(auralis_ring_stats(r, &st) == AURALIS_STATUS_OK);
    CHECK(st.depth == 0 && st.underruns == 1 && st.overflows == 1);
    CHECK(auralis_ring_write(r, four, 4) == AURALIS_STATUS_OK);
    CHECK(auralis_ring_clear(r) == AURALIS_STATUS_OK);
    CHECK(auralis_ring_read(r, out, 4, &read) == AURALIS_STATUS_OK && read == 0);
    CHECK(auralis_ring_write(NULL, four, 4) == AURALIS_STATUS_NULL_POINTER);
    CHECK(auralis_ring_read(r, NULL, 4, &read) == AURALIS_STATUS_NULL_POINTER);
    CHECK(auralis_ring_stats(r, NULL) == AURALIS_STATUS_NULL_POINTER);
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    total = (size_t)(seconds * 10) * CHUNK;
    small_ring();

    CHECK(auralis_ring_size(CAPACITY) <= sizeof memory);
    CHECK(auralis_ring_init(memory, sizeof memory, CAPACITY, CHUNK, &ring) == AURALIS_STATUS_OK);
    AuralisConfig config = auralis_config_default();
    config.seed = 99;
    AuralisEngine *engine = NULL, *reference = NULL;
    CHECK(auralis_engine_new(&config, &engine) == AURALIS_STATUS_OK);
    CHECK(auralis_engine_new(&config, &reference) == AURALIS_STATUS_OK);
    received = calloc(total, sizeof(int16_t));
    int16_t *expected = calloc(total, sizeof(int16_t));
    if (bad || !received || !expected) return 1;

    pthread_t p, c;
    pthread_create(&p, NULL, producer, engine);
    pthread_create(&c, NULL, consumer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);

    for (size_t done = 0; done < total; done += CHUNK) {
        AuralisChunkInfo info;
        CHECK(auralis_engine_next_chunk(reference, expected + done, CHUNK, &info) ==
              AURALIS_STATUS_OK);
    }
    size_t first_bad = total;
    for (size_t i = 0; i < total; i++) {
        if (received[i] != expected[i]) {
            first_bad = i;
            break;
        }
    }
    CHECK(first_bad == total);
    AuralisRingStats st;
    CHECK(auralis_ring_stats(ring, &st) == AURALIS_STATUS_OK);
    printf("ring: %zu samples passed through two threads, %s; underruns %u, overflows %u\n",
           total, first_bad == total ? "every frame once and in order" : "MISMATCH",
           st.underruns, st.overflows);
    if (first_bad != total) printf("first difference at sample %zu\n", first_bad);
    auralis_engine_free(engine);
    auralis_engine_free(reference);
    free(received);
    free(expected);
    return bad;
}
