/* Every function of libauralis from C, error paths included.
 * Usage: engine_test VALID.sf2 CORRUPT.sf2 OUT.pcm
 * Writes the samples of a fixed render to OUT.pcm, which the Rust side
 * compares bit for bit with its own API. Driven by auralis-ffi/tests/c_abi.rs. */
#include <auralis.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                    \
        }                                                                  \
    } while (0)

#define EXPECT(call, status)                                               \
    do {                                                                   \
        AuralisStatus got_ = (call);                                       \
        if (got_ != (status)) {                                            \
            fprintf(stderr, "%s:%d: %s gave %d (%s), expected %s\n", __FILE__, __LINE__, #call, \
                    (int)got_, auralis_status_str((int)got_), #status);    \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void error_text(const AuralisEngine *e, char *buf, size_t len) {
    size_t written = 0;
    EXPECT(auralis_engine_error(e, buf, len, &written), AURALIS_STATUS_OK);
    CHECK(strlen(buf) == written);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s VALID.sf2 CORRUPT.sf2 OUT.pcm\n", argv[0]);
        return 2;
    }
    /* Version and statuses. */
    CHECK(strcmp(auralis_version(), AURALIS_VERSION) == 0);
    CHECK(strcmp(auralis_status_str(AURALIS_STATUS_OK), "ok") == 0);
    CHECK(strcmp(auralis_status_str(12345), "unknown status") == 0);
    CHECK(strcmp(auralis_status_str(AURALIS_STATUS_NULL_POINTER), auralis_status_str(AURALIS_STATUS_INTERNAL)) != 0);

    /* Making engines: bad configs and NULLs. */
    AuralisConfig config = auralis_config_default();
    CHECK(config.sample_rate == 44100 && config.polyphony == AURALIS_MAX_VOICES);
    AuralisEngine *e = NULL;
    EXPECT(auralis_engine_new(NULL, &e), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_new(&config, NULL), AURALIS_STATUS_NULL_POINTER);
    AuralisConfig bad = config;
    bad.sample_rate = 44101;
    EXPECT(auralis_engine_new(&bad, &e), AURALIS_STATUS_INVALID_ARGUMENT);
    bad = config;
    bad.polyphony = 0;
    EXPECT(auralis_engine_new(&bad, &e), AURALIS_STATUS_INVALID_ARGUMENT);
    bad.polyphony = AURALIS_MAX_VOICES + 1;
    EXPECT(auralis_engine_new(&bad, &e), AURALIS_STATUS_INVALID_ARGUMENT);
    CHECK(e == NULL); /* out-params are written only on success */

    config.seed = 42;
    EXPECT(auralis_engine_new(&config, &e), AURALIS_STATUS_OK);
    CHECK(e != NULL);

    /* The fixed render compared with Rust: D dorian, 3 chunks, then 1000
     * frames of float in odd-sized pieces. */
    AuralisParams p = {62, AURALIS_MODE_DORIAN, 66.0f, 0.7f};
    EXPECT(auralis_engine_set_params(e, &p), AURALIS_STATUS_OK);
    FILE *out = fopen(argv[3], "wb");
    CHECK(out != NULL);
    int16_t chunk[AURALIS_CHUNK_MAX_SAMPLES];
    AuralisChunkInfo info;
    for (int i = 0; i < 3; i++) {
        EXPECT(auralis_engine_next_chunk(e, chunk, AURALIS_CHUNK_MAX_SAMPLES, &info), AURALIS_STATUS_OK);
        CHECK(info.seq == (uint64_t)i && info.frames == 4410 && info.channels == 2);
        CHECK(info.sample_rate == 44100 && info.start_frame == (uint64_t)i * 4410);
        if (i == 0) CHECK(info.params_changed == 1 && info.params.key == 62);
        fwrite(chunk, sizeof(int16_t), 2 * info.frames, out);
    }
    float f[2000];
    EXPECT(auralis_engine_render_f32(e, f, 2 * 333), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_render_f32(e, f + 2 * 333, 2 * 667), AURALIS_STATUS_OK);
    fwrite(f, sizeof(float), 2000, out);
    fclose(out);
    double energy = 0;
    for (int i = 0; i < 2000; i++) {
        CHECK(f[i] >= -1.0f && f[i] <= 1.0f);
        energy += (double)f[i] * f[i];
    }
    CHECK(energy > 0.0);

    /* Rendering: zero frames, odd counts, NULLs, small chunk buffers. */
    EXPECT(auralis_engine_render_f32(e, f, 0), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_render_f32(e, f, 3), AURALIS_STATUS_BUFFER_TOO_SMALL);
    EXPECT(auralis_engine_render_f32(e, NULL, 2), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_render_f32(NULL, f, 2), AURALIS_STATUS_NULL_POINTER);
    int16_t pcm[512];
    EXPECT(auralis_engine_render_i16(e, pcm, 512), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_render_i16(e, pcm, 0), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_render_i16(e, pcm, 511), AURALIS_STATUS_BUFFER_TOO_SMALL);
    EXPECT(auralis_engine_render_i16(e, NULL, 2), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_next_chunk(e, chunk, 8819, &info), AURALIS_STATUS_BUFFER_TOO_SMALL);
    EXPECT(auralis_engine_next_chunk(e, chunk, AURALIS_CHUNK_MAX_SAMPLES, NULL), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_next_chunk(e, NULL, 8820, &info), AURALIS_STATUS_NULL_POINTER);

    /* Error detail goes with the handle. */
    char msg[AURALIS_ERROR_MAX];
    EXPECT(auralis_engine_render_f32(e, f, 3), AURALIS_STATUS_BUFFER_TOO_SMALL);
    error_text(e, msg, sizeof msg);
    CHECK(strstr(msg, "stereo frames") != NULL);
    char tiny[4];
    EXPECT(auralis_engine_error(e, tiny, sizeof tiny, NULL), AURALIS_STATUS_BUFFER_TOO_SMALL);
    EXPECT(auralis_engine_error(e, NULL, 10, NULL), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_error(NULL, msg, sizeof msg, NULL), AURALIS_STATUS_NULL_POINTER);

    /* Parameters and presets. */
    AuralisParams q;
    EXPECT(auralis_engine_get_params(e, &q), AURALIS_STATUS_OK);
    CHECK(q.key == 62 && q.mode == AURALIS_MODE_DORIAN && q.bpm == 66.0f);
    EXPECT(auralis_engine_get_params(e, NULL), AURALIS_STATUS_NULL_POINTER);
    AuralisParams wrong[] = {
        {59, AURALIS_MODE_DORIAN, 60.0f, 0.5f},
        {60, 6, 60.0f, 0.5f},
        {60, AURALIS_MODE_DORIAN, 39.0f, 0.5f},
        {60, AURALIS_MODE_DORIAN, 60.0f, 1.5f},
        {60, AURALIS_MODE_DORIAN, NAN, 0.5f},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        EXPECT(auralis_engine_set_params(e, &wrong[i]), AURALIS_STATUS_INVALID_ARGUMENT);
    }
    error_text(e, msg, sizeof msg);
    CHECK(strstr(msg, "out of range") != NULL);
    EXPECT(auralis_engine_get_params(e, &q), AURALIS_STATUS_OK);
    CHECK(q.key == 62 && q.bpm == 66.0f); /* nothing changed */
    EXPECT(auralis_engine_set_params(e, NULL), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_set_preset(e, AURALIS_PRESET_SLEEP), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_get_params(e, &q), AURALIS_STATUS_OK);
    CHECK(q.key == 62 && q.mode == AURALIS_MODE_PHRYGIAN && q.bpm == 40.0f);
    EXPECT(auralis_engine_set_preset(e, 4), AURALIS_STATUS_INVALID_ARGUMENT);
    EXPECT(auralis_engine_set_preset(e, -1), AURALIS_STATUS_INVALID_ARGUMENT);
    /* The change lands within 5 s of audio and is reported. */
    int landed = 0;
    for (int i = 0; i < 50 && !landed; i++) {
        EXPECT(auralis_engine_next_chunk(e, chunk, AURALIS_CHUNK_MAX_SAMPLES, &info), AURALIS_STATUS_OK);
        landed = info.params_changed && info.params.mode == AURALIS_MODE_PHRYGIAN;
    }
    CHECK(landed);

    /* Reverb. */
    EXPECT(auralis_engine_set_reverb(e, 0.5f, 0.5f, 0.2f), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_set_reverb(e, 1.5f, 0.5f, 0.2f), AURALIS_STATUS_INVALID_ARGUMENT);
    EXPECT(auralis_engine_set_reverb(e, 0.5f, NAN, 0.2f), AURALIS_STATUS_INVALID_ARGUMENT);
    EXPECT(auralis_engine_set_reverb(NULL, 0.5f, 0.5f, 0.2f), AURALIS_STATUS_NULL_POINTER);

    /* Playing notes directly, composer off. */
    EXPECT(auralis_engine_set_composing(e, false), AURALIS_STATUS_OK);
    /* Ten seconds: the pad's release and the reverb's tail die away. */
    for (int i = 0; i < 441; i++) EXPECT(auralis_engine_render_f32(e, f, 2000), AURALIS_STATUS_OK);
    energy = 0;
    for (int i = 0; i < 2000; i++) energy += (double)f[i] * f[i];
    CHECK(energy < 1e-6); /* the composer's notes have died away */
    EXPECT(auralis_engine_program_change(e, 2, 0), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_control_change(e, 2, 7, 120), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_note_on(e, 2, 60, 100), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_render_f32(e, f, 2000), AURALIS_STATUS_OK);
    energy = 0;
    for (int i = 0; i < 2000; i++) energy += (double)f[i] * f[i];
    CHECK(energy > 1e-6); /* the host's note sounds */
    EXPECT(auralis_engine_note_off(e, 2, 60), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_note_on(e, 16, 60, 100), AURALIS_STATUS_INVALID_ARGUMENT);
    EXPECT(auralis_engine_note_on(e, 0, 128, 100), AURALIS_STATUS_INVALID_ARGUMENT);
    EXPECT(auralis_engine_note_off(e, 0, 200), AURALIS_STATUS_INVALID_ARGUMENT);
    EXPECT(auralis_engine_control_change(e, 0, 7, 128), AURALIS_STATUS_INVALID_ARGUMENT);
    EXPECT(auralis_engine_program_change(e, 17, 0), AURALIS_STATUS_INVALID_ARGUMENT);
    EXPECT(auralis_engine_note_on(NULL, 0, 60, 100), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_set_composing(e, true), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_set_composing(NULL, true), AURALIS_STATUS_NULL_POINTER);

    /* Metrics. */
    AuralisMetrics m;
    EXPECT(auralis_engine_metrics(e, &m), AURALIS_STATUS_OK);
    CHECK(m.chunks >= 6 && m.renders > 400 && m.frames > 441000);
    CHECK(m.polyphony == AURALIS_MAX_VOICES);
    CHECK(m.render_ms_per_100ms_p50 > 0.0 && m.render_ms_per_100ms_p99 >= m.render_ms_per_100ms_p50);
    EXPECT(auralis_engine_metrics(e, NULL), AURALIS_STATUS_NULL_POINTER);

    /* SoundFonts: a corrupt one is refused and the engine plays on. */
    size_t bad_len = 0, good_len = 0;
    unsigned char *corrupt = read_file(argv[2], &bad_len);
    unsigned char *valid = read_file(argv[1], &good_len);
    CHECK(corrupt && valid);
    EXPECT(auralis_engine_load_soundfont_copy(e, corrupt, bad_len), AURALIS_STATUS_SOUNDFONT_INVALID);
    error_text(e, msg, sizeof msg);
    CHECK(strlen(msg) > 0);
    EXPECT(auralis_engine_load_soundfont_borrowed(e, corrupt, bad_len), AURALIS_STATUS_SOUNDFONT_INVALID);
    EXPECT(auralis_engine_load_soundfont_file(e, argv[2]), AURALIS_STATUS_SOUNDFONT_INVALID);
    EXPECT(auralis_engine_load_soundfont_copy(e, corrupt, 0), AURALIS_STATUS_SOUNDFONT_INVALID);
    EXPECT(auralis_engine_next_chunk(e, chunk, AURALIS_CHUNK_MAX_SAMPLES, &info), AURALIS_STATUS_OK);
    CHECK(info.seq > 6); /* the old stream goes on */
    EXPECT(auralis_engine_load_soundfont_file(e, "/nonexistent/auralis.sf2"), AURALIS_STATUS_IO);
    error_text(e, msg, sizeof msg);
    CHECK(strstr(msg, "/nonexistent/auralis.sf2") != NULL);
    EXPECT(auralis_engine_load_soundfont_file(e, NULL), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_load_soundfont_copy(e, NULL, 10), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_load_soundfont_borrowed(e, NULL, 10), AURALIS_STATUS_NULL_POINTER);
    /* A copy: the caller frees its bytes at once; the stream restarts. */
    unsigned char *copy = malloc(good_len);
    memcpy(copy, valid, good_len);
    EXPECT(auralis_engine_load_soundfont_copy(e, copy, good_len), AURALIS_STATUS_OK);
    memset(copy, 0xAB, good_len);
    free(copy);
    EXPECT(auralis_engine_next_chunk(e, chunk, AURALIS_CHUNK_MAX_SAMPLES, &info), AURALIS_STATUS_OK);
    CHECK(info.seq == 0);
    EXPECT(auralis_engine_get_params(e, &q), AURALIS_STATUS_OK);
    CHECK(q.mode == AURALIS_MODE_PHRYGIAN); /* parameters survive a reload */
    EXPECT(auralis_engine_load_soundfont_file(e, argv[1]), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_load_soundfont_borrowed(e, valid, good_len), AURALIS_STATUS_OK);
    EXPECT(auralis_engine_render_f32(e, f, 2000), AURALIS_STATUS_OK);
    auralis_engine_free(e); /* before `valid`, which it borrows */
    free(valid);
    free(corrupt);

    /* Free accepts NULL. */
    auralis_engine_free(NULL);

    /* Placement: size, alignment, errors. */
    size_t size = auralis_engine_size(), align = auralis_engine_align();
    CHECK(size > 100000 && align >= 8 && (align & (align - 1)) == 0);
    unsigned char *mem = aligned_alloc(align, size + align);
    AuralisEngine *pe = NULL;
    EXPECT(auralis_engine_init(NULL, size, &config, &pe), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_init(mem, size - 1, &config, &pe), AURALIS_STATUS_BUFFER_TOO_SMALL);
    EXPECT(auralis_engine_init(mem + 1, size, &config, &pe), AURALIS_STATUS_MISALIGNED);
    EXPECT(auralis_engine_init(mem, size, NULL, &pe), AURALIS_STATUS_NULL_POINTER);
    EXPECT(auralis_engine_init(mem, size, &config, NULL), AURALIS_STATUS_NULL_POINTER);
    CHECK(pe == NULL);
    EXPECT(auralis_engine_init(mem, size, &config, &pe), AURALIS_STATUS_OK);
    CHECK((void *)pe == (void *)mem);
    EXPECT(auralis_engine_load_soundfont_file(pe, argv[1]), AURALIS_STATUS_UNSUPPORTED);
    EXPECT(auralis_engine_load_soundfont_copy(pe, (const uint8_t *)"x", 1), AURALIS_STATUS_UNSUPPORTED);
    EXPECT(auralis_engine_render_f32(pe, f, 2000), AURALIS_STATUS_OK);
    auralis_engine_free(pe);
    free(mem);

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("engine_test: all checks passed\n");
    return 0;
}
