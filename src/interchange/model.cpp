#include "interchange/model.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace leancut::interchange {

TimeRange Clip::media_range() const {
  const Rational start = source_range.start;
  switch (effect.kind) {
    case TimeEffect::Kind::None:
      return source_range;
    case TimeEffect::Kind::LinearSpeed:
      return {start, start + duration() * effect.speed};
    case TimeEffect::Kind::Freeze:
      // The frozen picture is the one frame at the source start.
      return {start, start + Rational{1} / rate};
  }
  return source_range;
}

Rational item_duration(const Item& item) {
  if (const auto* clip = std::get_if<Clip>(&item)) return clip->duration();
  if (const auto* gap = std::get_if<Gap>(&item)) return gap->duration;
  return Rational{0};
}

const Origin& item_origin(const Item& item) {
  return std::visit([](const auto& i) -> const Origin& { return i.origin; }, item);
}

Rational Track::duration() const {
  Rational total{0};
  for (const Item& item : items) total += item_duration(item);
  return total;
}

Rational Timeline::duration() const {
  Rational longest{0};
  for (const auto* tracks : {&video, &audio}) {
    for (const Track& track : *tracks) longest = std::max(longest, track.duration());
  }
  return longest;
}

size_t Timeline::item_count() const {
  size_t n = 0;
  for (const auto* tracks : {&video, &audio}) {
    for (const Track& track : *tracks) n += track.items.size();
  }
  return n;
}

std::vector<const Clip*> Timeline::clips() const {
  std::vector<const Clip*> out;
  for (const auto* tracks : {&video, &audio}) {
    for (const Track& track : *tracks) {
      for (const Item& item : track.items) {
        if (const auto* clip = std::get_if<Clip>(&item)) out.push_back(clip);
      }
    }
  }
  return out;
}

std::vector<Clip*> Timeline::clips() {
  std::vector<Clip*> out;
  for (auto* tracks : {&video, &audio}) {
    for (Track& track : *tracks) {
      for (Item& item : track.items) {
        if (auto* clip = std::get_if<Clip>(&item)) out.push_back(clip);
      }
    }
  }
  return out;
}

ReadResult read_cut_file(const std::filesystem::path& file,
                         const std::function<ReadResult(std::string_view text,
                                                        const std::filesystem::path& dir)>& read) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ReadResult r;
    r.problems.push_back({"", "cannot read " + file.string()});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::error_code ec;  // (absolute() fails only without a current directory: keep it relative)
  const std::filesystem::path absolute = std::filesystem::absolute(file, ec);
  return read(ss.str(), (ec ? file : absolute).parent_path());
}

std::optional<Rational> standard_rate(Rational written) {
  if (written <= Rational{0}) return std::nullopt;
  if (written.den() == 1) return written;
  // n x 1000/1001 for the integer n nearest written x 1001/1000, compared in 128 bits: a rate
  // printed from a double (23.976023976023978) has a denominator near 1e15, and Rational's
  // products of such values would overflow 64 bits.
  __extension__ typedef __int128 I128;
  const I128 num = static_cast<I128>(written.num()) * 1001;
  const I128 den = static_cast<I128>(written.den()) * 1000;
  const I128 n = (2 * num + den) / (2 * den);  // round half up; both positive
  if (n > 0 && n <= 1'000'000'000) {
    // |written - n x 1000/1001| < 1/200  <=>  |num - n x den| x 200 < den (scaled by 1001/1000).
    I128 diff = num - n * den;
    if (diff < 0) diff = -diff;
    if (diff * 200 < den) return Rational{static_cast<int64_t>(n) * 1000, 1001};
  }
  return written;
}

namespace {

std::string seconds_and_frames(Rational seconds, Rational rate) {
  const Rational frames = seconds * rate;
  std::string f = frames.den() == 1 ? std::to_string(frames.num()) : frames.to_string();
  return seconds.to_seconds_string() + " (" + f + " frames)";
}

std::string clip_label(const Clip& clip) {
  std::string label = clip.origin;
  if (!clip.name.empty()) label += " \"" + clip.name + "\"";
  return label;
}

// A clip's handle needs: media before its in point (for the transition before it) and after its
// out point (for the one after), in media time.
void check_handles(const Clip& clip, const Clip* before, const Transition* t_before,
                   const Clip* after, const Transition* t_after, std::vector<Problem>& problems) {
  if (!clip.available_range || clip.effect.kind == TimeEffect::Kind::Freeze) return;
  const TimeRange media = clip.media_range();
  const Rational speed =
      clip.effect.kind == TimeEffect::Kind::LinearSpeed ? clip.effect.speed : Rational{1};
  const TimeRange& avail = *clip.available_range;
  Rational need_start = media.start;
  Rational need_end = media.end;
  if (t_before) need_start = need_start - t_before->in_offset * speed;
  if (t_after) need_end = need_end + t_after->out_offset * speed;
  if (need_start < avail.start) {
    std::string msg = "needs media from " + seconds_and_frames(need_start, clip.rate) +
                      " but its media starts at " + seconds_and_frames(avail.start, clip.rate);
    if (t_before && before) {
      msg += " (the transition " + t_before->origin + " from " + clip_label(*before) + " uses " +
             seconds_and_frames(t_before->in_offset, clip.rate) + " before this clip's in point)";
    }
    problems.push_back({clip.origin, msg});
  }
  if (need_end > avail.end) {
    std::string msg = "needs media up to " + seconds_and_frames(need_end, clip.rate) +
                      " but its media ends at " + seconds_and_frames(avail.end, clip.rate);
    if (t_after && after) {
      msg += " (the transition " + t_after->origin + " to " + clip_label(*after) + " uses " +
             seconds_and_frames(t_after->out_offset, clip.rate) + " past this clip's out point)";
    }
    problems.push_back({clip.origin, msg});
  }
}

void check_track(const Track& track, std::vector<Problem>& problems) {
  const auto& items = track.items;
  for (size_t i = 0; i < items.size(); ++i) {
    if (const auto* t = std::get_if<Transition>(&items[i])) {
      if (t->in_offset < Rational{0} || t->out_offset < Rational{0}) {
        problems.push_back({t->origin, "in_offset and out_offset must not be negative"});
      }
      if (i == 0 || i + 1 == items.size()) {
        problems.push_back({t->origin, std::string("a transition needs an item on both sides; "
                                                   "this one is at the ") +
                                           (i == 0 ? "start" : "end") + " of its track"});
        continue;
      }
      if (std::holds_alternative<Transition>(items[i + 1])) {
        problems.push_back({t->origin, "two transitions in a row (" + item_origin(items[i + 1]) +
                                           "); put an item between them"});
        continue;
      }
      if (t->in_offset > item_duration(items[i - 1])) {
        problems.push_back({t->origin, "in_offset " + t->in_offset.to_seconds_string() +
                                           " is longer than the item before it (" +
                                           item_origin(items[i - 1]) + ", " +
                                           item_duration(items[i - 1]).to_seconds_string() + ")"});
      }
      if (t->out_offset > item_duration(items[i + 1])) {
        problems.push_back({t->origin, "out_offset " + t->out_offset.to_seconds_string() +
                                           " is longer than the item after it (" +
                                           item_origin(items[i + 1]) + ", " +
                                           item_duration(items[i + 1]).to_seconds_string() + ")"});
      }
      continue;
    }
    const auto* clip = std::get_if<Clip>(&items[i]);
    if (!clip) continue;
    const Transition* t_before = i >= 1 ? std::get_if<Transition>(&items[i - 1]) : nullptr;
    const Transition* t_after =
        i + 1 < items.size() ? std::get_if<Transition>(&items[i + 1]) : nullptr;
    const Clip* before = t_before && i >= 2 ? std::get_if<Clip>(&items[i - 2]) : nullptr;
    const Clip* after =
        t_after && i + 2 < items.size() ? std::get_if<Clip>(&items[i + 2]) : nullptr;
    check_handles(*clip, before, t_before, after, t_after, problems);
  }
}

// A rational in 128 bits, for checking that 64-bit sums cannot overflow.
__extension__ typedef __int128 I128;
constexpr I128 kLimit = static_cast<I128>(1) << 60;

struct Wide {
  I128 num = 0;
  I128 den = 1;
};

I128 gcd128(I128 a, I128 b) {
  if (a < 0) a = -a;
  while (b != 0) {
    I128 t = a % b;
    a = b;
    b = t;
  }
  return a == 0 ? 1 : a;
}

bool fits(const Wide& w) {
  return w.num < kLimit && w.num > -kLimit && w.den < kLimit;
}

// a + b x m, reduced; false when an operand or the result does not fit.
bool add_scaled(Wide& acc, Rational b, Rational m = Rational{1}) {
  const Wide x{static_cast<I128>(b.num()) * m.num(), static_cast<I128>(b.den()) * m.den()};
  if (!fits(x) || !fits(acc)) return false;
  const I128 g = gcd128(acc.den, x.den);
  const I128 den = acc.den / g * x.den;
  if (den >= kLimit) return false;
  const I128 num = acc.num * (x.den / g) + x.num * (acc.den / g);
  const I128 r = gcd128(num, den);
  acc = {num / r, den / r};
  return fits(acc);
}

bool exact_track(const Track& track, Rational rate, Origin& where) {
  Wide total;
  for (size_t i = 0; i < track.items.size(); ++i) {
    const Item& item = track.items[i];
    where = item_origin(item);
    if (const auto* t = std::get_if<Transition>(&item)) {
      Wide w;
      if (!add_scaled(w, t->in_offset) || !add_scaled(w, t->out_offset)) return false;
      continue;
    }
    if (!add_scaled(total, item_duration(item))) return false;
    // The track's length in frames (summaries multiply it by the rate).
    const I128 fnum = total.num * rate.num();
    const I128 fden = total.den * rate.den();
    const I128 g = gcd128(fnum, fden);
    if (!fits(Wide{fnum / g, fden / g})) return false;
    const auto* clip = std::get_if<Clip>(&item);
    if (!clip) continue;
    const Rational speed =
        clip->effect.kind == TimeEffect::Kind::LinearSpeed ? clip->effect.speed : Rational{1};
    Wide end{clip->source_range.start.num(), clip->source_range.start.den()};
    if (!add_scaled(end, clip->duration(), speed)) return false;
    // Handles: the neighbouring transitions' offsets, scaled by the speed.
    for (const Item* n : {i > 0 ? &track.items[i - 1] : nullptr,
                          i + 1 < track.items.size() ? &track.items[i + 1] : nullptr}) {
      const auto* t = n ? std::get_if<Transition>(n) : nullptr;
      if (!t) continue;
      Wide lo{clip->source_range.start.num(), clip->source_range.start.den()};
      Wide hi = end;
      if (!add_scaled(lo, -t->in_offset, speed) || !add_scaled(hi, t->out_offset, speed)) {
        return false;
      }
    }
    if (clip->available_range) {
      Wide a{clip->available_range->start.num(), clip->available_range->start.den()};
      if (!add_scaled(a, clip->available_range->duration())) return false;
    }
  }
  return true;
}

}  // namespace

std::optional<Rational> checked_duration(const Track& track) {
  Wide total;
  for (const Item& item : track.items) {
    if (!add_scaled(total, item_duration(item))) return std::nullopt;
  }
  return Rational{static_cast<int64_t>(total.num), static_cast<int64_t>(total.den)};
}

bool check_exact_sums(const Timeline& timeline, std::vector<Problem>& problems) {
  bool ok = true;
  for (const auto* tracks : {&timeline.video, &timeline.audio}) {
    for (const Track& track : *tracks) {
      Origin where = track.origin;
      if (!exact_track(track, timeline.rate, where)) {
        problems.push_back({where,
                            "its times cannot be summed exactly with the rest of its track "
                            "(too many different or unusual rates, or values too large)"});
        ok = false;
      }
    }
  }
  return ok;
}

void check_structure(const Timeline& timeline, std::vector<Problem>& problems) {
  for (const auto* tracks : {&timeline.video, &timeline.audio}) {
    for (const Track& track : *tracks) check_track(track, problems);
  }
}

}  // namespace leancut::interchange
