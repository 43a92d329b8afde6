#include "memory/allocator.h"

#include <malloc.h>

namespace leancut::memory {

namespace {
constexpr int kMmapThresholdBytes = 128 * 1024;
constexpr int kArenaMax = 2;
}  // namespace

void configure_allocator() {
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  mallopt(M_ARENA_MAX, kArenaMax);
}

void release_free_memory() {
  malloc_trim(0);
}

}  // namespace leancut::memory
