// Sha256: a streaming SHA-256 (OpenSSL's libcrypto), fed chunk by chunk as a download is written,
// so a checksum costs no second pass over the file.
//
//   LEANCUT_ASSIGN_OR_RETURN(Sha256 h, Sha256::make());
//   h.update(bytes);
//   std::string hex = h.hex_digest();  // 64 lowercase hex digits; the hasher starts over
//
// Move-only; thread-compatible. Holds ~200 bytes of OpenSSL state.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace leancut::fetch {

class Sha256 {
 public:
  static Result<Sha256> make();
  void update(std::span<const char> bytes);
  // The digest of everything fed since make() or the last reset(); then starts over.
  std::string hex_digest();
  void reset();

 private:
  struct CtxDeleter {
    void operator()(void* ctx) const;
  };
  explicit Sha256(std::unique_ptr<void, CtxDeleter> ctx) : ctx_(std::move(ctx)) {}
  std::unique_ptr<void, CtxDeleter> ctx_;  // an EVP_MD_CTX (kept out of this header)
};

// Feeds the first `bytes` bytes of a file (all of it when negative) through `h`, 64 KiB at a time.
Status hash_file(const std::filesystem::path& file, Sha256& h, int64_t bytes = -1);

// True for 64 hex digits (either case).
bool is_sha256_hex(std::string_view text);

}  // namespace leancut::fetch
