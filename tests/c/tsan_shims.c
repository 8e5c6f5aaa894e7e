/* GCC's ThreadSanitizer runtime lacks the __tsan_mem* entry points that
 * rustc's (LLVM's) instrumentation calls; these forward to the libc
 * functions, which that runtime intercepts and checks. Linked only into
 * the ThreadSanitizer build of ring_test.c (see .ci/run). */
#include <string.h>

void *__tsan_memset(void *d, int c, size_t n);
void *__tsan_memcpy(void *d, const void *s, size_t n);
void *__tsan_memmove(void *d, const void *s, size_t n);

void *__tsan_memset(void *d, int c, size_t n) { return memset(d, c, n); }
void *__tsan_memcpy(void *d, const void *s, size_t n) { return memcpy(d, s, n); }
void *__tsan_memmove(void *d, const void *s, size_t n) { return memmove(d, s, n); }
