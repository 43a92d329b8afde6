#include "fetch/sha256.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace leancut::fetch {

void Sha256::CtxDeleter::operator()(void* ctx) const {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx));
}

Result<Sha256> Sha256::make() {
  std::unique_ptr<void, CtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx.get()), EVP_sha256(), nullptr) != 1) {
    return make_error(ErrorCode::Internal, "EVP_DigestInit_ex(sha256) failed");
  }
  return Sha256(std::move(ctx));
}

void Sha256::update(std::span<const char> bytes) {
  LEANCUT_CHECK(
      EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_.get()), bytes.data(), bytes.size()) == 1);
}

void Sha256::reset() {
  LEANCUT_CHECK(EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), EVP_sha256(), nullptr) ==
                1);
}

std::string Sha256::hex_digest() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  LEANCUT_CHECK(EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), md.data(), &n) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  reset();
  return out;
}

Status hash_file(const std::filesystem::path& file, Sha256& h, int64_t bytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) return make_error(ErrorCode::Io, file.string() + ": cannot read");
  std::array<char, 64 * 1024> buf{};
  int64_t left = bytes;
  while (bytes < 0 || left > 0) {
    const size_t want =
        bytes < 0 ? buf.size() : static_cast<size_t>(std::min<int64_t>(left, buf.size()));
    const size_t got = std::fread(buf.data(), 1, want, f.get());
    if (got == 0) break;
    h.update({buf.data(), got});
    left -= static_cast<int64_t>(got);
  }
  if (std::ferror(f.get())) return make_error(ErrorCode::Io, file.string() + ": read failed");
  if (bytes >= 0 && left > 0)
    return make_error(ErrorCode::Io, file.string() + ": shorter than expected");
  return ok_status();
}

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

}  // namespace leancut::fetch
