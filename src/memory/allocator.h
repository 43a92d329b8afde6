// Process-wide allocator settings, applied once at start by main (and by each job's child later).
//
// leancut uses glibc malloc, tuned rather than replaced:
//  - M_MMAP_THRESHOLD fixed at 128 KiB. Frame and packet buffers (hundreds of KiB to MiB) then come
//    from mmap and go back to the kernel the moment they are freed, so RSS follows live frames.
//    Without it glibc raises the threshold dynamically after the first large free (up to 32 MiB)
//    and keeps freed frame-sized blocks in its heaps, where RSS only grows.
//  - M_ARENA_MAX 2. Each thread that mallocs would otherwise get its own arena (up to 8 per core),
//    each keeping its own free memory; codec worker threads come and go with every source.
// Measured on the 40-shot demo cut (640x360 output): peak RSS 205 MB with glibc's defaults, 162 MB
// with these two (docs/benchmarks.md).
// jemalloc (Debian libjemalloc2 5.3, LD_PRELOAD) was measured against it on the 100-shot 720p
// benchmark timeline, two runs each: defaults 235-239 MB peak RSS; background_thread, 1 s dirty
// decay, no muzzy, 2 arenas 217-218 MB; tuned glibc 215-218 MB, CPU time alike within the noise.
// No gain for a new dependency, so glibc stays.
#pragma once

namespace leancut::memory {

// Idempotent; call before any thread starts.
void configure_allocator();

// Returns free heap memory to the kernel (malloc_trim). Cheap enough between shots, not per frame.
void release_free_memory();

}  // namespace leancut::memory
