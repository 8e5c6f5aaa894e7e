/* render_wav: a minute of Auralis to a 16-bit stereo WAV file, using only
 * <auralis.h> and libauralis.
 *
 *   render_wav OUT.wav [SEED] [SECONDS]
 *
 * Build (see the README, "Use from C/C++"):
 *   cc -std=c11 -Iinclude auralis-ffi/examples/render_wav.c target/release/libauralis.a -lpthread -ldl -lm -o render_wav
 */
#include <auralis.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static int fail(const char *what, AuralisStatus s) {
    fprintf(stderr, "render_wav: %s: %s\n", what, auralis_status_str((int)s));
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s OUT.wav [SEED] [SECONDS]\n", argv[0]);
        return 2;
    }
    AuralisConfig config = auralis_config_default();
    config.seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 7;
    long seconds = argc > 3 ? strtol(argv[3], NULL, 10) : 60;
    if (seconds <= 0 || seconds > 24 * 3600) {
        fprintf(stderr, "render_wav: SECONDS must be 1 to 86400\n");
        return 2;
    }

    AuralisEngine *engine = NULL;
    AuralisStatus s = auralis_engine_new(&config, &engine);
    if (s != AURALIS_STATUS_OK) return fail("cannot make an engine", s);
    AuralisParams params = {62, AURALIS_MODE_DORIAN, 60.0f, 0.5f};
    s = auralis_engine_set_params(engine, &params);
    if (s != AURALIS_STATUS_OK) return fail("bad parameters", s);

    FILE *out = fopen(argv[1], "wb");
    if (!out) {
        perror(argv[1]);
        auralis_engine_free(engine);
        return 1;
    }
    const uint32_t chunks = (uint32_t)seconds * 10;
    const uint32_t frames = config.sample_rate / 10;
    const uint32_t data_bytes = chunks * frames * 2 * 2;
    unsigned char header[44] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' '};
    put_u32(header + 4, 36 + data_bytes);
    put_u32(header + 16, 16);
    put_u16(header + 20, 1); /* PCM */
    put_u16(header + 22, 2); /* stereo */
    put_u32(header + 24, config.sample_rate);
    put_u32(header + 28, config.sample_rate * 4);
    put_u16(header + 32, 4);
    put_u16(header + 34, 16);
    header[36] = 'd', header[37] = 'a', header[38] = 't', header[39] = 'a';
    put_u32(header + 40, data_bytes);
    fwrite(header, 1, sizeof header, out);

    static int16_t chunk[AURALIS_CHUNK_MAX_SAMPLES];
    unsigned char bytes[sizeof chunk];
    for (uint32_t i = 0; i < chunks; i++) {
        AuralisChunkInfo info;
        s = auralis_engine_next_chunk(engine, chunk, AURALIS_CHUNK_MAX_SAMPLES, &info);
        if (s != AURALIS_STATUS_OK) {
            fclose(out);
            auralis_engine_free(engine);
            return fail("render failed", s);
        }
        for (uint32_t k = 0; k < 2 * info.frames; k++) put_u16(bytes + 2 * k, (uint16_t)chunk[k]);
        fwrite(bytes, 2, 2 * info.frames, out);
        if ((i + 1) % 100 == 0) fprintf(stderr, "\r%u/%ld s", (i + 1) / 10, seconds);
    }
    fprintf(stderr, "\n");
    auralis_engine_free(engine);
    if (fclose(out) != 0) {
        perror(argv[1]);
        return 1;
    }
    printf("wrote %s: %ld s of Auralis (seed %llu)\n", argv[1], seconds, (unsigned long long)config.seed);
    return 0;
}
