// The header from C++17: it compiles cleanly as C++, and the API works
// with RAII ownership. Driven by auralis-ffi/tests/c_abi.rs.
#include <auralis.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string_view>
#include <vector>

namespace {

struct EngineDeleter {
    void operator()(AuralisEngine *e) const noexcept { auralis_engine_free(e); }
};
using Engine = std::unique_ptr<AuralisEngine, EngineDeleter>;

Engine make_engine(std::uint64_t seed) {
    AuralisConfig config = auralis_config_default();
    config.seed = seed;
    AuralisEngine *raw = nullptr;
    if (auralis_engine_new(&config, &raw) != AURALIS_STATUS_OK) return Engine{};
    return Engine{raw};
}

}  // namespace

int main() {
    if (std::string_view{auralis_version()} != AURALIS_VERSION) return 1;
    Engine engine = make_engine(11);
    if (!engine) return 1;
    AuralisParams params{67, AURALIS_MODE_MIXOLYDIAN, 58.0f, 0.4f};
    if (auralis_engine_set_params(engine.get(), &params) != AURALIS_STATUS_OK) return 1;
    std::vector<float> audio(2 * 44100);
    if (auralis_engine_render_f32(engine.get(), audio.data(), audio.size()) != AURALIS_STATUS_OK) return 1;
    double sum = 0;
    for (float x : audio) sum += static_cast<double>(x) * x;
    const double rms = std::sqrt(sum / audio.size());
    std::array<std::int16_t, AURALIS_CHUNK_MAX_SAMPLES> chunk{};
    AuralisChunkInfo info{};
    if (auralis_engine_next_chunk(engine.get(), chunk.data(), chunk.size(), &info) != AURALIS_STATUS_OK) return 1;
    AuralisStatus s = auralis_engine_render_f32(nullptr, audio.data(), 2);
    if (s != AURALIS_STATUS_NULL_POINTER) return 1;
    std::printf("api_test (C++17): one second at %.4f RMS, chunk %llu of %u frames; NULL gives \"%s\"\n", rms,
                static_cast<unsigned long long>(info.seq), info.frames, auralis_status_str(s));
    return rms > 0.001 ? 0 : 1;
}
