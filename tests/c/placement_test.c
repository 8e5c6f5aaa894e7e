/* An engine in caller memory never allocates: this program counts every
 * malloc, calloc, realloc, posix_memalign and aligned_alloc (linked with
 * -Wl,--wrap=...) while it builds an engine in static memory, plays a
 * minute of music, changes parameters, plays its own notes, loads a
 * borrowed SoundFont and reads metrics. It then checks that the engine in
 * caller memory renders the same samples as one on the heap. The counted
 * part runs on a thread with a 128 KiB stack: the engine (hundreds of KB)
 * must be built in place, never on the stack.
 * Usage: placement_test FONT.sf2. Driven by auralis-ffi/tests/c_abi.rs. */
#include <auralis.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t allocations = 0;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);

void *__wrap_malloc(size_t n) { allocations++; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { allocations++; return __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { allocations++; return __real_realloc(p, n); }
int __wrap_posix_memalign(void **p, size_t a, size_t n) { allocations++; return __real_posix_memalign(p, a, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { allocations++; return __real_aligned_alloc(a, n); }

static _Alignas(64) unsigned char memory[1 << 20];
static unsigned char font[1 << 16];
static int16_t chunk[AURALIS_CHUNK_MAX_SAMPLES];
static int16_t heap_chunk[AURALIS_CHUNK_MAX_SAMPLES];
static float block[2 * 777];

static size_t font_len;
static size_t counted;
static int bad;

/* The counted part: build, play, change, free, in caller memory. */
static void *counted_part(void *unused) {
    (void)unused;
    allocations = 0;
    AuralisConfig config = auralis_config_default();
    config.seed = 7;
    config.polyphony = 32;
    AuralisEngine *e = NULL;
    bad |= auralis_engine_init(memory, sizeof memory, &config, &e) != AURALIS_STATUS_OK;
    AuralisParams p = {64, AURALIS_MODE_LYDIAN, 72.0f, 0.6f};
    bad |= auralis_engine_set_params(e, &p) != AURALIS_STATUS_OK;
    AuralisChunkInfo info;
    for (int i = 0; i < 600; i++) {
        bad |= auralis_engine_next_chunk(e, chunk, AURALIS_CHUNK_MAX_SAMPLES, &info) != AURALIS_STATUS_OK;
        if (i == 300) bad |= auralis_engine_set_preset(e, AURALIS_PRESET_MEDITATION) != AURALIS_STATUS_OK;
    }
    bad |= info.seq != 599;
    bad |= auralis_engine_render_f32(e, block, 2 * 777) != AURALIS_STATUS_OK;
    bad |= auralis_engine_render_i16(e, chunk, 2 * 1000) != AURALIS_STATUS_OK;
    bad |= auralis_engine_set_reverb(e, 0.6f, 0.4f, 0.3f) != AURALIS_STATUS_OK;
    bad |= auralis_engine_set_composing(e, false) != AURALIS_STATUS_OK;
    bad |= auralis_engine_program_change(e, 3, 0) != AURALIS_STATUS_OK;
    bad |= auralis_engine_control_change(e, 3, 10, 30) != AURALIS_STATUS_OK;
    bad |= auralis_engine_note_on(e, 3, 67, 90) != AURALIS_STATUS_OK;
    bad |= auralis_engine_render_f32(e, block, 2 * 777) != AURALIS_STATUS_OK;
    bad |= auralis_engine_note_off(e, 3, 67) != AURALIS_STATUS_OK;
    bad |= auralis_engine_set_composing(e, true) != AURALIS_STATUS_OK;
    /* Refusals allocate nothing either. */
    bad |= auralis_engine_set_params(e, &(AuralisParams){1, 99, 0.0f, 9.0f}) != AURALIS_STATUS_INVALID_ARGUMENT;
    bad |= auralis_engine_load_soundfont_copy(e, font, font_len) != AURALIS_STATUS_UNSUPPORTED;
    char msg[AURALIS_ERROR_MAX];
    bad |= auralis_engine_error(e, msg, sizeof msg, NULL) != AURALIS_STATUS_OK;
    bad |= auralis_engine_load_soundfont_borrowed(e, font, font_len) != AURALIS_STATUS_OK;
    bad |= auralis_engine_next_chunk(e, chunk, AURALIS_CHUNK_MAX_SAMPLES, &info) != AURALIS_STATUS_OK;
    AuralisMetrics m;
    bad |= auralis_engine_metrics(e, &m) != AURALIS_STATUS_OK;
    bad |= m.polyphony != 32;
    auralis_engine_free(e);
    counted = allocations;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    /* Read the font before counting: file I/O is the caller's business. */
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 2;
    font_len = fread(font, 1, sizeof font, f);
    fclose(f);
    if (auralis_engine_size() > sizeof memory || auralis_engine_align() > 64) {
        fprintf(stderr, "engine needs %zu bytes aligned to %zu\n", auralis_engine_size(), auralis_engine_align());
        return 1;
    }
    pthread_attr_t attr;
    pthread_t thread;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 128 * 1024) != 0 ||
        pthread_create(&thread, &attr, counted_part, NULL) != 0 || pthread_join(thread, NULL) != 0) {
        fprintf(stderr, "cannot run the counted part on a 128 KiB stack\n");
        return 1;
    }
    pthread_attr_destroy(&attr);
    AuralisConfig config = auralis_config_default();
    config.seed = 7;
    config.polyphony = 32;
    AuralisEngine *e = NULL;

    if (bad) {
        fprintf(stderr, "a call failed\n");
        return 1;
    }
    printf("placement_test: %zu allocations in caller memory\n", counted);
    if (counted != 0) return 1;

    /* Same seed, same samples: caller memory and heap. */
    AuralisEngine *h = NULL;
    if (auralis_engine_init(memory, sizeof memory, &config, &e) != AURALIS_STATUS_OK) return 1;
    if (auralis_engine_new(&config, &h) != AURALIS_STATUS_OK) return 1;
    if (allocations == counted) {
        fprintf(stderr, "the allocation counter does not count (a heap engine allocated nothing?)\n");
        return 1;
    }
    for (int i = 0; i < 50; i++) {
        auralis_engine_next_chunk(e, chunk, AURALIS_CHUNK_MAX_SAMPLES, NULL);
        auralis_engine_next_chunk(h, heap_chunk, AURALIS_CHUNK_MAX_SAMPLES, NULL);
        if (memcmp(chunk, heap_chunk, 2 * 4410 * sizeof(int16_t)) != 0) {
            fprintf(stderr, "chunk %d differs\n", i);
            return 1;
        }
    }
    auralis_engine_free(e);
    auralis_engine_free(h);
    printf("placement_test: caller memory and heap render the same samples\n");
    return 0;
}
