/* ring_callback: the shape of an audio app on libauralis. A worker thread
 * renders 100 ms chunks into a ring in static memory, waiting for space
 * (back-pressure); the audio callback, here a thread that asks for 512
 * frames every 11.6 ms as a sound card would, fills its buffer from the
 * ring with no lock, no allocation and no system call. The callback's
 * output goes to a WAV file, so you can hear what it played.
 *
 *   ring_callback OUT.wav [SECONDS]
 *
 * Build:
 *   cc -std=c11 -Iinclude auralis-ffi/examples/ring_callback.c target/release/libauralis.a -lpthread -ldl -lm -o ring_callback
 */
#define _POSIX_C_SOURCE 200112L /* nanosleep, clock_nanosleep */
#include <auralis.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RATE 44100
#define CHUNK (2 * RATE / 10)   /* samples in one 100 ms chunk */
#define CAPACITY (3 * CHUNK)    /* 300 ms of buffer */
#define FRAMES 512              /* what the callback is asked for */

static _Alignas(64) unsigned char ring_memory[4096 + 2 * CAPACITY];
static AuralisRing *ring;
static atomic_bool stop;

/* The worker: render, wait for room, write. */
static void *worker(void *engine) {
    static int16_t chunk[AURALIS_CHUNK_MAX_SAMPLES];
    while (!atomic_load(&stop)) {
        if (auralis_ring_wait_for_space(ring, 100) != AURALIS_STATUS_OK) continue;
        AuralisChunkInfo info;
        if (auralis_engine_next_chunk(engine, chunk, AURALIS_CHUNK_MAX_SAMPLES, &info) !=
            AURALIS_STATUS_OK)
            break;
        auralis_ring_write(ring, chunk, 2 * (size_t)info.frames);
    }
    return NULL;
}

/* What a sound card's callback does: fill the buffer it is given. */
static void audio_callback(int16_t *out, size_t frames) {
    auralis_ring_fill(ring, out, 2 * frames, NULL);
}

static void put(FILE *f, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; i++) fputc((int)((v >> (8 * i)) & 0xff), f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT.wav [SECONDS]\n", argv[0]);
        return 2;
    }
    long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : 10;
    if (seconds <= 0 || seconds > 3600) {
        fprintf(stderr, "ring_callback: SECONDS must be 1 to 3600\n");
        return 2;
    }
    if (auralis_ring_size(CAPACITY) > sizeof ring_memory ||
        auralis_ring_init(ring_memory, sizeof ring_memory, CAPACITY, CHUNK, &ring) !=
            AURALIS_STATUS_OK) {
        fprintf(stderr, "ring_callback: cannot make the ring\n");
        return 1;
    }
    AuralisConfig config = auralis_config_default();
    config.seed = 11;
    AuralisEngine *engine = NULL;
    if (auralis_engine_new(&config, &engine) != AURALIS_STATUS_OK) return 1;
    FILE *wav = fopen(argv[1], "wb");
    if (!wav) {
        perror(argv[1]);
        return 1;
    }
    const uint32_t total = (uint32_t)seconds * RATE; /* frames */
    const uint32_t data = total * 4;
    fputs("RIFF", wav), put(wav, 36 + data, 4), fputs("WAVEfmt ", wav);
    put(wav, 16, 4), put(wav, 1, 2), put(wav, 2, 2), put(wav, RATE, 4);
    put(wav, RATE * 4, 4), put(wav, 4, 2), put(wav, 16, 2);
    fputs("data", wav), put(wav, data, 4);

    pthread_t render;
    pthread_create(&render, NULL, worker, engine);
    /* Let the worker get ahead before the "device" starts. */
    AuralisRingStats st;
    do {
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
        auralis_ring_stats(ring, &st);
    } while (st.health == AURALIS_HEALTH_EMERGENCY);

    static int16_t buffer[2 * FRAMES];
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (uint32_t done = 0; done < total; done += FRAMES) {
        size_t frames = total - done < FRAMES ? total - done : FRAMES;
        audio_callback(buffer, frames);
        for (size_t k = 0; k < 2 * frames; k++) put(wav, (uint16_t)buffer[k], 2);
        next.tv_nsec += 1000000000L / RATE * FRAMES;
        if (next.tv_nsec >= 1000000000L) next.tv_sec++, next.tv_nsec -= 1000000000L;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    atomic_store(&stop, 1);
    pthread_join(render, NULL);
    auralis_ring_stats(ring, &st);
    fprintf(stderr, "ring_callback: %ld s played, %u underruns, ring %s at the end\n", seconds,
            st.underruns,
            st.health == AURALIS_HEALTH_FULL      ? "full"
            : st.health == AURALIS_HEALTH_HEALTHY ? "healthy"
            : st.health == AURALIS_HEALTH_LOW     ? "low"
                                                  : "in emergency");
    auralis_engine_free(engine);
    return fclose(wav) == 0 ? 0 : 1;
}
