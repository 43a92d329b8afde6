// Resident-set size of this process, read from /proc/self/statm (cheap: one small read).
// The proc root is a parameter so tests can point it at a fake tree. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace leancut::memory {

// Current RSS in bytes, or nullopt where the file is absent or unreadable.
std::optional<int64_t> read_rss_bytes(const std::filesystem::path& proc_self = "/proc/self");

// Peak RSS in bytes (VmHWM from status), or nullopt.
std::optional<int64_t> read_peak_rss_bytes(const std::filesystem::path& proc_self = "/proc/self");

// "256M", "1G", "1.5G", "300000000" -> bytes (binary units: K=1024, M=1024^2, G=1024^3).
std::optional<int64_t> parse_size(const std::string& text);
// 268435456 -> "256.0 MiB".
std::string format_bytes(int64_t bytes);

}  // namespace leancut::memory
